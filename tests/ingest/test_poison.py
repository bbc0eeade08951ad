"""No payload stops the stream: the five poison kinds of issue 16, each followed by good
readings, through the live path and through buffer replay after a collector restart (real
Mosquitto, real PostgreSQL); and rows the database itself refuses are isolated by bisection,
live and from a buffer an older collector left behind."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ingest.buffer import StoreAndForwardBuffer
from ingest.dead_letters import read_dead_letters
from ingest.pipeline import to_epoch_us
from millwright.core import sparkplug_b_pb2 as pb  # messages made at import: no stubs
from millwright.core.storage import Database, ReadingColumns
from tests.ingest.conftest import (
    Publisher,
    ingest_config,
    readings_of,
    source_config,
    wait_for,
)
from tests.support.postgres_proc import free_port

MS = 1_714_564_800_000
GOOD_PER_POISON = 40


def _random_name(n: int, seed: int) -> str:
    """Incompressible letters: PostgreSQL cannot squeeze them under its index row limit."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


def _spb(seq: int, metrics: list[tuple[str, float]]) -> bytes:
    p = pb.Payload(timestamp=MS, seq=seq)  # type: ignore[attr-defined]
    for name, value in metrics:
        p.metrics.add(name=name, datatype=10, double_value=value)
    return p.SerializeToString()


def _stream(u: str) -> tuple[list[tuple[str, bytes]], set[tuple[str, str, str, float, int]]]:
    """Poison, good, poison, good, ...: the messages and every good reading they carry."""
    machine, node = f"pz{u}", f"pzn{u}"
    long_name = _random_name(3000, 1)
    poison: list[tuple[str, bytes]] = [
        (f"pz{u}/{long_name}/temp", b"1.5"),  # bare number, 3,000-character machine level
        (f"pz{u}/{machine}/{long_name}", b"2.5"),  # ... and sensor level
        (f"pz{u}/{machine}/x", b'{"sensor": "P\\ud800", "value": 3, "ts": 1714564800000}'),
        (f"spBv1.0/G{u}/NDATA/{node}", _spb(1, [("a\x00b", 4.0), ("ok", 4.5)])),
        (f"spBv1.0/G{u}/NDATA/{node}", _spb(2, [(long_name, 5.0)])),
    ]
    messages: list[tuple[str, bytes]] = [(f"spBv1.0/G{u}/NBIRTH/{node}", _spb(0, []))]
    expected: set[tuple[str, str, str, float, int]] = set()
    ts0 = datetime.fromtimestamp(MS / 1000, UTC).isoformat()
    expected.add((node, "ok", ts0, 4.5, 0))
    k = 0
    for topic, payload in poison:
        messages.append((topic, payload))
        for _ in range(GOOD_PER_POISON):
            ms = MS + k
            payload_good = json.dumps({"ts": ms, "value": k}).encode()
            messages.append((f"pz{u}/{machine}/v", payload_good))
            ts = datetime.fromtimestamp(ms / 1000, UTC).isoformat()
            expected.add((machine, "v", ts, float(k), 0))
            k += 1
    return messages, expected


EXPECTED_REASONS = [
    "machine name '",  # ... is 3000 characters long (at most 200)
    "sensor name '",
    "sensor name 'P\\ud800' contains a lone surrogate (not valid Unicode)",
    "Sparkplug metric name 'a\\x00b' contains a NUL character",
    "Sparkplug metric name '",
]


def _check_letters(database: Database, source: str) -> None:
    letters = read_dead_letters(database, source=source)
    reasons = [d.reason for d in letters]
    assert len(reasons) == 5, reasons
    for reason, start in zip(reasons, EXPECTED_REASONS, strict=True):
        assert reason.startswith(start), reason
    for i in (0, 1, 4):
        assert "is 3000 characters long (at most 200)" in reasons[i]
    assert all(d.topic for d in letters)  # the payload reference: the message's topic


def _subscriptions(u: str) -> list[dict[str, Any]]:
    return [
        {"topic": f"pz{u}/{{machine}}/{{sensor}}", "format": "auto"},
        {"topic": f"spBv1.0/G{u}/#", "format": "sparkplug"},
    ]


def test_five_poison_kinds_live_every_good_reading_arrives(
    database: Database,
    runtime: Any,
    collector_factory: Any,
    mqtt_broker: tuple[str, int],
    unique: str,
) -> None:
    config = source_config(f"s{unique}", *mqtt_broker, _subscriptions(unique))
    collector_factory(config, runtime)
    messages, expected = _stream(unique)
    pub = Publisher(*mqtt_broker)
    try:
        pub.publish_many(messages)
    finally:
        pub.close()
    got = lambda: readings_of(database, f"pz{unique}") | readings_of(database, f"pzn{unique}")  # noqa: E731
    wait_for(lambda: got() == expected)
    wait_for(lambda: len(read_dead_letters(database, source=f"s{unique}")) == 5)
    _check_letters(database, f"s{unique}")
    health = runtime.health()
    assert health["database_up"] is True and health["replay_backlog_readings"] == 0


