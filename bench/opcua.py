"""``millwright bench opcua``: sustained OPC-UA collection into the database, with loss.

Server processes (``servers`` of them, by default one per 1,000 nodes: asyncua's server is
single-threaded Python and tops out near 10,000 writes/s, so one server would be the limit,
not the collector) publish ``nodes`` variables changing at ``rate_hz`` between them; this
process runs the real collector — one OPC-UA source per server, one shared pipeline, one
bulk writer — against them. Reported: offered and stored values per second; values lost
(published − stored, every value is unique per node and timestamp) and where (discarded by
the servers' item queues, which asyncua does silently, or never stored after reaching the
collector); the collector process's CPU in seconds, per value, and as a share of one core
over the offered load's duration (and over the whole run until the last value was in; the
servers' CPU is in their own processes, reported apart); and — same run, same database —
the bulk writer's raw rate, the ceiling any collector can reach.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.opcua_server import serve
from ingest.config import IngestConfig
from ingest.opcua.config import OpcUaSourceConfig
from ingest.opcua.runner import OpcUaCollector
from ingest.runtime import start_runtime
from millwright.core.storage import Database

log = logging.getLogger(__name__)

MACHINE_PREFIX = "bench-opcua-"
MACHINES = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clear(database: Database) -> None:
    """Remove the benchmark's machines and their rows (events and sensors cascade)."""
    pattern = (MACHINE_PREFIX + "%",)
    database.execute(
        "DELETE FROM readings WHERE machine_id IN (SELECT id FROM machines WHERE name LIKE %s)",
        pattern,
    )
    database.execute("DELETE FROM machines WHERE name LIKE %s", pattern)


def _stored(database: Database) -> int:
    rows = database.execute(
        "SELECT count(*) FROM readings r JOIN machines m ON m.id = r.machine_id"
        " WHERE m.name LIKE %s AND r.value >= 1",
        (MACHINE_PREFIX + "%",),
    )
    return int(rows[0][0])


