"""``millwright bench mqtt``: sustained MQTT → PostgreSQL throughput through the real broker.

Two phases, each with a fresh collector (MQTT 5, QoS 1, manual acks after commit) and fresh
machines, so the count of stored rows is exact and loss is ``published - stored``:

* ``single``: one reading per message, ``{"sensor": s, "ts": ms, "value": v}`` under
  ``mwbench/<run>/<machine>/`` (the collector subscribes to ``<machine>/#``);
* ``batched``: columnar JSON, ``batch`` readings per message (one machine, 20 sensors).

Publishers are separate processes (so they do not share the collector's GIL) that keep at
most ``window`` QoS 1 messages unacknowledged each — far below paho's 65,535 message ids.
The rate is stored readings over the time from the first publish to the last commit. CPU is
this process's user+system time (the collector: paho thread, decoders, writer thread) per
1,000 messages. The bulk writer's own rate is measured in the same run for comparison.

Beside each phase, the same load goes to a *bare paho subscriber* (QoS 1, paho's automatic
acknowledgement, a counter in ``on_message``, nothing decoded or stored): the ceiling of a
Python MQTT client on this machine, so the collector's figure reads as a share of it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import resource
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.ingest_writer import run_ingest_benchmark
from ingest.config import IngestConfig, MqttSourceConfig
from ingest.mqtt import MqttCollector
from ingest.runtime import start_runtime
from millwright.core.storage import Database

log = logging.getLogger(__name__)

MACHINES = 50
SENSORS = 20
WINDOW = 20  # unacknowledged QoS 1 messages per paho publisher (Mosquitto's Receive Maximum)
CHUNK = 2_000  # messages per mosquitto_pub process: far below 65,535 packet ids
BACKLOG = 10_000  # messages published but not yet committed (and at most BACKLOG_READINGS)
BACKLOG_READINGS = 400_000


@dataclass(frozen=True)
class _Load:
    """One phase's offered load: what every kind of publisher needs to know."""

    host: str
    port: int
    run: str
    kind: str  # "single" or "batched"
    messages: int
    batch: int  # readings per batched message
    publishers: int
    base_ms: int  # the first reading's timestamp


def _readings_per_message(kind: str, batch: int) -> int:
    return 1 if kind == "single" else (batch // SENSORS) * SENSORS


def _batch_doc(first_ms: int, per_ts: int) -> dict[str, Any]:
    """Columnar JSON of ``per_ts`` timestamps from ``first_ms`` for all SENSORS."""
    return {
        "ts": list(range(first_ms, first_ms + per_ts)),
        "values": {f"s{s:02d}": list(range(per_ts)) for s in range(SENSORS)},
    }


def _publish(load: _Load, part: int, started: Any) -> None:
    """Publisher process: its share of the messages, throttled to WINDOW in flight."""
    run, base_ms = load.run, load.base_ms
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"mwbench-pub-{run}-{load.kind}-{part}",
        protocol=mqtt.MQTTv5,
    )
    slots = threading.Semaphore(WINDOW)
    client.on_publish = lambda *_: slots.release()
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.connect(load.host, load.port, keepalive=60)
    client.loop_start()
    started.wait()
    series = MACHINES * SENSORS
    mine = range(part, load.messages, load.publishers)
    if load.kind == "single":
        for i in mine:
            s, step = i % series, i // series
            sensor = s % SENSORS  # in the payload: the subscription is <machine>/#
            topic = f"mwbench/{run}/mwbench-{run}-m{s // SENSORS:03d}/s{sensor:02d}"
            payload = b'{"sensor": "s%02d", "ts": %d, "value": %d}' % (sensor, base_ms + step, i)
            slots.acquire()
            client.publish(topic, payload, qos=1)
    else:
        per_ts = load.batch // SENSORS
        for i in mine:
            machine, block = i % MACHINES, i // MACHINES
            doc = _batch_doc(base_ms + block * per_ts, per_ts)
            slots.acquire()
            client.publish(
                f"mwbench/{run}/mwbench-{run}-m{machine:03d}/batch", json.dumps(doc), qos=1
            )
    for _ in range(WINDOW):  # wait for every PUBACK
        slots.acquire()
    client.disconnect()
    client.loop_stop()


def _lines(load: _Load, count: int) -> bytes:
    """One mosquitto_pub -l input: ``count`` messages for one machine, one per line."""
    if load.kind == "single":
        return b"".join(
            b'{"sensor": "s%02d", "ts": %d, "value": %d}\n' % (i % SENSORS, load.base_ms + i, i)
            for i in range(count)
        )
    per_ts = load.batch // SENSORS
    return b"".join(
        json.dumps(_batch_doc(load.base_ms + i * per_ts, per_ts)).encode() + b"\n"
        for i in range(count)
    )


