"""Sign-in that resists guessing and sessions that end, over HTTP on the dashboard's server.

The probes of issue #17: 60 rapid wrong passwords are throttled (and the right one straight
after is refused until an admin lifts the lockout); an unknown user costs the same as a
wrong password and gets the same answer; a cookie replayed after sign-out fails; a password
change, disabling and an admin's revoke end sessions; idle and absolute timeouts hold.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.app import create_dashboard
from millwright.core.storage.database import Database
from millwright.core.users import UserStore
from tests.dashboard.conftest import make_settings
from tests.dashboard.plant import PASSWORD
from tests.dashboard.test_auth import _csrf, sign_in

GENERIC = "Unknown user or wrong password."


def _client(database_url: str, database: Database, **dashboard: Any) -> FlaskClient:
    settings = make_settings(database_url, require_login="true", **dashboard)
    return create_dashboard(settings, database).server.test_client()


@pytest.fixture
def slow_backoff(database_url: str, database: Database, users: None) -> FlaskClient:
    """Back-off of a minute: every attempt after the fifth failure is inside its wait."""
    return _client(database_url, database, login_base_delay_s=60)


def test_sixty_rapid_wrong_passwords_are_throttled_until_an_admin_lifts_it(
    slow_backoff: FlaskClient, database: Database
) -> None:
    statuses = [sign_in(slow_backoff, "planner", f"guess-{i:04d}").status_code for i in range(60)]
    assert statuses == [401] * 5 + [429] * 55
    refused = sign_in(slow_backoff, "planner")  # the right password, straight after
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # 60 s after the fifth failure
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    assert slow_backoff.get("/_dash-layout").status_code == 401
    # the lockout is recorded, and only the evaluated guesses were counted
    rows = database.execute(
        "SELECT scope, key, failures, locked_at IS NOT NULL FROM login_throttle ORDER BY scope"
    )
    assert rows == [("account", "planner", 5, True), ("address", "127.0.0.1", 5, False)]
    (info,) = [u for u in UserStore(database).list_users() if u.username == "planner"]
    assert info.locked_at is not None

    assert UserStore(database).unlock("planner") is True
    assert sign_in(slow_backoff, "planner").status_code == 302
    assert slow_backoff.get("/_dash-layout").status_code == 200
    assert database.execute("SELECT count(*) FROM login_throttle WHERE scope = 'account'") == [(0,)]


def test_the_back_off_doubles_and_lapses(database: Database, users: None) -> None:
    from datetime import UTC, datetime, timedelta

    from millwright.core.users import ThrottlePolicy

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    store = UserStore(database, clock=lambda: now[0])
    policy = ThrottlePolicy(max_failures=2, base_delay_s=10, max_delay_s=40, window_s=900)

    def attempt(password: str = "wrong-password") -> tuple[bool, float]:
        result = store.sign_in("viewer", password, address="10.0.0.9", policy=policy)
        return result.user is not None, result.retry_after_s

    assert attempt() == (False, 0.0)
    assert attempt() == (False, 0.0)
    assert attempt() == (False, 10.0)  # 2 failures: wait 10 s
    now[0] += timedelta(seconds=10)
    assert attempt() == (False, 0.0)  # evaluated: third failure
    assert attempt() == (False, 20.0)
    now[0] += timedelta(seconds=20)
    assert attempt() == (False, 0.0)
    now[0] += timedelta(seconds=39)
    assert attempt(PASSWORD) == (False, 1.0)  # capped at 40 s, 39 s gone
    now[0] += timedelta(seconds=1)
    assert attempt(PASSWORD) == (True, 0.0)  # success clears the account's count
    assert attempt() == (False, 0.0)


def test_many_names_from_one_address_are_throttled_by_address(
    database_url: str, database: Database, users: None
) -> None:
    client = _client(database_url, database, login_address_max_failures=3, login_base_delay_s=60)
    statuses = [sign_in(client, f"nobody-{i}", "wrong-password").status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert sign_in(client, "viewer").status_code == 429  # a real user, from that address
    assert UserStore(database).unlock_address("127.0.0.1") is True
    assert sign_in(client, "viewer").status_code == 302


def test_parallel_guesses_are_counted_one_by_one(
    slow_backoff: FlaskClient, database_url: str, database: Database
) -> None:
    app = slow_backoff.application

    def guess(i: int) -> int:
        client = app.test_client()
        return int(sign_in(client, "viewer", f"parallel-{i}").status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(guess, range(16)))
    assert statuses == [401] * 5 + [429] * 11


def test_unknown_user_gets_the_same_answer_and_costs_the_same(
    slow_backoff: FlaskClient, database: Database
) -> None:
    unknown = sign_in(slow_backoff, "no-such-user", "wrong-password")
    known = sign_in(slow_backoff, "viewer", "wrong-password")
    assert unknown.status_code == known.status_code == 401
    for response in (unknown, known):
        assert GENERIC in response.get_data(as_text=True)

    store = UserStore(database)
    existing: list[float] = []
    missing: list[float] = []
    for i in range(9):  # interleaved; CPU time of this thread, so other load does not count
        for name, times in (("viewer", existing), (f"ghost-{i}", missing)):
            start = time.thread_time()
            assert store.authenticate(name, "wrong-password") is None
            times.append(time.thread_time() - start)
    ratio = statistics.median(missing) / statistics.median(existing)
    assert 0.8 <= ratio <= 1.2, (statistics.median(existing), statistics.median(missing))


def test_a_cookie_replayed_after_sign_out_gets_the_sign_in_page(
    slow_backoff: FlaskClient,
) -> None:
    assert sign_in(slow_backoff, "viewer").status_code == 302
    cookie = slow_backoff.get_cookie("millwright_dashboard")
    assert cookie is not None
    captured = cookie.value
    assert slow_backoff.post("/logout").status_code == 302

    replay = slow_backoff.application.test_client()
    replay.set_cookie("millwright_dashboard", captured)
    assert replay.get("/_dash-layout").status_code == 401
    assert replay.get("/schedule").status_code == 302


def _signed_in(app_client: FlaskClient, username: str) -> FlaskClient:
    client = app_client.application.test_client()
    assert sign_in(client, username).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    return client


def test_password_change_disable_and_revoke_end_sessions(
    slow_backoff: FlaskClient, database: Database
) -> None:
    store = UserStore(database)
    first, second = _signed_in(slow_backoff, "viewer"), _signed_in(slow_backoff, "viewer")
    other = _signed_in(slow_backoff, "planner")
    assert store.set_password("viewer", "a-new-password") == 2
    assert first.get("/_dash-layout").status_code == 401
    assert second.get("/_dash-layout").status_code == 401
    assert other.get("/_dash-layout").status_code == 200

    assert store.revoke_sessions("planner") == 1
    assert other.get("/_dash-layout").status_code == 401

    again = _signed_in(slow_backoff, "planner")
    store.set_disabled("planner", True)
    assert again.get("/_dash-layout").status_code == 401
    store.set_disabled("planner", False)
    assert again.get("/_dash-layout").status_code == 401  # enabling does not revive it
    _signed_in(slow_backoff, "planner")


def test_idle_and_absolute_timeouts_come_from_settings(
    database_url: str, database: Database, users: None
) -> None:
    client = _client(database_url, database, session_idle_minutes=10, session_absolute_hours=1)
    signed = _signed_in(client, "viewer")
    database.execute("UPDATE user_sessions SET last_seen_at = now() - interval '9 minutes'")
    assert signed.get("/_dash-layout").status_code == 200  # and it is marked seen again
    database.execute("UPDATE user_sessions SET last_seen_at = now() - interval '11 minutes'")
    assert signed.get("/_dash-layout").status_code == 401

    signed = _signed_in(client, "viewer")
    database.execute(
        "UPDATE user_sessions SET created_at = now() - interval '61 minutes'"
        " WHERE revoked_at IS NULL"
    )
    assert signed.get("/_dash-layout").status_code == 401


def test_a_stale_form_does_not_count_as_a_failure(
    slow_backoff: FlaskClient, database: Database
) -> None:
    _csrf(slow_backoff)
    for _ in range(8):
        form = {"username": "viewer", "password": "x", "csrf": "forged"}
        assert slow_backoff.post("/login", data=form).status_code == 401
    assert database.execute("SELECT count(*) FROM login_throttle") == [(0,)]
