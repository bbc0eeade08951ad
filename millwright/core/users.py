"""Users with roles, for the dashboard's sign-in and the API's tokens.

Passwords are stored as scrypt hashes; API tokens are random, shown once, and stored only as
their SHA-256 so a database leak does not leak working tokens. Dashboard sessions are kept
here too (the cookie holds a random id whose SHA-256 is a row of ``user_sessions``), so
sign-out, a password change, disabling a user or an admin's revoke end them at once.

Sign-in resists guessing: every attempt costs one scrypt, whether the user exists or not
(an unknown name is checked against a dummy hash), and failures are counted per account name
and per client address; past the threshold each further attempt must wait an exponentially
growing delay (:class:`ThrottlePolicy`), and the lockout is recorded until it lapses or an
admin lifts it (:meth:`UserStore.unlock`).

Errors::

    UserError (ValueError)     a request about users that cannot be done, in one sentence
    └── UnknownUser            no user (or token) with that name or id
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from millwright.core.storage.database import Database

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
MIN_PASSWORD = 8
_KEY_CHARS = 128  # throttle keys: enough for any real name or address, bounded for junk
Clock = Callable[[], datetime]


class UserError(ValueError):
    """A request about users that cannot be done; the message is one sentence."""


class UnknownUser(UserError, LookupError):
    """No user (or token) with that name or id."""


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


@dataclass(frozen=True)
class UserInfo:
    """One row of `millwright users list`."""

    id: int
    username: str
    roles: tuple[str, ...]
    disabled: bool
    created_at: datetime
    sessions: int
    tokens: int
    locked_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class ThrottlePolicy:
    """After ``max_failures`` failed sign-ins within ``window_s`` (per account name, or
    ``address_max_failures`` per client address), attempt number ``max_failures + k`` must
    wait ``base_delay_s * 2**k`` seconds after the last failure, at most ``max_delay_s``."""

    max_failures: int = 5
    address_max_failures: int = 20
    window_s: float = 900.0
    base_delay_s: float = 1.0
    max_delay_s: float = 900.0

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.address_max_failures < 1:
            raise ValueError("the sign-in failure thresholds must be at least 1.")
        if not 0 < self.base_delay_s <= self.max_delay_s:
            raise ValueError("the sign-in base delay must be positive and at most the maximum.")
        if self.window_s <= 0:
            raise ValueError("the sign-in failure window must be positive.")

    def wait_s(self, failures: int, threshold: int, since_last_failure_s: float) -> float:
        """Seconds still to wait before the next attempt (0 when it may go ahead)."""
        if failures < threshold or since_last_failure_s >= self.window_s:
            return 0.0
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(failures - threshold, 60))
        return max(0.0, delay - since_last_failure_s)


@dataclass(frozen=True)
class SessionPolicy:
    """A session ends after ``idle_s`` without a request, or ``absolute_s`` after sign-in."""

    idle_s: float = 8 * 3600.0
    absolute_s: float = 7 * 24 * 3600.0

    def __post_init__(self) -> None:
        if not 0 < self.idle_s <= self.absolute_s:
            raise ValueError("the session idle timeout must be positive and at most the absolute.")


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in attempt: a user, or a refusal (throttled when
    ``retry_after_s`` > 0). The reason is deliberately not told apart for the visitor."""

    user: User | None
    retry_after_s: float = 0.0


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return f"scrypt${salt.hex()}${digest.hex()}"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user is unknown, so both answers cost the same scrypt."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; a malformed hash still costs one scrypt."""
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
        if scheme != "scrypt":
            raise ValueError(scheme)
    except ValueError:
        _, salt_hex, digest_hex = _dummy_hash().split("$")
        hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)  # type: ignore[arg-type]
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)  # type: ignore[arg-type]
    return hmac.compare_digest(digest.hex(), digest_hex)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters.")


def _user(row: Any) -> User:
    return User(int(row[0]), row[1], frozenset(Role(r) for r in row[2]))