def _mosquitto_pub_load(
    load: _Load, work: Path, committed: Callable[[], float]
) -> Callable[[], None]:
    """Prepare input files now; the returned function publishes them (``publishers`` at a
    time) with mosquitto_pub, QoS 1, MQTT 5, and returns when every PUBACK is in.

    A chunk starts only while fewer than BACKLOG messages are published but not committed:
    a broker holds at most Receive Maximum in flight plus ``max_queued_messages`` (1000 by
    default in Mosquitto) for a subscriber and *drops* the rest, so an open-loop publisher
    faster than the collector would measure the broker's queue policy, not the collector."""
    exe = shutil.which("mosquitto_pub")
    assert exe is not None
    host, port, run, messages = load.host, load.port, load.run, load.messages
    work.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Path, int]] = []
    per_message = _readings_per_message(load.kind, load.batch)
    backlog = max(2, min(BACKLOG, BACKLOG_READINGS // per_message))
    size = max(1, min(CHUNK, backlog // 2))
    for chunk, start in enumerate(range(0, messages, size)):
        count = min(size, messages - start)
        path = work / f"{load.kind}-{chunk}.txt"
        path.write_bytes(_lines(load, count))
        jobs.append((f"mwbench/{run}/mwbench-{run}-m{chunk:03d}/data", path, count))

    def publish() -> None:
        pending = list(jobs)
        lock = threading.Lock()
        started = [0]

        def worker(slot: int) -> None:
            while True:
                with lock:
                    if not pending:
                        return
                    while started[0] - committed() > backlog:
                        time.sleep(0.02)
                    topic, path, count = pending.pop(0)
                    started[0] += count
                with path.open("rb") as stdin:
                    subprocess.run(
                        [
                            exe,
                            "-h",
                            host,
                            "-p",
                            str(port),
                            "-q",
                            "1",
                            "-V",
                            "mqttv5",
                            "-i",
                            f"mwbench-pub-{run}-{slot}",
                            "-t",
                            topic,
                            "-l",
                        ],
                        stdin=stdin,
                        check=True,
                        capture_output=True,
                        timeout=600,
                    )

        threads = [
            threading.Thread(target=worker, args=(i,), daemon=True) for i in range(load.publishers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return publish


def _paho_load(load: _Load) -> Callable[[], None]:
    """Fork ``publishers`` paho processes now (connected, waiting); the returned function
    starts them and returns when they are done."""
    ctx = mp.get_context("fork")
    started = ctx.Event()
    procs = [ctx.Process(target=_publish, args=(load, p, started)) for p in range(load.publishers)]
    for proc in procs:
        proc.start()
    time.sleep(0.5)  # connected

    def publish() -> None:
        started.set()
        for proc in procs:
            proc.join(600)

    return publish


def _prepare_load(
    load: _Load, work: Path, committed: Callable[[], float]
) -> tuple[str, Callable[[], None]]:
    """mosquitto_pub where it is installed (C, no GIL), paho processes otherwise: the
    publisher's name and the function that publishes the load."""
    if shutil.which("mosquitto_pub"):
        return "mosquitto_pub", _mosquitto_pub_load(load, work, committed)
    return "paho", _paho_load(load)


def _base_ms() -> int:
    return int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)


def _phase(
    database: Database,
    host: str,
    port: int,
    kind: str,
    messages: int,
    batch: int,
    publishers: int,
    data_dir: Path,
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    readings_per_message = _readings_per_message(kind, batch)
    expected = messages * readings_per_message
    config = IngestConfig.model_validate(
        {"batch": {"size": 5000, "interval_ms": 200}, "metrics": {"enabled": False}}
    )
    runtime = start_runtime(config, database.url, data_dir=data_dir, serve_metrics=False)
    source = MqttSourceConfig(
        name=f"bench-{kind}",
        host=host,
        port=port,
        client_id=f"mwbench-{run}",
        session_expiry_s=30,
        subscriptions=[{"topic": f"mwbench/{run}/{{machine}}/#", "format": "json"}],  # type: ignore[list-item]
    )
    collector = MqttCollector(source, runtime.pipeline, runtime.metrics)
    collector.start()
    if not collector.wait_connected(10):
        raise RuntimeError(f"bench collector could not connect to {host}:{port}")
    time.sleep(0.3)
    load = _Load(host, port, run, kind, messages, batch, publishers, _base_ms())

    def committed() -> float:
        return (
            runtime.metrics.value("millwright_ingest_readings_written_total") / readings_per_message
        )

    publisher_name, publish = _prepare_load(load, data_dir / "load", committed)
    publisher = threading.Thread(target=publish, name="bench-publish")
    cpu0 = _cpu()
    t0 = time.perf_counter()
    publisher.start()
    last, last_change, t_done = 0.0, time.perf_counter(), None
    while True:
        time.sleep(0.05)
        now_written = runtime.metrics.written_total()
        now = time.perf_counter()
        if now_written != last:
            last, last_change = now_written, now
        if now_written >= expected:
            t_done = now
            break
        if now - last_change > 15:
            break
    elapsed = (t_done or last_change) - t0
    cpu = _cpu() - cpu0
    publisher.join(60)
    collector.stop()
    runtime.stop()
    stored = int(
        database.execute(
            "SELECT count(*) FROM readings r JOIN machines m ON m.id = r.machine_id"
            " WHERE m.name LIKE %s",
            (f"mwbench-{run}-%",),
        )[0][0]
    )
    _cleanup(database, run)
    return {
        "publisher": publisher_name,
        "messages": messages,
        "readings": expected,
        "stored": stored,
        "lost": expected - stored,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(messages * stored / expected / elapsed),
        "readings_per_s": round(stored / elapsed),
        "cpu_ms_per_1000_messages": round(cpu * 1000 / messages * 1000, 2),
        "collector_cpu_share": round(cpu / elapsed, 3),
    }


def _bare_phase(
    host: str, port: int, kind: str, messages: int, batch: int, publishers: int, data_dir: Path
) -> dict[str, Any]:
    """The same load to a plain paho subscriber that only counts: the client's ceiling."""
    run = uuid.uuid4().hex[:8]
    readings_per_message = _readings_per_message(kind, batch)
    received = [0]
    done = threading.Event()

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        received[0] += 1
        if received[0] >= messages:
            done.set()

    subscribed = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"mwbench-bare-{run}", protocol=mqtt.MQTTv5
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    props = Properties(PacketTypes.CONNECT)
    props.ReceiveMaximum = 65_535  # as the collector asks: the broker's queue is not the limit
    client.connect(host, port, keepalive=60, properties=props)
    client.loop_start()
    client.subscribe(f"mwbench/{run}/#", qos=1)
    if not subscribed.wait(10):
        raise RuntimeError(f"bare subscriber could not subscribe at {host}:{port}")
    load = _Load(host, port, run, kind, messages, batch, publishers, _base_ms())
    _, publish = _prepare_load(load, data_dir / "load", lambda: float(received[0]))
    publisher = threading.Thread(target=publish, name="bench-publish-bare", daemon=True)
    t0 = time.perf_counter()
    publisher.start()
    last, last_change = 0, t0
    while not done.wait(0.05):
        now = time.perf_counter()
        if received[0] != last:
            last, last_change = received[0], now
        elif now - last_change > 15:
            break
    elapsed = (time.perf_counter() if done.is_set() else last_change) - t0
    publisher.join(60)
    client.disconnect()
    client.loop_stop()
    got = min(received[0], messages)
    return {
        "messages": messages,
        "received": got,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(got / elapsed),
        "readings_per_s": round(got * readings_per_message / elapsed),
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cleanup(database: Database, run: str) -> None:
    """Remove the run's readings and machines (names are unique to the run)."""
    with database.connection() as conn:
        conn.execute(
            "DELETE FROM readings WHERE machine_id IN (SELECT id FROM machines WHERE name LIKE %s)",
            (f"mwbench-{run}-%",),
        )
        conn.execute("DELETE FROM machines WHERE name LIKE %s", (f"mwbench-{run}-%",))


def run_mqtt_benchmark(
    database: Database,
    *,
    mqtt_url: str = "mqtt://127.0.0.1:1883",
    messages: int = 200_000,
    batched_readings: int = 2_000_000,
    batch: int = 500,
    publishers: int = 4,
    data_dir: Path | None = None,
    writer_rows: int = 500_000,
) -> dict[str, Any]:
    parts = urlsplit(mqtt_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    batched_messages = max(1, batched_readings // _readings_per_message("batched", batch))
    with tempfile.TemporaryDirectory(prefix="mwbench-") as tmp:
        work = Path(tmp)
        single = _phase(database, host, port, "single", messages, 1, publishers, work / "a")
        bare_single = _bare_phase(host, port, "single", messages, 1, publishers, work / "c")
        batched = _phase(
            database, host, port, "batched", batched_messages, batch, publishers, work / "b"
        )
        bare_batched = _bare_phase(
            host, port, "batched", batched_messages, batch, publishers, work / "d"
        )
    writer = run_ingest_benchmark(database, rows=writer_rows)
    return {
        "single": single,
        "batched": batched,
        "bare_paho": {"single": bare_single, "batched": bare_batched},
        "writer": writer,
    }
