"""The shared pipeline with a sink that fails on demand: buffering, replay, policies, acks."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from ingest.buffer import BufferPolicy, StoreAndForwardBuffer, decode_columns, encode_columns
from ingest.errors import BufferFull, PipelineStopped
from ingest.metrics import CollectorMetrics, MetricsServer
from ingest.pipeline import Pipeline, to_epoch_us
from ingest.records import DeadLetter, MachineEvent, StatusChange
from millwright.core.storage import DatabaseUnavailable, Reading, ReadingColumns, WriteResult
from tests.ingest.conftest import wait_for

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


class FlakySink:
    """Records what it wrote; raises DatabaseUnavailable while ``down`` is set."""

    def __init__(self) -> None:
        self.down = threading.Event()
        self.rows: list[tuple[str, str, int, float]] = []
        self.events: list[MachineEvent] = []
        self.statuses: list[StatusChange] = []
        self.letters: list[DeadLetter] = []
        self.seen: set[tuple[str, str, int]] = set()

    def _check(self) -> None:
        if self.down.is_set():
            raise DatabaseUnavailable("test: database is down")

    def write(self, columns: ReadingColumns) -> WriteResult:
        self._check()
        new = 0
        ts = columns.ts.astype("datetime64[us]").view(np.int64)
        for m, s, t, v in zip(columns.machine, columns.sensor, ts, columns.value, strict=True):
            key = (str(m), str(s), int(t))
            if key not in self.seen:
                self.seen.add(key)
                self.rows.append((*key, float(v)))
                new += 1
        return WriteResult(len(columns), new)

    def record_events(self, events: Sequence[MachineEvent]) -> None:
        self._check()
        self.events.extend(events)

    def set_statuses(self, changes: Sequence[StatusChange]) -> None:
        self._check()
        self.statuses.extend(changes)

    # DeadLetterSink
    def write_letters(self, letters: Sequence[DeadLetter]) -> None:
        self._check()
        self.letters.extend(letters)


class LetterSink:
    def __init__(self, sink: FlakySink) -> None:
        self.sink = sink

    def write(self, letters: Sequence[DeadLetter]) -> None:
        self.sink.write_letters(letters)


def make_pipeline(
    tmp_path: Path,
    *,
    max_readings: int = 1_000_000,
    policy: str = "stop_acknowledging",
    batch_size: int = 100,
) -> tuple[Pipeline, FlakySink, StoreAndForwardBuffer]:
    sink = FlakySink()
    buffer = StoreAndForwardBuffer(
        tmp_path / "buf.sqlite", max_readings=max_readings, policy=policy
    )
    pipeline = Pipeline(
        sink,
        buffer,
        LetterSink(sink),
        CollectorMetrics(),
        batch_size=batch_size,
        flush_interval_s=0.02,
        retry_interval_s=0.05,
        max_pending_readings=10_000,
    )
    return pipeline, sink, buffer


def rows(n: int, start: int = 0, machine: str = "m") -> list[tuple[str, str, int, float, int]]:
    base = to_epoch_us(T0)
    return [(machine, "s", base + i * 1000, float(i), 0) for i in range(start, start + n)]


def test_acks_follow_commits_and_batches_flush_by_size_or_time(tmp_path: Path) -> None:
    pipeline, sink, _ = make_pipeline(tmp_path)
    acked: list[int] = []
    with pipeline:
        for i in range(250):
            pipeline.submit_rows("src", rows(1, i), partial(acked.append, i))
        wait_for(lambda: len(acked) == 250)
    assert acked == list(range(250))  # in submit order
    assert len(sink.rows) == 250
    assert pipeline.metrics.value("millwright_ingest_readings_written_total") == 250


def test_submit_accepts_readings_and_columns(tmp_path: Path) -> None:
    pipeline, sink, _ = make_pipeline(tmp_path)
    with pipeline:
        pipeline.submit("a", [Reading("m1", "t", T0, 1.0)])
        pipeline.submit("b", ReadingColumns.from_readings([Reading("m2", "t", T0, 2.0)]))
        pipeline.submit_rows("c", rows(1, machine="m3"))
        wait_for(lambda: len(sink.rows) == 3)
    assert {r[0] for r in sink.rows} == {"m1", "m2", "m3"}
    with pytest.raises(PipelineStopped):
        pipeline.submit_rows("c", rows(1))


def test_outage_buffers_then_replays_everything_once_in_order(tmp_path: Path) -> None:
    pipeline, sink, buffer = make_pipeline(tmp_path)
    acked: list[int] = []
    with pipeline:
        pipeline.submit_rows("src", rows(100, 0), lambda: acked.append(0))
        wait_for(lambda: acked == [0])
        sink.down.set()
        for k in range(1, 6):
            pipeline.submit_rows("src", rows(100, k * 100), partial(acked.append, k))
        # acknowledged while the database is down: they are safely on disk
        wait_for(lambda: acked == [0, 1, 2, 3, 4, 5])
        assert buffer.readings == 500
        assert not pipeline.database_up
        sink.down.clear()
        pipeline.submit_rows("src", rows(100, 600), lambda: acked.append(6))
        wait_for(lambda: buffer.readings == 0 and len(sink.rows) == 700)
    values = [r[3] for r in sink.rows]
    assert sorted(values) == [float(i) for i in range(700)]
    replayed = [v for v in values if 100 <= v < 600]
    assert replayed == sorted(replayed)  # buffered batches replayed oldest first
    # live batches keep going to the buffer until the next probe finds the database back
    assert pipeline.metrics.value("millwright_ingest_buffer_replayed_readings_total") >= 500


def test_full_buffer_stop_acknowledging_holds_acks_until_the_database_returns(
    tmp_path: Path,
) -> None:
    pipeline, sink, buffer = make_pipeline(tmp_path, max_readings=150)
    acked: list[int] = []
    with pipeline:
        sink.down.set()
        for k in range(3):
            pipeline.submit_rows("src", rows(100, k * 100), partial(acked.append, k))
            time.sleep(0.1)  # one batch each
        wait_for(lambda: acked == [0])
        time.sleep(0.3)
        assert acked == [0]  # batches 1 and 2 are held in memory, unacknowledged
        assert pipeline.metrics.value("millwright_ingest_buffer_refused_batches_total") >= 1
        sink.down.clear()
        wait_for(lambda: acked == [0, 1, 2])
        wait_for(lambda: len(sink.rows) == 300 and buffer.readings == 0)


def test_full_buffer_drop_oldest_is_counted(tmp_path: Path) -> None:
    pipeline, sink, buffer = make_pipeline(tmp_path, max_readings=250, policy="drop_oldest")
    acked: list[int] = []
    with pipeline:
        sink.down.set()
        for k in range(4):
            pipeline.submit_rows("src", rows(100, k * 100), partial(acked.append, k))
            time.sleep(0.1)  # one batch each
        wait_for(lambda: acked == [0, 1, 2, 3])
        assert buffer.readings == 200
        assert pipeline.metrics.value("millwright_ingest_buffer_dropped_readings_total") == 200
        sink.down.clear()
        wait_for(lambda: len(sink.rows) == 200)
    assert sorted(r[3] for r in sink.rows) == [float(i) for i in range(200, 400)]


def test_buffer_survives_a_restart_and_round_trips_columns(tmp_path: Path) -> None:
    cols = ReadingColumns.from_readings(
        [Reading("mä", "s/1", T0 + timedelta(microseconds=i), i * 0.5, 8) for i in range(5)]
    )
    buf = StoreAndForwardBuffer(tmp_path / "b.sqlite", max_readings=10)
    buf.put(cols)
    buf.close()
    again = StoreAndForwardBuffer(tmp_path / "b.sqlite", max_readings=10)
    assert again.readings == 5
    oldest = again.oldest()
    assert oldest is not None
    back = oldest[1]
    assert list(back.machine) == list(cols.machine) and list(back.sensor) == list(cols.sensor)
    assert (back.ts == cols.ts).all() and (back.value == cols.value).all()
    assert (back.quality == cols.quality).all()
    assert (decode_columns(encode_columns(cols)).ts == cols.ts).all()
    with pytest.raises(BufferFull):
        again.put(ReadingColumns.from_readings([Reading("m", "s", T0, 1.0)] * 6))
    assert again.policy is BufferPolicy.STOP_ACKNOWLEDGING


def test_dead_letters_events_and_status_reach_the_sink_even_after_an_outage(
    tmp_path: Path,
) -> None:
    pipeline, sink, _ = make_pipeline(tmp_path)
    acked: list[str] = []
    with pipeline:
        sink.down.set()
        pipeline.dead_letter("src", "a/b", b"x" * 100_000, "bad", lambda: acked.append("dl"))
        pipeline.record_event("m1", "gap", T0, details={"missing": 3}, source="src")
        pipeline.set_machine_status("m1", "offline", T0)
        wait_for(lambda: acked == ["dl"])  # kept in the on-disk buffer
        sink.down.clear()
        wait_for(lambda: sink.letters and sink.events and sink.statuses)
    assert len(sink.letters[0].payload) == pipeline.max_dead_letter_payload
    assert sink.events[0].details == {"missing": 3}
    assert sink.statuses[0].status == "offline"


def test_metrics_and_health_endpoint(tmp_path: Path) -> None:
    pipeline, _, _ = make_pipeline(tmp_path)
    with pipeline:
        pipeline.submit_rows("src", rows(10))
        wait_for(lambda: pipeline.metrics.value("millwright_ingest_readings_written_total") == 10)
        server = MetricsServer(pipeline.metrics, pipeline.health, port=0)
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            text = urllib.request.urlopen(f"{base}/metrics").read().decode()
            health = json.loads(urllib.request.urlopen(f"{base}/health").read())
        finally:
            server.stop()
    assert 'millwright_ingest_readings_received_total{source="src"} 10.0' in text
    assert "millwright_ingest_source_lag_seconds" in text
    assert "millwright_ingest_buffer_oldest_age_seconds" in text
    assert health["ok"] is True and health["database_up"] is True


def test_public_api_is_pinned() -> None:
    import ingest.pipeline

    assert ingest.pipeline.__all__ == ["Callback", "Pipeline", "Row", "to_epoch_us"]
    for name in (
        "start",
        "stop",
        "submit",
        "submit_rows",
        "dead_letter",
        "record_event",
        "set_machine_status",
        "health",
    ):
        assert callable(getattr(Pipeline, name)), name


def test_events_follow_the_acknowledgement_rule_and_survive_a_restart_in_the_buffer(
    tmp_path: Path,
) -> None:
    pipeline, sink, buffer = make_pipeline(tmp_path)
    acked: list[str] = []
    sink.down.set()
    with pipeline:
        pipeline.record_event("m", "gap", T0, details={"missing": 2}, source="src")
        pipeline.set_machine_status("m", "offline", T0)
        pipeline.submit_rows("src", rows(1), lambda: acked.append("msg"))
        wait_for(lambda: acked == ["msg"])  # acknowledged: the event is durable with it
        assert buffer.pending_records == 2 and sink.events == []
    # the collector restarts with the database back: the buffered event is written
    again = StoreAndForwardBuffer(tmp_path / "buf.sqlite")
    assert again.pending_records == 2
    sink.down.clear()
    pipeline2 = Pipeline(sink, again, LetterSink(sink), CollectorMetrics(), flush_interval_s=0.02)
    with pipeline2:
        wait_for(lambda: len(sink.events) == 1 and len(sink.statuses) == 1)
        wait_for(lambda: again.pending_records == 0)
    assert (sink.events[0].kind, sink.events[0].details) == ("gap", {"missing": 2})
    assert sink.statuses[0].status == "offline"
    assert len(sink.rows) == 1


class RefusingSink(FlakySink):
    """Refuses (as the database would, DataRejected) any batch holding a poisoned sensor."""

    def write(self, columns: ReadingColumns) -> WriteResult:
        from millwright.core.storage import DataRejected

        if any(str(s).startswith("poison") for s in columns.sensor):
            raise DataRejected("test: value too long (SQLSTATE 22001)", "22001")
        return super().write(columns)


def test_a_refused_batch_is_bisected_and_the_database_stays_up(tmp_path: Path) -> None:
    sink = RefusingSink()
    buffer = StoreAndForwardBuffer(tmp_path / "buf.sqlite")
    pipeline = Pipeline(
        sink, buffer, LetterSink(sink), CollectorMetrics(), batch_size=1000, flush_interval_s=0.05
    )
    batch = rows(1000)
    for i in (3, 500, 999):
        batch[i] = ("m", f"poison{i}", batch[i][2], 0.0, 0)
    acked: list[int] = []
    with pipeline:
        pipeline.submit_rows("src", batch[:600], lambda: acked.append(1), ref="t/1")
        pipeline.submit_rows("src", batch[600:], lambda: acked.append(2), ref="t/2")
        wait_for(lambda: acked == [1, 2])
        health = pipeline.health()
    assert len(sink.rows) == 997 and buffer.readings == 0
    assert health["database_up"] is True and health["quarantined_readings"] == 3
    assert [(d.topic, d.reason) for d in sink.letters] == [
        ("t/1", "database refused the reading: test: value too long (SQLSTATE 22001)"),
        ("t/1", "database refused the reading: test: value too long (SQLSTATE 22001)"),
        ("t/2", "database refused the reading: test: value too long (SQLSTATE 22001)"),
    ]
    assert [json.loads(d.payload)["sensor"] for d in sink.letters] == [
        "poison3",
        "poison500",
        "poison999",
    ]
