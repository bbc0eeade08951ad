"""Sign-in, sessions and role checks on the dashboard's Flask server.

Everything here is installed on one Flask app by :func:`install_auth` (no module state), so
several dashboards can live in one process and the API can mount this one beside itself.

Who may do what is decided on the server: a guard in front of every request lets a signed-out
visitor reach only the sign-in page (Dash's layout and callback endpoints answer 401), and
callbacks that change something call :func:`require_roles` before acting. Hidden or disabled
buttons are a courtesy, never the check.

When sign-in is not required (the dashboard only reachable from this machine), visitors act as
the built-in ``local`` user with every role, which is what `millwright demo` needs.
"""

from __future__ import annotations

import html
import logging
import math
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import flask
import flask_login

from dashboard.errors import AccessDenied
from millwright.core.users import Role, SessionPolicy, ThrottlePolicy, User, UserStore

log = logging.getLogger(__name__)

LOCAL_USER = User(id=0, username="local", roles=frozenset({Role.ADMIN}))
_STATE_KEY = "millwright_dashboard_auth"
_CSRF_KEY = "_csrf"


GENERIC_REFUSAL = "Unknown user or wrong password."


class SessionUser(flask_login.UserMixin):  # type: ignore[misc]
    """What flask-login keeps per request: our `User`, behind a server-side session id.

    The cookie holds only the random session id (flask-login's ``_user_id``); the database
    decides on every request whether that session still lives, so a cookie replayed after
    sign-out, a password change, disabling or an admin's revoke gets the sign-in page.
    """

    def __init__(self, user: User, session_id: str) -> None:
        self.user = user
        self.session_id = session_id

    def get_id(self) -> str:
        return self.session_id


@dataclass(frozen=True)
class AuthState:
    required: bool
    base_path: str
    store: UserStore
    sessions: SessionPolicy
    throttle: ThrottlePolicy

    @property
    def login_path(self) -> str:
        return self.base_path + "login"

    @property
    def logout_path(self) -> str:
        return self.base_path + "logout"


def install_auth(
    server: flask.Flask,
    store: UserStore,
    *,
    required: bool,
    base_path: str,
    secure: bool,
    sessions: SessionPolicy | None = None,
    throttle: ThrottlePolicy | None = None,
) -> AuthState:
    """Add sign-in/sign-out routes, the session user loader and the request guard."""
    state = AuthState(
        required=required,
        base_path=base_path,
        store=store,
        sessions=sessions or SessionPolicy(),
        throttle=throttle or ThrottlePolicy(),
    )
    server.extensions[_STATE_KEY] = state
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="millwright_dashboard",
    )
    manager = flask_login.LoginManager()
    manager.init_app(server)
    manager.session_protection = "strong"

    @manager.user_loader  # type: ignore[untyped-decorator]
    def _load(session_id: str) -> SessionUser | None:
        user = store.session_user(session_id, state.sessions)
        return SessionUser(user, session_id) if user is not None else None

    server.add_url_rule(state.login_path, "login", _login, methods=["GET", "POST"])
    server.add_url_rule(state.logout_path, "logout", _logout, methods=["POST"])
    server.before_request(_guard)
    return state


def _state() -> AuthState:
    state = flask.current_app.extensions[_STATE_KEY]
    assert isinstance(state, AuthState)
    return state


def request_user() -> User | None:
    """The user behind the current request: signed in, else ``local`` when sign-in is off."""
    current = flask_login.current_user
    if current is not None and current.is_authenticated:
        return current.user  # type: ignore[no-any-return]
    return None if _state().required else LOCAL_USER


def require_roles(user: User | None, *roles: Role, action: str) -> User:
    """The user, when they hold one of ``roles`` (admin holds all); else `AccessDenied`."""
    if user is None:
        raise AccessDenied(f"sign in to {action}.")
    if not user.has_any(*roles):
        needed = " or ".join(r.value for r in roles)
        raise AccessDenied(f"{user.username} may not {action}: it needs the {needed} role.")
    return user


