"""`millwright users …`: dashboard and API users, their roles, tokens, sessions and lockouts.

Every refusal is one sentence on standard error with exit code 2 (an unknown user, a short
password, no terminal to prompt on); nothing prints a traceback. For scripts, passwords come
from standard input (``--password-stdin``), never from the command line's history.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from millwright.core.commands import app_context

if TYPE_CHECKING:  # imported when a command runs, so `millwright --help` stays light
    from datetime import datetime

    from millwright.core.users import UserStore

users_app = typer.Typer(help="Dashboard and API users, roles and tokens.", no_args_is_help=True)

RoleOption = Annotated[
    list[str], typer.Option("--role", help="viewer, planner, maintenance or admin; repeatable.")
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"millwright users: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def _refusals() -> Iterator[None]:
    from millwright.core.users import UserError

    try:
        yield
    except UserError as exc:
        _fail(str(exc))


def _store(ctx: typer.Context) -> UserStore:
    from millwright.core.users import UserStore

    return UserStore(app_context(ctx).database())


def _password(given: str | None, from_stdin: bool) -> str:
    """The new password: --password-stdin, else --password, else a prompt on a terminal."""
    if from_stdin and given is not None:
        _fail("give either --password or --password-stdin, not both.")
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        if not lines or not lines[0]:
            _fail("--password-stdin read no password; send it as the first line of input.")
        return lines[0]
    if given is not None:
        return given
    if not sys.stdin.isatty():
        _fail("no terminal to ask for the password on; pipe it in with --password-stdin.")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: str,
    role: RoleOption = [],  # noqa: B006
    password: Annotated[
        str | None, typer.Option(help="The password (visible in shell history; prefer stdin).")
    ] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user (or update their password and roles, ending their sessions)."""
    secret = _password(password, password_stdin)
    roles = role or ["viewer"]
    with _refusals():
        _store(ctx).add(username, secret, roles=roles)
    typer.echo(f"user {username} saved with roles {', '.join(roles)}")


@users_app.command("list")
def users_list(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """Every user with roles, state, live sessions, active tokens and any sign-in lockout."""
    users = _store(ctx).list_users()
    if as_json:
        rows = [
            {
                "username": u.username,
                "roles": list(u.roles),
                "disabled": u.disabled,
                "sessions": u.sessions,
                "tokens": u.tokens,
                "locked_at": u.locked_at.isoformat() if u.locked_at else None,
            }
            for u in users
        ]
        typer.echo(json.dumps(rows))
        return
    typer.echo(f"{'user':<20}{'roles':<28}{'state':<10}{'sessions':>9}{'tokens':>8}  locked")
    for u in users:
        state = "disabled" if u.disabled else "active"
        line = f"{u.username:<20}{','.join(u.roles):<28}{state:<10}{u.sessions:>9}{u.tokens:>8}"
        typer.echo(f"{line}  {_when(u.locked_at)}")


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: str) -> None:
    """Disable a user: their sessions end and their tokens stop working."""
    with _refusals():
        _store(ctx).set_disabled(username, True)
    typer.echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(ctx: typer.Context, username: str) -> None:
    """Enable a disabled user again (old sessions stay ended)."""
    with _refusals():
        _store(ctx).set_disabled(username, False)
    typer.echo(f"user {username} enabled")


@users_app.command("passwd")
def users_passwd(
    ctx: typer.Context,
    username: str,
    password: Annotated[str | None, typer.Option(help="The new password.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Change a user's password; every session of theirs ends."""
    secret = _password(password, password_stdin)
    with _refusals():
        ended = _store(ctx).set_password(username, secret)
    typer.echo(f"password of {username} changed; {ended} session(s) ended")


@users_app.command("token")
def users_token(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument(help="Whose token to create.")] = None,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "api",
    revoke: Annotated[
        int | None, typer.Option("--revoke", help="Revoke the token with this id instead.")
    ] = None,
) -> None:
    """Create an API token (printed once, stored as a hash), or revoke one by id."""
    store = _store(ctx)
    with _refusals():
        if revoke is not None:
            if username is not None:
                _fail("give a user to create a token, or --revoke ID, not both.")
            done = store.revoke_token_id(revoke)
            typer.echo(f"token {revoke} {'revoked' if done else 'was already revoked'}")
            return
        if username is None:
            _fail("name the user to create a token for, or give --revoke ID.")
        typer.echo(store.create_token(username, name))


@users_app.command("tokens")
def users_tokens(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
) -> None:
    """API tokens by id (the secret itself is never shown again)."""
    with _refusals():
        tokens = _store(ctx).tokens(username)
    typer.echo(f"{'id':>5}  {'user':<20}{'name':<16}{'created':<18}{'last used':<18}revoked")
    for t in tokens:
        typer.echo(
            f"{t.id:>5}  {t.username:<20}{t.name:<16}{_when(t.created_at):<18}"
            f"{_when(t.last_used_at):<18}{_when(t.revoked_at)}"
        )


@users_app.command("unlock")
def users_unlock(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Argument(help="The locked-out account.")] = None,
    address: Annotated[
        str | None, typer.Option(help="Lift a client address's lockout instead.")
    ] = None,
) -> None:
    """Lift a sign-in lockout (failed attempts forgotten) of an account or an address."""
    store = _store(ctx)
    if (username is None) == (address is None):
        _fail("give the account name or --address ADDRESS to unlock.")
    if address is not None:
        done = store.unlock_address(address)
        typer.echo(f"address {address} {'unlocked' if done else 'had no failed sign-ins'}")
        return
    assert username is not None
    done = store.unlock(username)
    typer.echo(f"account {username} {'unlocked' if done else 'was not locked'}")


@users_app.command("revoke-sessions")
def users_revoke_sessions(ctx: typer.Context, username: str) -> None:
    """Sign a user out everywhere: every dashboard session of theirs ends."""
    with _refusals():
        ended = _store(ctx).revoke_sessions(username)
    typer.echo(f"{ended} session(s) of {username} ended")
