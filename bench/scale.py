"""``millwright bench scale``: N collectors and W workers against one database, side by side.

For each (collectors, workers) pair, in a scratch database of its own:

* publisher processes play ``machines`` × ``sensors`` at ``rate`` readings per sensor per
  second through the real broker (one columnar JSON message per machine per tick, QoS 1);
  plant time runs ``ACCEL`` times faster than wall time so the feature grid (1 plant minute)
  gets a new instant every wall second;
* N ``millwright collect`` processes share one MQTT 5 shared subscription;
* W ``millwright worker --role features`` and W ``millwright worker --role score`` processes
  share the machines through leases (one process per stage, so each stage's CPU is its own);
* before the first reading, the bench registers the workers' feature definition and
  promotes a quick model for it (:mod:`bench.seed_model`: the plant has no failures to
  learn from, and the scoring cost depends on the model's shape, not on what it learnt), so
  the score workers score from the first instant.

Reported per run: readings/s stored, the lag (rows published but not stored) when the
publishers stop and the seconds to drain it, how far the features and the scores are behind
the newest published instant at that moment, end-to-end latency from a reading's publication
to the feature row of its instant and to its risk score (p50/p99), the CPU seconds per 1,000
readings of each stage (publishers, collectors, features, scoring, and the PostgreSQL backends
serving the run's database), and dropped and duplicated rows (both must be 0). Latencies
count the instants published from 5 s on (the first 5-minute feature windows filling are
not steady state).

``risk_scores`` has no insertion time, so a poller notes when each instant's scores appear
(every ``POLL_S``): the risk latency is exact to within that step.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from millwright.core.storage.database import Database
from millwright.core.storage.scratch import scratch_database
from millwright.core.storage.sources import SourceRegistry

ACCEL = 60  # plant seconds per wall second
WINDOW = 50  # unacknowledged QoS 1 messages per publisher
POLL_S = 0.25  # how often the bench looks for new risk scores and samples database CPU


def _publisher(
    host: str,
    port: int,
    run: str,
    machines: list[int],
    sensors: int,
    rate: int,
    seconds: float,
    t0_wall: float,
    t0_plant_ms: int,
    cpu: Any = None,
) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"mwscale-pub-{run}-{machines[0]}",
        protocol=mqtt.MQTTv5,
    )
    slots = threading.Semaphore(WINDOW)
    client.on_publish = lambda *_: slots.release()
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=60)
    client.loop_start()
    step_ms = 1000 * ACCEL // rate
    ticks = int(seconds)
    names = [f"s{s:02d}" for s in range(sensors)]
    for tick in range(ticks):
        due = t0_wall + tick
        time.sleep(max(0.0, due - time.time()))
        first = t0_plant_ms + tick * rate * step_ms
        stamps = [first + i * step_ms for i in range(rate)]
        for m in machines:
            doc = {"ts": stamps, "values": {n: [float(m + i) for i in range(rate)] for n in names}}
            slots.acquire()
            client.publish(f"mwscale/{run}/mws-{run}-m{m:05d}/batch", json.dumps(doc), qos=1)
    for _ in range(WINDOW):
        slots.acquire()
    client.disconnect()
    client.loop_stop()
    if cpu is not None:
        cpu.put(time.process_time())


def _cli(args: list[str], url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "millwright", *args],
            env={**os.environ, "MILLWRIGHT_DATABASE_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = psutil.Process(p.pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _count(database: Database, run: str) -> int:
    return int(database.execute("SELECT count(*) FROM readings")[0][0])


FEATURES: dict[str, Any] = {
    "cadence_minutes": 1,
    "windows_minutes": [5],
    "baseline_hours": 1,
    "chunk_hours": 1,
    "machines_per_chunk": 500,
}
"""The workers' features settings (the bench registers the same definition to seed a model)."""


def _config(
    path: Path, host: str, port: int, run: str, index: int, lease_s: float, partitions: int
) -> None:
    features = "\n".join(f"{k} = {json.dumps(v)}" for k, v in FEATURES.items())
    path.write_text(
        f"""
[ingest.batch]
size = 20000
interval_ms = 200
[ingest.metrics]
enabled = false
[[ingest.mqtt]]
name = "scale"
host = "{host}"
port = {port}
client_id = "mwscale-{run}-{index}"
shared_group = "mwscale{run}"
session_expiry_s = 60
[[ingest.mqtt.subscriptions]]
topic = "mwscale/{run}/{{machine}}/#"
format = "json"
[worker]
health_port = 0
features_every_s = 1.0
score_every_s = 1.0
lease_s = {lease_s}
partitions = {partitions}
[models]
# features may run far behind on a saturated box; score them anyway to measure the lag
no_data_minutes = 100000
[features]
{features}
"""
    )


def _as_url(conninfo: str) -> str:
    """The postgresql:// form the settings ask for, from a libpq key=value string."""
    if conninfo.startswith("postgresql://"):
        return conninfo
    from urllib.parse import quote

    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(conninfo)
    auth = quote(str(p.get("user", "postgres")))
    if p.get("password"):
        auth += ":" + quote(str(p["password"]))
    host = p.get("host", "127.0.0.1")
    return f"postgresql://{auth}@{host}:{p.get('port', 5432)}/{p['dbname']}"


