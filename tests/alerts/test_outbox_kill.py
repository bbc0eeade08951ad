"""Killing the dispatcher mid-retry loses nothing: the state lives in the outbox table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from alerts.config import AlertsConfig, EndpointConfig
from alerts.outbox import DeliveryState, attempts_of, enqueue, get_delivery
from alerts.payload import WebhookEvent
from alerts.signing import verify
from millwright.core.storage.database import Database
from tests.alerts.conftest import SECRET, Receiver, Reply

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("dispatch_worker.py")


def start_worker(database_url: str, config: dict[str, object]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), database_url, json.dumps(config)], cwd=ROOT, env=env
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_sigkill_mid_retry_and_mid_request_loses_nothing(
    database: Database, database_url: str, receiver: Receiver
) -> None:
    release = threading.Event()
    # 1st: 500 (then the worker is killed while it waits to retry);
    # 2nd: held open (the worker is killed while the request is in flight); 3rd: 200.
    receiver.script = [Reply(500), Reply(200, hold=release), Reply(200)]
    raw = {
        "endpoints": [
            {
                "name": "rx",
                "url": receiver.url,
                "secrets": [SECRET],
                "allow_private": True,
                "max_attempts": 10,
                "timeout_s": 1.5,
            }
        ],
        "backoff_base_s": 0.6,
        "backoff_max_s": 1.0,
        "lease_margin_s": 0.3,
    }
    config = AlertsConfig.model_validate(raw)
    assert isinstance(config.endpoints[0], EndpointConfig)
    with database.connection() as conn:
        event = WebhookEvent(type="alert.opened", timestamp=datetime.now(UTC), data={"x": 1})
        (delivery_id,) = enqueue(conn, config, event, None)

    def attempts() -> int:
        delivery = get_delivery(database, delivery_id)
        assert delivery is not None
        return delivery.attempts

    worker = start_worker(database_url, raw)
    try:
        wait_for(lambda: attempts() == 1)  # the 500 is recorded; a retry is scheduled
        kill(worker)  # dies during the backoff wait
        worker = start_worker(database_url, raw)
        wait_for(receiver.holding.is_set)  # the retry is in flight...
        kill(worker)  # ...and its sender dies before hearing the answer
        release.set()
        delivery = get_delivery(database, delivery_id)
        assert delivery is not None
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
        worker = start_worker(database_url, raw)
        wait_for(
            lambda: (
                get_delivery(database, delivery_id).state  # type: ignore[union-attr]
                is not DeliveryState.PENDING
            )
        )
    finally:
        release.set()
        kill(worker)

    delivery = get_delivery(database, delivery_id)
    assert delivery is not None and delivery.state is DeliveryState.DELIVERED
    assert len(receiver.requests) == 3
    assert set(receiver.ids()) == {delivery_id}  # one effective delivery for the receiver
    for request in receiver.requests:
        verify(SECRET, request.headers, request.body)
    # The in-flight attempt died with its process; the two it lived to see are logged.
    assert [a.status_code for a in attempts_of(database, delivery_id)] == [500, 200]
