"""Wall screens without a keyboard: ``?kiosk=1&token=<viewer API token>`` signs the screen in.

Only a token whose user holds the viewer role and nothing more is accepted here, so a
token left in a screen's bookmark can read the plant but never act on it. The token is
dropped from the address at once (redirect to the same URL without it).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import flask
import flask_login

from dashboard.auth import SessionUser
from millwright.core.users import Role, UserStore

log = logging.getLogger(__name__)


def install_kiosk_sign_in(server: flask.Flask, store: UserStore) -> None:
    """Accept a viewer token on kiosk URLs, ahead of the sign-in guard."""

    def _kiosk_token() -> Any:
        args = flask.request.args
        token = args.get("token")
        if flask.request.method != "GET" or not token or args.get("kiosk") != "1":
            return None
        rest = urlencode([(k, v) for k, v in args.items(multi=True) if k != "token"])
        target = flask.request.path + (f"?{rest}" if rest else "")
        user = store.user_for_token(token[:512])
        if user is None or set(user.roles) != {Role.VIEWER}:
            log.warning("kiosk sign-in refused: not a viewer-only token")
            return flask.Response(
                "kiosk sign-in needs a valid API token of a viewer-only user",
                status=401,
                mimetype="text/plain",
            )
        flask.session.clear()  # a fresh server-side session, as a password sign-in gets
        session_id = store.create_session(user, address=flask.request.remote_addr)
        flask_login.login_user(SessionUser(user, session_id))
        return flask.redirect(target)

    server.before_request_funcs.setdefault(None, []).insert(0, _kiosk_token)
