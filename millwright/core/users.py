"""Users with roles, for the dashboard's sign-in and the API's tokens.

Passwords are stored as scrypt hashes; API tokens are random, shown once, and stored only as
their SHA-256 so a database leak does not leak working tokens.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from millwright.core.storage.database import Database

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class Role(enum.StrEnum):
    VIEWER = "viewer"
    PLANNER = "planner"
    MAINTENANCE = "maintenance"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    roles: frozenset[Role]

    def has_any(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)  # type: ignore[arg-type]
    return hmac.compare_digest(digest.hex(), digest_hex)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class UserStore:
    """Users, their roles and API tokens in the database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def add(self, username: str, password: str, *, roles: list[str]) -> User:
        if not username or len(username) > 64:
            raise ValueError("a username needs 1 to 64 characters.")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters.")
        parsed = sorted({Role(r) for r in roles})
        rows = self._database.execute(
            "INSERT INTO users (username, password_hash, roles) VALUES (%s, %s, %s)"
            " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
            " roles = EXCLUDED.roles RETURNING id",
            (username, hash_password(password), [r.value for r in parsed]),
        )
        return User(int(rows[0][0]), username, frozenset(parsed))

    def authenticate(self, username: str, password: str) -> User | None:
        rows = self._database.execute(
            "SELECT id, password_hash, roles FROM users WHERE username = %s AND NOT disabled",
            (username,),
        )
        if not rows or not verify_password(password, rows[0][1]):
            return None
        return User(int(rows[0][0]), username, frozenset(Role(r) for r in rows[0][2]))

    def get(self, user_id: int) -> User | None:
        rows = self._database.execute(
            "SELECT id, username, roles FROM users WHERE id = %s AND NOT disabled", (user_id,)
        )
        if not rows:
            return None
        return User(int(rows[0][0]), rows[0][1], frozenset(Role(r) for r in rows[0][2]))

    def create_token(self, username: str, name: str = "api") -> str:
        token = "mw_" + secrets.token_urlsafe(32)
        rows = self._database.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash)"
            " SELECT id, %s, %s FROM users WHERE username = %s RETURNING id",
            (name, _token_hash(token), username),
        )
        if not rows:
            raise ValueError(f"no user named {username!r}.")
        return token

    def user_for_token(self, token: str) -> User | None:
        rows = self._database.execute(
            "UPDATE api_tokens t SET last_used_at = now() FROM users u"
            " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.id = t.user_id"
            " AND NOT u.disabled RETURNING u.id, u.username, u.roles",
            (_token_hash(token),),
        )
        if not rows:
            return None
        return User(int(rows[0][0]), rows[0][1], frozenset(Role(r) for r in rows[0][2]))

    def revoke_token(self, token: str) -> bool:
        rows = self._database.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s"
            " AND revoked_at IS NULL RETURNING id",
            (_token_hash(token),),
        )
        return bool(rows)
