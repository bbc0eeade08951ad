"""`millwright users …`: manage users, tokens, sessions and lockouts; refusals in one
sentence with exit code 2, never a traceback (issue #17, item 8)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage.database import Database
from millwright.core.users import SessionPolicy, ThrottlePolicy, UserStore

runner = CliRunner()


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    return runner


def _run(cli: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = cli.invoke(app, ["users", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _refused(cli: CliRunner, *args: str, stdin: str | None = None) -> str:
    code, out, err = _run(cli, *args, stdin=stdin)
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("millwright users: "), err
    return lines[0]


def test_add_with_password_stdin_then_list(cli: CliRunner, database: Database) -> None:
    code, out, _ = _run(cli, "add", "ops", "--role", "planner", "--password-stdin",
                        stdin="s3cret-password\n")  # fmt: skip
    assert code == 0 and "user ops saved with roles planner" in out
    assert UserStore(database).authenticate("ops", "s3cret-password") is not None
    code, out, _ = _run(cli, "list", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row == {"username": "ops", "roles": ["planner"], "disabled": False, "sessions": 0,
                   "tokens": 0, "locked_at": None}  # fmt: skip


def test_add_without_a_terminal_or_stdin_is_one_sentence(cli: CliRunner) -> None:
    line = _refused(cli, "add", "ops")
    assert "--password-stdin" in line
    assert "at least 8 characters" in _refused(cli, "add", "ops", "--password", "short")
    assert "roles must be among" in _refused(cli, "add", "ops", "--password", "long-enough",
                                             "--role", "boss")  # fmt: skip
    assert "no password" in _refused(cli, "add", "ops", "--password-stdin", stdin="")


def test_unknown_users_and_tokens_are_one_sentence(cli: CliRunner) -> None:
    assert "no user named 'ghost'" in _refused(cli, "token", "ghost")
    assert "no user named 'ghost'" in _refused(cli, "disable", "ghost")
    assert "no user named 'ghost'" in _refused(cli, "enable", "ghost")
    assert "no user named 'ghost'" in _refused(cli, "passwd", "ghost", "--password-stdin",
                                               stdin="long-enough\n")  # fmt: skip
    assert "no user named 'ghost'" in _refused(cli, "tokens", "ghost")
    assert "no user named 'ghost'" in _refused(cli, "revoke-sessions", "ghost")
    assert "no API token with id 999" in _refused(cli, "token", "--revoke", "999")
    assert "or give --revoke ID" in _refused(cli, "token")
    assert "--address" in _refused(cli, "unlock")


def test_tokens_listed_and_revoked_by_id(cli: CliRunner, database: Database) -> None:
    store = UserStore(database)
    store.add("mes", "mes-password-1", roles=["planner"])
    code, out, _ = _run(cli, "token", "mes", "--name", "line-1")
    token = out.strip()
    assert code == 0 and token.startswith("mw_")
    assert store.user_for_token(token) is not None
    code, out, _ = _run(cli, "tokens")
    assert code == 0 and "line-1" in out and token not in out
    token_id = database.execute("SELECT id FROM api_tokens")[0][0]
    code, out, _ = _run(cli, "token", "--revoke", str(token_id))
    assert code == 0 and f"token {token_id} revoked" in out
    assert store.user_for_token(token) is None
    code, out, _ = _run(cli, "token", "--revoke", str(token_id))
    assert code == 0 and "already revoked" in out


def test_disable_enable_passwd_revoke_and_unlock(cli: CliRunner, database: Database) -> None:
    store = UserStore(database)
    user = store.add("ana", "first-password", roles=["viewer"])
    policy = SessionPolicy()
    session = store.create_session(user)
    assert _run(cli, "disable", "ana")[0] == 0
    assert store.session_user(session, policy) is None
    assert store.authenticate("ana", "first-password") is None
    assert _run(cli, "enable", "ana")[0] == 0
    assert store.authenticate("ana", "first-password") is not None

    session = store.create_session(user)
    code, out, _ = _run(cli, "passwd", "ana", "--password-stdin", stdin="second-password\n")
    assert code == 0 and "1 session(s) ended" in out
    assert store.session_user(session, policy) is None
    assert store.authenticate("ana", "second-password") is not None

    session = store.create_session(user)
    code, out, _ = _run(cli, "revoke-sessions", "ana")
    assert code == 0 and "1 session(s) of ana ended" in out
    assert store.session_user(session, policy) is None

    throttle = ThrottlePolicy(max_failures=1, base_delay_s=600)
    store.sign_in("ana", "wrong-password", address="10.1.1.1", policy=throttle)
    assert store.sign_in("ana", "second-password", address="10.1.1.2", policy=throttle).user is None
    (row,) = json.loads(_run(cli, "list", "--json")[1])
    assert row["locked_at"] is not None
    code, out, _ = _run(cli, "unlock", "ana")
    assert code == 0 and "account ana unlocked" in out
    assert store.sign_in("ana", "second-password", address="10.1.1.2", policy=throttle).user
