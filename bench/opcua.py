"""``millwright bench opcua``: sustained OPC-UA collection into the database, with loss.

A server process publishes ``nodes`` variables changing at ``rate_hz``; this process runs the
real collector (OPC-UA source → shared pipeline → bulk writer) against it. Reported: offered
and stored values per second, values lost (published − stored, every value is unique per node
and timestamp), server queue overflows, the collector process's CPU as a share of one core
(the server's CPU is in the other process and not counted), and — same run, same database —
the bulk writer's raw rate, the ceiling any collector can reach.
"""

from __future__ import annotations

import logging
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


def source_config(port: int, nodes: int) -> OpcUaSourceConfig:
    per_machine = max(1, nodes // MACHINES)
    return OpcUaSourceConfig.model_validate(
        {
            "name": "bench-opcua",
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
                for i in range(nodes)
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
) -> dict[str, Any]:
    """Run the benchmark; figures as a JSON-able dict."""
    _clear(database)
    ctx = multiprocessing.get_context("spawn")
    ready, go, published = ctx.Event(), ctx.Event(), ctx.Value("q", 0)
    port = _free_port()
    server = ctx.Process(
        target=serve, args=(port, nodes, rate_hz, seconds, ready, go, published), daemon=True
    )
    server.start()
    if not ready.wait(120):
        server.kill()
        raise RuntimeError("the benchmark OPC-UA server did not start")
    with tempfile.TemporaryDirectory(prefix="mw-bench-opcua-") as tmp:
        runtime = start_runtime(
            IngestConfig(), database.url, data_dir=Path(tmp), serve_metrics=False
        )
        collector = OpcUaCollector(
            [source_config(port, nodes)], runtime.pipeline, metrics=runtime.metrics
        )
        try:
            collector.start()
            if not collector.wait_ready(60):
                raise RuntimeError("the collector did not subscribe in time")
            time.sleep(1.0)  # initial values in
            me = psutil.Process()
            server_proc = psutil.Process(server.pid)
            cpu0, server_cpu0 = me.cpu_times(), server_proc.cpu_times()
            started = time.perf_counter()
            go.set()
            time.sleep(seconds)
            cpu1, load_wall = me.cpu_times(), time.perf_counter() - started
            try:
                server_cpu = sum(server_proc.cpu_times()[:2]) - sum(server_cpu0[:2])
            except psutil.NoSuchProcess:
                server_cpu = float("nan")
            server.join(60)
            source = collector.sources[0]
            # drain: wait until nothing new arrives
            last, quiet = -1, 0
            while quiet < 3:
                time.sleep(0.5)
                quiet = quiet + 1 if source.stats.received == last else 0
                last = source.stats.received
            elapsed_send = seconds
            wall = time.perf_counter() - started
        finally:
            collector.stop()
            runtime.stop()
            if server.is_alive():
                server.kill()
        stats = collector.sources[0].stats
    stored = _stored(database)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    from bench.ingest_writer import run_ingest_benchmark

    writer = run_ingest_benchmark(database, rows=writer_rows)
    _clear(database)
    pub = int(published.value)
    return {
        "nodes": nodes,
        "rate_hz": rate_hz,
        "seconds": seconds,
        "offered_values_per_s": pub / elapsed_send,
        "published": pub,
        "received": stats.received,
        "stored": stored,
        "stored_values_per_s": stored / elapsed_send,
        "lost": pub - stored,
        "queue_overflows": stats.overflows,
        "client_dropped": stats.client_dropped,
        "subscriptions_recreated": stats.recreated,
        "gaps": stats.gaps,
        "collector_cpu_s": cpu,
        "collector_cpu_share": cpu / load_wall,
        "server_cpu_share": server_cpu / load_wall,
        "wall_s": wall,
        "cores": psutil.cpu_count(),
        "writer_rows_per_s": writer["writer_rows_per_s"],
    }