class _Watcher:
    """A thread that notes when risk scores appear and samples the database backends' CPU.

    Backends are the server processes serving the run's database (``pg_stat_activity``):
    the last CPU reading of each is kept, so a backend that ends mid-run still counts."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._stop = threading.Event()
        self.seen: dict[datetime, int] = {}
        self.appeared: list[tuple[datetime, int, float]] = []  # (instant, new rows, wall time)
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self.scoring = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scale-watcher", daemon=True)

    def start(self) -> None:
        self._sample_cpu()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._sample_cpu()

    def database_cpu(self) -> float:
        return sum(self._cpu_last[p] - self._cpu_first.get(p, 0.0) for p in self._cpu_last)

    def _sample_cpu(self) -> None:
        rows = self._database.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
        for (pid,) in rows:
            try:
                t = psutil.Process(int(pid)).cpu_times()
            except psutil.Error:
                continue
            total = t.user + t.system
            if pid not in self._cpu_last and self._thread.is_alive():
                self._cpu_first.setdefault(int(pid), 0.0)  # born during the run: all its CPU
            elif pid not in self._cpu_last:
                self._cpu_first[int(pid)] = total  # alive at the start: only what follows
            self._cpu_last[int(pid)] = total

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            if self.scoring.is_set():
                now = time.time()
                for ts, n in self._database.execute(
                    "SELECT ts, count(*) FROM risk_scores GROUP BY ts"
                ):
                    new = int(n) - self.seen.get(ts, 0)
                    if new > 0:
                        self.appeared.append((ts, new, now))
                        self.seen[ts] = int(n)
            self._sample_cpu()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)


def _one_run(
    admin_url: str,
    mqtt_url: str,
    *,
    machines: int,
    sensors: int,
    rate: int,
    collectors: int,
    workers: int,
    seconds: float,
    publishers: int,
    work_dir: Path,
) -> dict[str, Any]:
    parts = urlsplit(mqtt_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    run = uuid.uuid4().hex[:6]
    with scratch_database(admin_url, "scale") as database:
        url = _as_url(database.url)
        procs_c: list[subprocess.Popen[bytes]] = []
        procs_w: list[subprocess.Popen[bytes]] = []  # features workers
        for i in range(collectors):
            cfg = work_dir / f"{run}-c{i}.toml"
            _config(cfg, host, port, run, i, 6.0, 16)
            procs_c.append(
                _cli(
                    ["--config", str(cfg), "collect", "--shard", f"{i + 1}/{collectors}"],
                    url,
                    work_dir / f"{run}-c{i}.log",
                )
            )
        # the machines exist before anything runs (workers skip machines without readings)
        SourceRegistry(database).ids(
            [(f"mws-{run}-m{m:05d}", f"s{s:02d}") for m in range(machines) for s in range(sensors)]
        )
        # the workers' feature version, and an active model for it before the first reading
        model = _seed(database)
        procs_s: list[subprocess.Popen[bytes]] = []
        for role, procs in (("features", procs_w), ("score", procs_s)):
            for i in range(workers):
                procs.append(
                    _cli(
                        ["--config", str(work_dir / f"{run}-c0.toml"), "worker", "--role", role],
                        url,
                        work_dir / f"{run}-{role}{i}.log",
                    )
                )
        # the shared subscription must exist before publishing, and the workers hold leases
        logs = [(work_dir / f"{run}-c{i}.log", "subscribed to") for i in range(collectors)]
        logs += [
            (work_dir / f"{run}-{role}{i}.log", "holds")
            for role in ("features", "score")
            for i in range(workers)
        ]
        deadline = time.time() + 180
        while time.time() < deadline and not all(
            log.exists() and word in log.read_text() for log, word in logs
        ):
            time.sleep(0.2)
        cpu_c0 = _cpu(procs_c)  # after start-up: the imports are not the stages' work
        cpu_w0 = _cpu(procs_w)
        cpu_s0 = _cpu(procs_s)
        t0_wall = time.time() + 1.0
        t0_plant = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        t0_plant_ms = int(t0_plant.timestamp() * 1000)
        ids = list(range(machines))
        ctx = mp.get_context("spawn")
        cpu_queue = ctx.Queue()
        pubs = []
        for i in range(publishers):
            share = ids[i::publishers]
            pubs.append(
                ctx.Process(
                    target=_publisher,
                    args=(
                        *(host, port, run, share, sensors, rate, seconds),
                        *(t0_wall, t0_plant_ms, cpu_queue),
                    ),
                )
            )
        for pub in pubs:
            pub.start()
        watcher = _Watcher(database)
        watcher.start()
        steady_from = t0_wall + 5  # the first feature windows fill: not steady state yet
        watcher.scoring.set()
        for pub in pubs:
            pub.join(seconds + 120)
        t_pub_end = time.time()
        publish_s = t_pub_end - t0_wall  # over ``seconds`` when the publishers fell behind
        published = machines * sensors * rate * int(seconds)
        at_end = _count(database, run)
        lag = published - at_end
        last_instant = t0_plant + timedelta(seconds=(int(seconds) - 1) * ACCEL)
        behind = _behind(database, last_instant)
        drained = at_end
        deadline = time.time() + 60
        while drained < published and time.time() < deadline:
            time.sleep(0.25)
            drained = _count(database, run)
        drain_s = time.time() - t_pub_end
        time.sleep(3.0)  # workers catch up with the last instants
        cpu_c = _cpu(procs_c) - cpu_c0
        cpu_w = _cpu(procs_w) - cpu_w0
        cpu_s = _cpu(procs_s) - cpu_s0
        watcher.stop()
        cpu_pub = 0.0
        while not cpu_queue.empty():
            cpu_pub += cpu_queue.get()
        for p in procs_c + procs_w + procs_s:
            p.send_signal(signal.SIGTERM)
        for p in procs_c + procs_w + procs_s:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        stored = _count(database, run)
        distinct = int(
            database.execute(
                "SELECT count(*) FROM (SELECT DISTINCT machine_id, sensor_id, ts FROM readings) d"
            )[0][0]
        )
        # a feature instant t is complete when readings of plant time t were published
        rows = database.execute(
            "SELECT ts, created_at FROM features WHERE ts >= %s", (t0_plant + timedelta(minutes=1),)
        )
        latencies = []
        for ts, created in rows:
            published_at = t0_wall + (ts - t0_plant).total_seconds() / ACCEL
            if published_at >= steady_from:
                latencies.append(created.timestamp() - published_at)
        scores = database.execute("SELECT count(*) FROM risk_scores")[0][0]
    risk_latencies: list[float] = []
    for ts, new, seen_at in watcher.appeared:
        published_at = t0_wall + (ts - t0_plant).total_seconds() / ACCEL
        if published_at >= steady_from:
            risk_latencies += [seen_at - published_at] * new
    elapsed = seconds + drain_s
    return {
        "collectors": collectors,
        "workers": workers,
        "published": published,
        "stored": stored,
        "readings_per_s": round(stored / elapsed),
        "publish_seconds": round(publish_s, 1),
        "published_per_s": round(published / max(publish_s, 1e-9)),
        "lag_at_end_rows": lag,
        "drain_seconds": round(drain_s, 2),
        "latency_to_features_p50_s": _percentile(latencies, 0.5),
        "latency_to_features_p99_s": _percentile(latencies, 0.99),
        "feature_rows": len(latencies),
        "features_behind_s": behind["features"],
        "scores_behind_s": behind["scores"],
        "model": model,
        "risk_scores": int(scores),
        "latency_to_risk_p50_s": _percentile(risk_latencies, 0.5),
        "latency_to_risk_p99_s": _percentile(risk_latencies, 0.99),
        "cpu_s_per_1000_readings": {
            name: round(cpu / max(stored, 1) * 1000, 4)
            for name, cpu in (
                ("publish", cpu_pub),
                ("collect", cpu_c),
                ("features", cpu_w),
                ("score", cpu_s),
                ("database", watcher.database_cpu()),
            )
        },
        "dropped": published - stored,
        "duplicated": stored - distinct,
    }


def _seed(database: Database) -> str:
    """Register the workers' feature definition and promote the bench's quick model for it."""
    from bench.seed_model import seed_active_model
    from features import FeaturesConfig, FeatureStore, resolve_definition

    definition = resolve_definition(database, FeaturesConfig.model_validate(FEATURES))
    return seed_active_model(database, FeatureStore(database).register(definition))


def _behind(database: Database, last_instant: datetime) -> dict[str, float | None]:
    """Wall seconds the newest features and scores trail the newest published instant."""
    out: dict[str, float | None] = {}
    for name, query in (
        ("features", "SELECT max(ts) FROM features"),
        ("scores", "SELECT max(ts) FROM risk_scores"),
    ):
        newest = database.execute(query)[0][0]
        out[name] = (
            None if newest is None else round((last_instant - newest).total_seconds() / ACCEL, 1)
        )
    return out


def run_scale_benchmark(
    admin_url: str,
    mqtt_url: str,
    *,
    machines: int,
    sensors: int,
    rate: int,
    collectors: list[int],
    workers: list[int],
    seconds: float,
    publishers: int = 2,
    keep_logs: bool = False,
) -> dict[str, Any]:
    """Every (collectors, workers) pair, one after the other, each on a fresh database."""
    runs = []
    tmp = Path(tempfile.mkdtemp(prefix="mw-scale-"))
    try:
        for n in collectors:
            for w in workers:
                runs.append(
                    _one_run(
                        admin_url,
                        mqtt_url,
                        machines=machines,
                        sensors=sensors,
                        rate=rate,
                        collectors=n,
                        workers=w,
                        seconds=seconds,
                        publishers=publishers,
                        work_dir=tmp,
                    )
                )
    finally:
        if not keep_logs:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "machines": machines,
        "sensors": sensors,
        "rate": rate,
        "seconds": seconds,
        "offered_readings_per_s": machines * sensors * rate,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
