"""Outbox delivery against a real HTTP receiver on loopback (explicitly allowed in config)."""

from __future__ import annotations

import itertools
import random
import time
from datetime import UTC, datetime

from alerts.config import AlertsConfig
from alerts.dispatcher import Dispatcher
from alerts.outbox import (
    DeliveryState,
    attempts_of,
    disabled_endpoints,
    enable_endpoint,
    enqueue,
    get_delivery,
)
from alerts.payload import WebhookEvent
from alerts.retry import backoff_delay
from alerts.signing import verify
from millwright.core.storage.database import Database
from tests.alerts.conftest import SECRET, Receiver, Reply, make_config, wait_settled


def queue(database: Database, config: AlertsConfig, n: int = 1) -> list[str]:
    ids = []
    with database.connection() as conn:
        for i in range(n):
            event = WebhookEvent(
                type="alert.opened", timestamp=datetime.now(UTC), data={"n": i, "machine": {}}
            )
            ids += enqueue(conn, config, event, None)
    return ids


def test_three_500s_then_200_is_one_effective_delivery_with_growing_delays(
    database: Database, receiver: Receiver
) -> None:
    receiver.script = [Reply(500), Reply(500), Reply(500), Reply(200)]
    config = make_config(receiver.url)
    config = config.model_copy(update={"backoff_base_s": 0.2})
    (delivery_id,) = queue(database, config)
    with Dispatcher(database, config, rng=random.Random(3)) as dispatcher:
        delivery = wait_settled(database, delivery_id, dispatcher.dispatch_due)

    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 4
    assert receiver.ids() == [delivery_id] * 4  # same webhook-id: the receiver dedupes on it
    assert len(set(receiver.ids())) == 1
    bodies = {r.body for r in receiver.requests}
    assert len(bodies) == 1  # the same bytes every time
    for request in receiver.requests:
        assert verify(SECRET, request.headers, request.body) == delivery_id
    gaps = [b.at - a.at for a, b in itertools.pairwise(receiver.requests)]
    rng = random.Random(3)
    planned = [backoff_delay(n, base_s=0.2, cap_s=2.0, rng=rng) for n in (1, 2, 3)]
    assert planned == sorted(planned)
    assert all(gap >= want - 0.02 for gap, want in zip(gaps, planned, strict=True)), (gaps, planned)
    assert gaps[0] < gaps[1] < gaps[2], gaps
    log = attempts_of(database, delivery_id)
    assert [a.status_code for a in log] == [500, 500, 500, 200]
    assert all(a.latency_ms is not None and a.latency_ms >= 0 for a in log)
    assert log[0].error == "HTTP 500: ok"


def test_retry_after_is_honoured(database: Database, receiver: Receiver) -> None:
    receiver.script = [Reply(503, headers={"Retry-After": "1"}), Reply(200)]
    config = make_config(receiver.url)
    (delivery_id,) = queue(database, config)
    with Dispatcher(database, config) as dispatcher:
        delivery = wait_settled(database, delivery_id, dispatcher.dispatch_due)
    assert delivery.state is DeliveryState.DELIVERED
    first, second = receiver.requests
    assert second.at - first.at >= 0.95  # backoff alone would be <= 0.05 s


def test_410_disables_the_endpoint_and_parks_its_queue(
    database: Database, receiver: Receiver
) -> None:
    receiver.script = [Reply(410)]
    config = make_config(receiver.url)
    first, second = queue(database, config, n=2)
    with Dispatcher(database, config) as dispatcher:
        report = dispatcher.dispatch_due()
        assert report.disabled == 1 and report.attempts == 1
        gone = get_delivery(database, first)
        assert gone is not None and gone.attempts == 1 and "410" in (gone.last_error or "")
        assert "rx" in disabled_endpoints(database)
        states = {d: get_delivery(database, d).state for d in (first, second)}  # type: ignore[union-attr]
        assert set(states.values()) == {DeliveryState.DISABLED}
        (later,) = queue(database, config)  # new events wait, unsent, while it is disabled
        assert get_delivery(database, later).state is DeliveryState.DISABLED  # type: ignore[union-attr]
        assert dispatcher.dispatch_due().attempts == 0
        assert len(receiver.requests) == 1

        assert enable_endpoint(database, "rx") == 3
        report = dispatcher.dispatch_due()
    assert report.delivered == 3 and disabled_endpoints(database) == {}


def test_redirects_are_not_followed(database: Database, receiver: Receiver) -> None:
    elsewhere = receiver.url.replace("/hook", "/elsewhere")
    receiver.script = [Reply(307, headers={"Location": elsewhere})] * 2
    config = make_config(receiver.url, max_attempts=2)
    (delivery_id,) = queue(database, config)
    with Dispatcher(database, config) as dispatcher:
        delivery = wait_settled(database, delivery_id, dispatcher.dispatch_due)
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]
    assert delivery.state is DeliveryState.DEAD
    assert delivery.last_error is not None and "not followed" in delivery.last_error


def test_dead_after_max_attempts_each_attempt_logged(
    database: Database, receiver: Receiver
) -> None:
    receiver.script = [Reply(500, body=b"boom")] * 10
    config = make_config(receiver.url, max_attempts=3)
    (delivery_id,) = queue(database, config)
    with Dispatcher(database, config) as dispatcher:
        delivery = wait_settled(database, delivery_id, dispatcher.dispatch_due)
    assert delivery.state is DeliveryState.DEAD and delivery.attempts == 3
    assert len(receiver.requests) == 3
    log = attempts_of(database, delivery_id)
    assert [(a.status_code, a.error) for a in log[:2]] == [(500, "HTTP 500: boom")] * 2
    assert log[2].error == "HTTP 500: boom; dead after 3 attempts"


def test_attempt_timeout_is_logged_and_retried(database: Database, receiver: Receiver) -> None:
    release = __import__("threading").Event()
    receiver.script = [Reply(200, hold=release), Reply(200)]
    config = make_config(receiver.url, timeout_s=0.3)
    (delivery_id,) = queue(database, config)
    started = time.monotonic()
    try:
        with Dispatcher(database, config) as dispatcher:
            delivery = wait_settled(database, delivery_id, dispatcher.dispatch_due)
    finally:
        release.set()
    assert delivery.state is DeliveryState.DELIVERED and time.monotonic() - started < 5
    first, second = attempts_of(database, delivery_id)
    assert first.status_code is None and first.error is not None and "no answer" in first.error
    assert second.status_code == 200


def test_refused_target_is_never_called(database: Database, receiver: Receiver) -> None:
    config = make_config(receiver.url, allow_private=False)
    (delivery_id,) = queue(database, config)
    with Dispatcher(database, config) as dispatcher:
        dispatcher.dispatch_due()
    delivery = get_delivery(database, delivery_id)
    assert delivery is not None and delivery.state is DeliveryState.DEAD
    assert delivery.last_error is not None and "loopback" in delivery.last_error
    assert receiver.requests == []