def _public_path(path: str, state: AuthState) -> bool:
    if path in (state.login_path, state.logout_path):
        return True
    # The stylesheet and favicon carry no plant data; the sign-in page needs them.
    return path.startswith(state.base_path + "assets/") or path == "/favicon.ico"


def _guard() -> Any:
    state = _state()
    if not state.required or flask_login.current_user.is_authenticated:
        return None
    path = flask.request.path
    if _public_path(path, state):
        return None
    if path.startswith(state.base_path + "_") or flask.request.method != "GET":
        return flask.Response("sign-in required", status=401, mimetype="text/plain")
    return flask.redirect(f"{state.login_path}?next={_quote_next(flask.request.full_path)}")


def _quote_next(path: str) -> str:
    return quote(path.rstrip("?"), safe="/")


def _safe_next(target: str | None, state: AuthState) -> str:
    """Only same-site paths under the dashboard, so the form is not an open redirect."""
    if not target:
        return state.base_path
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(state.base_path):
        return state.base_path
    if target.startswith("//") or "\\" in target:
        return state.base_path
    return target


def _csrf_token() -> str:
    token = flask.session.get(_CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        flask.session[_CSRF_KEY] = token
    return token


def _login() -> Any:
    state = _state()
    error = ""
    status = 200
    headers: dict[str, str] = {}
    username = ""
    next_path = _safe_next(flask.request.values.get("next"), state)
    if flask.request.method == "POST":
        form = flask.request.form
        username = form.get("username", "").strip()
        sent = form.get("csrf", "")
        expected = flask.session.get(_CSRF_KEY)
        if not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
            error, status = "The form expired; please sign in again.", 401
        else:
            address = flask.request.remote_addr
            attempt = state.store.sign_in(
                username, form.get("password", ""), address=address, policy=state.throttle
            )
            if attempt.retry_after_s > 0:
                wait = max(1, math.ceil(attempt.retry_after_s))
                log.warning("dashboard sign-in throttled for %r from %s", username, address)
                error = f"Too many failed sign-ins; wait {wait} s and try again."
                status, headers = 429, {"Retry-After": str(wait)}
            elif attempt.user is None:
                log.info("dashboard sign-in refused for %r from %s", username, address)
                error, status = GENERIC_REFUSAL, 401
            else:
                user = attempt.user
                flask.session.clear()  # a fresh session, against session fixation
                session_id = state.store.create_session(user, address=address)
                flask_login.login_user(SessionUser(user, session_id))
                log.info("dashboard sign-in: %s", user.username)
                return flask.redirect(next_path)
    body = login_page(
        csrf=_csrf_token(),
        next_path=next_path,
        username=username,
        error=error,
        base_path=state.base_path,
    )
    return flask.Response(body, status=status, mimetype="text/html", headers=headers)


def _logout() -> Any:
    current = flask_login.current_user
    if current is not None and current.is_authenticated:
        _state().store.end_session(current.session_id)
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect(_state().login_path)


def login_page(*, csrf: str, next_path: str, username: str, error: str, base_path: str) -> str:
    """The sign-in page: plain HTML, so nothing of the app loads before sign-in."""
    e = html.escape
    message = f'<p class="login-error" role="alert">{e(error)}</p>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Millwright · sign in</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{e(base_path)}assets/millwright.css">
</head><body class="login-body">
<main class="login-card">
<h1 class="brand">MILLWRIGHT</h1>
<p class="muted">Plant dashboard — sign in to continue.</p>
{message}
<form method="post" action="{e(base_path)}login" id="login-form">
<input type="hidden" name="csrf" value="{e(csrf)}">
<input type="hidden" name="next" value="{e(next_path)}">
<label for="username">User</label>
<input id="username" name="username" autocomplete="username" required autofocus
 value="{e(username)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">Sign in</button>
</form>
</main></body></html>"""