def test_five_poison_kinds_buffered_then_replayed_after_a_restart(
    database: Database,
    database_url: str,
    runtime_factory: Any,
    collector_factory: Any,
    mqtt_broker: tuple[str, int],
    unique: str,
    tmp_path: Path,
) -> None:
    buffer_path = tmp_path / "shared-buffer.sqlite"
    cfg = ingest_config(
        buffer={"path": str(buffer_path), "retry_interval_s": 0.3, "database_timeout_s": 0.3},
        batch={"size": 5000, "interval_ms": 50},
    )
    down_url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=1"
    first = runtime_factory(down_url, cfg)
    config = source_config(f"s{unique}", *mqtt_broker, _subscriptions(unique))
    collector = collector_factory(config, first)
    messages, expected = _stream(unique)
    pub = Publisher(*mqtt_broker)
    try:
        pub.publish_many(messages)
    finally:
        pub.close()
    # everything is acknowledged into the buffer: good readings as batches, poison as letters
    wait_for(lambda: first.buffer.readings == len(expected), timeout=30)
    wait_for(lambda: first.buffer.pending_records >= 5, timeout=30)
    assert first.health()["database_up"] is False
    collector.stop()
    first.stop()  # the collector restarts...

    second = runtime_factory(database_url, cfg)  # ...with the database back
    got = lambda: readings_of(database, f"pz{unique}") | readings_of(database, f"pzn{unique}")  # noqa: E731
    wait_for(lambda: got() == expected, timeout=30)
    wait_for(lambda: len(read_dead_letters(database, source=f"s{unique}")) == 5)
    _check_letters(database, f"s{unique}")
    wait_for(lambda: second.health()["replay_backlog_batches"] == 0)
    assert second.health()["database_up"] is True


def _columns(rows: list[tuple[str, str, int, float]]) -> ReadingColumns:
    return ReadingColumns(
        machine=np.array([r[0] for r in rows], dtype=object),
        sensor=np.array([r[1] for r in rows], dtype=object),
        ts=np.array([r[2] for r in rows], dtype=np.int64).view("datetime64[us]"),
        value=np.array([r[3] for r in rows], dtype=np.float64),
        quality=np.zeros(len(rows), dtype=np.int16),
    )


def _db_poison_rows(u: str) -> tuple[list[tuple[str, str, int, float]], set[Any]]:
    """Rows only the database can refuse (they bypass the decoders' name check): a NUL, a
    lone surrogate, a name too large for the index, between good rows."""
    base = to_epoch_us(datetime(2024, 5, 1, 12, tzinfo=UTC))
    rows = [(f"db{u}", "v", base + i, float(i)) for i in range(300)]
    rows[10] = (f"db{u}", "a\x00b", base, 1.0)
    rows[150] = (f"db{u}", "P\ud800", base, 2.0)
    rows[299] = (f"db{u}{_random_name(3000, 2)}", "v", base, 3.0)
    good = {
        (m, s, datetime.fromtimestamp(t / 1e6, UTC).isoformat(), v, 0)
        for i, (m, s, t, v) in enumerate(rows)
        if i not in (10, 150, 299)
    }
    return rows, good


def _check_refused(database: Database, source: str, ref: str | None) -> None:
    letters = read_dead_letters(database, source=source)
    assert len(letters) == 3
    nul, index, surrogate = sorted(d.reason for d in letters)
    assert nul == (
        "database refused the reading: PostgreSQL text fields cannot contain NUL (0x00) bytes"
    )
    assert index.startswith("database refused the reading: index row size")
    assert index.endswith("(SQLSTATE 54000)")
    assert surrogate.startswith("database refused the reading: text is not valid Unicode")
    assert {d.topic for d in letters} == {ref}
    sensors = sorted(json.loads(d.payload)["sensor"] for d in letters)
    assert sensors == ["P\\ud800", "a\\x00b", "v"]


def test_rows_the_database_refuses_are_isolated_live(
    database: Database, runtime: Any, unique: str
) -> None:
    rows, good = _db_poison_rows(unique)
    acked: list[int] = []
    runtime.pipeline.submit_rows(
        "direct", [(*r, 0) for r in rows], lambda: acked.append(1), ref="plant/topic"
    )
    wait_for(lambda: acked == [1])
    assert readings_of(database, f"db{unique}") == good
    _check_refused(database, "direct", "plant/topic")
    health = runtime.health()
    assert health["database_up"] is True and health["quarantined_readings"] == 3
    assert runtime.metrics.value("millwright_ingest_readings_quarantined_total") == 3


def test_a_poisoned_batch_left_in_the_buffer_never_blocks_the_ones_behind_it(
    database: Database, database_url: str, runtime_factory: Any, unique: str, tmp_path: Path
) -> None:
    path = tmp_path / "old-buffer.sqlite"
    old = StoreAndForwardBuffer(path)
    rows, good = _db_poison_rows(unique)
    old.put(_columns(rows))  # as a collector before issue 16 left it: no meta
    later = [(f"db{unique}", "w", r[2], r[3]) for r in rows[20:70]]
    old.put(_columns(later), {"runs": [["plant", 0]], "refs": [[0, "plant/w"]]})
    old.close()
    good |= {(m, s, datetime.fromtimestamp(t / 1e6, UTC).isoformat(), v, 0) for m, s, t, v in later}
    cfg = ingest_config(buffer={"path": str(path), "retry_interval_s": 0.3})
    rt = runtime_factory(database_url, cfg)
    wait_for(lambda: readings_of(database, f"db{unique}") == good)
    wait_for(lambda: rt.buffer.batches == 0)
    _check_refused(database, "buffer", None)
    assert rt.health()["database_up"] is True