def _authenticate(conn: Any, username: str, password: str) -> User | None:
    row = conn.execute(
        "SELECT id, password_hash, roles FROM users WHERE username = %s AND NOT disabled",
        (username,),
    ).fetchone()
    if row is None:
        verify_password(password, _dummy_hash())
        return None
    if not verify_password(password, row[1]):
        return None
    return User(int(row[0]), username, frozenset(Role(r) for r in row[2]))


def _now() -> datetime:
    return datetime.now(UTC)


class UserStore:
    """Users, their roles, API tokens, dashboard sessions and sign-in throttling."""

    def __init__(self, database: Database, *, clock: Clock = _now) -> None:
        self._database = database
        self._clock = clock

    # --- users --------------------------------------------------------------------------

    def add(self, username: str, password: str, *, roles: list[str]) -> User:
        """Add a user, or update an existing one's password and roles (ending its sessions)."""
        if not username or len(username) > 64:
            raise UserError("a username needs 1 to 64 characters.")
        _check_password(password)
        try:
            parsed = sorted({Role(r) for r in roles})
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise UserError(f"roles must be among {known}; got {', '.join(roles)}.") from None
        with self._database.connection() as conn:
            row = conn.execute(
                "INSERT INTO users (username, password_hash, roles) VALUES (%s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
                " roles = EXCLUDED.roles, password_changed_at = now() RETURNING id",
                (username, hash_password(password), [r.value for r in parsed]),
            ).fetchone()
            assert row is not None
            conn.execute(
                "UPDATE user_sessions SET revoked_at = now() WHERE user_id = %s"
                " AND revoked_at IS NULL",
                (row[0],),
            )
        return User(int(row[0]), username, frozenset(parsed))

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is right; one scrypt whatever the answer."""
        with self._database.connection() as conn:
            return _authenticate(conn, username, password)

    def get(self, user_id: int) -> User | None:
        rows = self._database.execute(
            "SELECT id, username, roles FROM users WHERE id = %s AND NOT disabled", (user_id,)
        )
        return _user(rows[0]) if rows else None

    def list_users(self) -> list[UserInfo]:
        rows = self._database.execute(
            "SELECT u.id, u.username, u.roles, u.disabled, u.created_at,"
            " (SELECT count(*) FROM user_sessions s WHERE s.user_id = u.id"
            "   AND s.revoked_at IS NULL),"
            " (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id"
            "   AND t.revoked_at IS NULL),"
            " (SELECT locked_at FROM login_throttle l WHERE l.scope = 'account'"
            "   AND l.key = u.username)"
            " FROM users u ORDER BY u.username"
        )
        return [
            UserInfo(int(r[0]), r[1], tuple(r[2]), bool(r[3]), r[4], int(r[5]), int(r[6]), r[7])
            for r in rows
        ]

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (ending every session) or enable a user."""
        with self._database.connection() as conn:
            row = conn.execute(
                "UPDATE users SET disabled = %s WHERE username = %s RETURNING id",
                (disabled, username),
            ).fetchone()
            if row is None:
                raise UnknownUser(f"there is no user named {username!r}.")
            if disabled:
                conn.execute(
                    "UPDATE user_sessions SET revoked_at = now() WHERE user_id = %s"
                    " AND revoked_at IS NULL",
                    (row[0],),
                )

    def set_password(self, username: str, password: str) -> int:
        """Change a user's password and end their sessions; returns how many ended."""
        _check_password(password)
        with self._database.connection() as conn:
            row = conn.execute(
                "UPDATE users SET password_hash = %s, password_changed_at = now()"
                " WHERE username = %s RETURNING id",
                (hash_password(password), username),
            ).fetchone()
            if row is None:
                raise UnknownUser(f"there is no user named {username!r}.")
            ended = conn.execute(
                "UPDATE user_sessions SET revoked_at = now() WHERE user_id = %s"
                " AND revoked_at IS NULL",
                (row[0],),
            ).rowcount
        return int(ended)

    def _user_id(self, username: str) -> int:
        rows = self._database.execute("SELECT id FROM users WHERE username = %s", (username,))
        if not rows:
            raise UnknownUser(f"there is no user named {username!r}.")
        return int(rows[0][0])

    # --- API tokens -----------------------------------------------------------------------

    def create_token(self, username: str, name: str = "api") -> str:
        token = "mw_" + secrets.token_urlsafe(32)
        rows = self._database.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash)"
            " SELECT id, %s, %s FROM users WHERE username = %s RETURNING id",
            (name, _token_hash(token), username),
        )
        if not rows:
            raise UnknownUser(f"there is no user named {username!r}.")
        return token

    def user_for_token(self, token: str) -> User | None:
        rows = self._database.execute(
            "UPDATE api_tokens t SET last_used_at = now() FROM users u"
            " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.id = t.user_id"
            " AND NOT u.disabled RETURNING u.id, u.username, u.roles",
            (_token_hash(token),),
        )
        return _user(rows[0]) if rows else None

    def revoke_token(self, token: str) -> bool:
        rows = self._database.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s"
            " AND revoked_at IS NULL RETURNING id",
            (_token_hash(token),),
        )
        return bool(rows)

    def revoke_token_id(self, token_id: int) -> bool:
        """Revoke a token by its id (from :meth:`tokens`); False when it already was."""
        rows = self._database.execute(
            "SELECT revoked_at IS NOT NULL FROM api_tokens WHERE id = %s", (token_id,)
        )
        if not rows:
            raise UnknownUser(f"there is no API token with id {token_id}.")
        if rows[0][0]:
            return False
        self._database.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
            (token_id,),
        )
        return True

    def tokens(self, username: str | None = None) -> list[TokenInfo]:
        if username is not None:
            self._user_id(username)
        rows = self._database.execute(
            "SELECT t.id, u.username, t.name, t.created_at, t.last_used_at, t.revoked_at"
            " FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE (%s::text IS NULL OR u.username = %s) ORDER BY t.id",
            (username, username),
        )
        return [TokenInfo(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

    # --- dashboard sessions ---------------------------------------------------------------

    def create_session(self, user: User, *, address: str | None = None) -> str:
        """A new session for ``user``; the returned id goes in the cookie, its hash here."""
        token = secrets.token_urlsafe(32)
        self._database.execute(
            "INSERT INTO user_sessions (user_id, token_hash, address) VALUES (%s, %s, %s)",
            (user.id, _token_hash(token), address),
        )
        return token

    def session_user(self, token: str, policy: SessionPolicy) -> User | None:
        """The user of a live session (not revoked, idle or expired), and mark it seen."""
        if not token or len(token) > 256:
            return None
        touch_s = min(30.0, policy.idle_s / 10)
        rows = self._database.execute(
            "SELECT u.id, u.username, u.roles, s.id,"
            " s.last_seen_at < now() - make_interval(secs => %s)"
            " FROM user_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = %s AND s.revoked_at IS NULL AND NOT u.disabled"
            " AND s.last_seen_at > now() - make_interval(secs => %s)"
            " AND s.created_at > now() - make_interval(secs => %s)",
            (touch_s, _token_hash(token), policy.idle_s, policy.absolute_s),
        )
        if not rows:
            return None
        if rows[0][4]:
            self._database.execute(
                "UPDATE user_sessions SET last_seen_at = now() WHERE id = %s", (rows[0][3],)
            )
        return _user(rows[0])

    def end_session(self, token: str) -> None:
        self._database.execute(
            "UPDATE user_sessions SET revoked_at = now() WHERE token_hash = %s"
            " AND revoked_at IS NULL",
            (_token_hash(token),),
        )

    def revoke_sessions(self, username: str) -> int:
        """End every session of a user (an admin's revoke); returns how many ended."""
        user_id = self._user_id(username)
        with self._database.connection() as conn:
            ended = conn.execute(
                "UPDATE user_sessions SET revoked_at = now() WHERE user_id = %s"
                " AND revoked_at IS NULL",
                (user_id,),
            ).rowcount
        return int(ended)

    # --- sign-in with throttling ----------------------------------------------------------

    def sign_in(
        self, username: str, password: str, *, address: str | None, policy: ThrottlePolicy
    ) -> SignIn:
        """One sign-in attempt, throttled per account name and per client address.

        Attempts on one account name are serialised by a row lock, so a burst of parallel
        guesses is counted exactly as if they came one after another.
        """
        account = username[:_KEY_CHARS]
        addr = (address or "unknown")[:_KEY_CHARS]
        now = self._clock()
        with self._database.connection() as conn:
            conn.execute(
                "INSERT INTO login_throttle (scope, key, failures, first_failure_at,"
                " last_failure_at) VALUES ('account', %s, 0, %s, %s) ON CONFLICT DO NOTHING",
                (account, now, now),
            )
            locked = conn.execute(
                "SELECT failures, last_failure_at FROM login_throttle"
                " WHERE scope = 'account' AND key = %s FOR UPDATE",
                (account,),
            ).fetchone()
            by_address = conn.execute(
                "SELECT failures, last_failure_at FROM login_throttle"
                " WHERE scope = 'address' AND key = %s",
                (addr,),
            ).fetchone()
            waits = [
                policy.wait_s(row[0], threshold, (now - row[1]).total_seconds())
                for row, threshold in (
                    (locked, policy.max_failures),
                    (by_address, policy.address_max_failures),
                )
                if row is not None
            ]
            wait = max(waits, default=0.0)
            if wait > 0:
                return SignIn(None, wait)
            user = _authenticate(conn, username, password)
            if user is not None:
                conn.execute(
                    "DELETE FROM login_throttle WHERE scope = 'account' AND key = %s", (account,)
                )
                return SignIn(user)
            for scope, key, threshold in (
                ("account", account, policy.max_failures),
                ("address", addr, policy.address_max_failures),
            ):
                conn.execute(_RECORD_FAILURE, _failure_params(scope, key, threshold, now, policy))
        return SignIn(None)

    def unlock(self, username: str) -> bool:
        """Lift a recorded lockout (and forget the failures) of an account; an admin's act."""
        rows = self._database.execute(
            "DELETE FROM login_throttle WHERE scope = 'account' AND key = %s"
            " RETURNING locked_at IS NOT NULL",
            (username[:_KEY_CHARS],),
        )
        return bool(rows and rows[0][0])

    def unlock_address(self, address: str) -> bool:
        rows = self._database.execute(
            "DELETE FROM login_throttle WHERE scope = 'address' AND key = %s RETURNING 1",
            (address[:_KEY_CHARS],),
        )
        return bool(rows)


# Failures older than the window start the count again; reaching the threshold records the
# lockout (kept while failures keep coming, cleared by a success or an admin).
_RECORD_FAILURE = """
INSERT INTO login_throttle AS t (scope, key, failures, first_failure_at, last_failure_at,
                                 locked_at)
VALUES (%(scope)s, %(key)s, 1, %(now)s, %(now)s,
        CASE WHEN %(threshold)s <= 1 THEN %(now)s::timestamptz END)
ON CONFLICT (scope, key) DO UPDATE SET
    failures = CASE WHEN t.last_failure_at < %(stale)s OR t.failures = 0 THEN 1
                    ELSE t.failures + 1 END,
    first_failure_at = CASE WHEN t.last_failure_at < %(stale)s OR t.failures = 0
                            THEN %(now)s ELSE t.first_failure_at END,
    last_failure_at = %(now)s,
    locked_at = CASE
        WHEN t.last_failure_at < %(stale)s OR t.failures = 0
            THEN CASE WHEN %(threshold)s <= 1 THEN %(now)s::timestamptz END
        WHEN t.failures + 1 >= %(threshold)s THEN coalesce(t.locked_at, %(now)s)
        ELSE t.locked_at END
"""


def _failure_params(
    scope: str, key: str, threshold: int, now: datetime, policy: ThrottlePolicy
) -> dict[str, Any]:
    return {
        "scope": scope,
        "key": key,
        "threshold": threshold,
        "now": now,
        "stale": now - timedelta(seconds=policy.window_s),
    }
