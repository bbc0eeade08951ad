"""Bearer-token authentication and role checks, as FastAPI dependencies.

Tokens are the API tokens of `millwright.core.users` (`millwright users token NAME`), sent as
``Authorization: Bearer <token>``. No token, an unknown or revoked token, or a disabled user:
401. A valid token whose user lacks the role: 403. `admin` passes every role check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from millwright.core.users import Role, User, UserStore

_bearer = HTTPBearer(auto_error=False, description="An API token from `millwright users token`.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_user(store: UserStore, authorization: str | None) -> User | None:
    """The user behind an ``Authorization`` header value, None when it does not authenticate."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return store.user_for_token(token)


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)", _CHALLENGE)
    user = token_user(request.app.state.users, f"Bearer {credentials.credentials}")
    if user is None:
        raise HTTPException(401, "the token is invalid, revoked or its user disabled", _CHALLENGE)
    return user


def require(*roles: Role) -> Callable[[User], User]:
    """A dependency that admits users holding one of `roles` (or admin)."""
    names = " or ".join(r.value for r in roles)

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.has_any(*roles):
            raise HTTPException(403, f"this needs the {names} role; {user.username} lacks it")
        return user

    return check


Reader = Annotated[User, Depends(current_user)]
Planner = Annotated[User, Depends(require(Role.PLANNER))]
ShopFloor = Annotated[User, Depends(require(Role.PLANNER, Role.MAINTENANCE))]