def source_config(
    port: int, nodes: int, *, first: int = 0, total: int | None = None, name: str = "bench-opcua"
) -> OpcUaSourceConfig:
    """Nodes ``first .. first+nodes`` of ``total`` (machines spread over all of them)."""
    per_machine = max(1, (total or nodes) // MACHINES)
    return OpcUaSourceConfig.model_validate(
        {
            "name": name,
            "endpoint": f"opc.tcp://127.0.0.1:{port}/bench/",
            "publishing_interval_ms": 100,
            "sampling_interval_ms": 0,
            "queue_size": 20,
            "nodes": [
                {
                    "node_id": f"ns=2;s=bench.{i:04d}",
                    "machine": f"{MACHINE_PREFIX}m{i // per_machine:03d}",
                    "sensor": f"s{i % per_machine:03d}",
                }
                for i in range(first, first + nodes)
            ],
        }
    )


def run_opcua_benchmark(
    database: Database,
    *,
    nodes: int = 500,
    rate_hz: float = 10.0,
    seconds: float = 60.0,
    writer_rows: int = 500_000,
    servers: int | None = None,
) -> dict[str, Any]:
    """Run the benchmark; figures as a JSON-able dict."""
    _clear(database)
    count = servers or max(1, math.ceil(nodes / 1000))
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    release = ctx.Event()
    slices = [(k * nodes // count, (k + 1) * nodes // count) for k in range(count)]
    ports = [_free_port() for _ in slices]
    readies = [ctx.Event() for _ in slices]
    publisheds = [ctx.Value("q", 0) for _ in slices]
    discardeds = [ctx.Value("q", 0) for _ in slices]
    procs = [
        ctx.Process(
            target=serve,
            args=(port, end - first, rate_hz, seconds, ready, go, pub, first, dropped, release),
            daemon=True,
        )
        for port, (first, end), ready, pub, dropped in zip(
            ports, slices, readies, publisheds, discardeds, strict=True
        )
    ]
    for proc in procs:
        proc.start()
    if not all(ready.wait(180) for ready in readies):
        for proc in procs:
            proc.kill()
        raise RuntimeError("the benchmark OPC-UA servers did not start")
    sources = [
        source_config(port, end - first, first=first, total=nodes, name=f"bench-opcua-{k}")
        for k, (port, (first, end)) in enumerate(zip(ports, slices, strict=True))
    ]
    with tempfile.TemporaryDirectory(prefix="mw-bench-opcua-") as tmp:
        runtime = start_runtime(
            IngestConfig(), database.url, data_dir=Path(tmp), serve_metrics=False
        )
        collector = OpcUaCollector(sources, runtime.pipeline, metrics=runtime.metrics)
        try:
            collector.start()
            if not collector.wait_ready(60):
                raise RuntimeError("the collector did not subscribe in time")
            time.sleep(1.0)  # initial values in
            initial = sum(s.stats.received for s in collector.sources)
            me = psutil.Process()
            server_procs = [psutil.Process(p.pid) for p in procs]
            cpu0 = me.cpu_times()
            server_cpu0 = [sum(p.cpu_times()[:2]) for p in server_procs]
            started = time.perf_counter()
            go.set()
            time.sleep(seconds)
            server_cpu = 0.0
            for proc_info, before in zip(server_procs, server_cpu0, strict=True):
                try:
                    server_cpu += sum(proc_info.cpu_times()[:2]) - before
                except psutil.NoSuchProcess:
                    server_cpu = float("nan")
            server_wall = time.perf_counter() - started
            ticks = 0
            while ticks * (1.0 / rate_hz) < seconds:  # the servers' own tick rule
                ticks += 1
            due = [(end - first) * ticks for first, end in slices]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and any(
                int(p.value) < d for p, d in zip(publisheds, due, strict=True)
            ):
                time.sleep(0.1)  # a server still writing (behind on a loaded machine)

            def received() -> int:
                return sum(s.stats.received for s in collector.sources)

            # drain: wait until nothing new arrives and the pipeline has written it all
            last, quiet = -1, 0
            while quiet < 3:
                time.sleep(0.5)
                busy = runtime.pipeline.health()["pending_readings"] > 0
                quiet = quiet + 1 if received() == last and not busy else 0
                last = received()
            # CPU until the last value was in, less the quiet polls that found it in
            cpu1, load_wall = me.cpu_times(), time.perf_counter() - started - 1.5
            elapsed_send = seconds
            wall = time.perf_counter() - started
        finally:
            collector.stop()
            runtime.stop()
            release.set()
            for proc in procs:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()
        all_stats = [s.stats for s in collector.sources]
    stored = _stored(database)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    from bench.ingest_writer import run_ingest_benchmark

    writer = run_ingest_benchmark(database, rows=writer_rows)
    _clear(database)
    pub = sum(int(p.value) for p in publisheds)
    return {
        "nodes": nodes,
        "rate_hz": rate_hz,
        "seconds": seconds,
        "servers": count,
        "offered_values_per_s": pub / elapsed_send,
        "published": pub,
        "received": sum(s.received for s in all_stats) - initial,
        "stored": stored,
        "stored_values_per_s": stored / elapsed_send,
        "lost": pub - stored,
        "server_discarded": sum(int(d.value) for d in discardeds),
        "lost_after_receipt": sum(s.received for s in all_stats) - initial - stored,
        "queue_overflows": sum(s.overflows for s in all_stats),
        "client_dropped": sum(s.client_dropped for s in all_stats),
        "subscriptions_recreated": sum(s.recreated for s in all_stats),
        "gaps": sum(s.gaps for s in all_stats),
        "collector_cpu_s": cpu,
        # while the load was offered (the values arrive within it when the collector keeps up)
        "collector_cpu_share": cpu / seconds,
        "collector_cpu_share_whole_run": cpu / load_wall,  # until the last value was in
        "collector_cpu_us_per_value": cpu / max(stored, 1) * 1e6,
        "server_cpu_share": server_cpu / server_wall,
        "wall_s": wall,
        "cores": psutil.cpu_count(),
        "writer_rows_per_s": writer["writer_rows_per_s"],
    }
