"""Workers share machine partitions through leases; a killed worker's partitions move over
within the expiry and the rows come out exactly as one process would have written them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.config import FeaturesConfig
from features.jobs import FeatureJob
from millwright.core.leases import LeaseSet, machine_partitions, machines_in
from millwright.core.storage import Database, ReadingsWriter
from tests.features.helpers import T0

FEATURES = FeaturesConfig(cadence_minutes=10, windows_minutes=[60], baseline_hours=2, chunk_hours=6)
LEASE_S = 2.0


def _readings(minutes_from: int, minutes_to: int) -> pd.DataFrame:
    parts = []
    for m in range(1, 5):
        minutes = np.arange(minutes_from, minutes_to, 2)
        for sensor, base in (("a", 10.0), ("b", 500.0)):
            parts.append(
                pd.DataFrame(
                    {
                        "machine": f"lm{m}",
                        "sensor": sensor,
                        "ts": pd.Timestamp(T0) + pd.to_timedelta(minutes, unit="min"),
                        "value": base + 0.01 * m * minutes + np.sin(minutes / 30.0),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _holders(database: Database) -> dict[str, list[str]]:
    rows = database.execute(
        "SELECT holder, partition FROM worker_leases WHERE role = 'features'"
        " AND holder IS NOT NULL AND expires_at > now() ORDER BY partition"
    )
    out: dict[str, list[str]] = {}
    for holder, partition in rows:
        out.setdefault(holder, []).append(partition)
    return out


def test_leases_are_shared_fairly_and_expire(database: Database) -> None:
    parts = machine_partitions(8)
    a = LeaseSet(database, "worker-a", "features", lease_s=1.0)
    b = LeaseSet(database, "worker-b", "features", lease_s=1.0)
    assert a.heartbeat(parts) == frozenset(parts)  # alone: everything
    assert b.heartbeat(parts) == frozenset()  # nothing free yet
    assert a.heartbeat(parts) == frozenset(parts[:4])  # two alive: gives half back
    assert b.heartbeat(parts) == frozenset(parts[4:])
    assert a.heartbeat(parts) == frozenset(parts[:4])  # stable
    time.sleep(1.2)  # a stops heartbeating: its member row and its leases expire
    assert b.heartbeat(parts) == frozenset(parts)
    generations = database.execute(
        "SELECT partition, generation FROM worker_leases WHERE role = 'features' ORDER BY 1"
    )
    assert [g for _, g in generations] == [2] * 8  # every partition changed hands twice
    b.release_all()
    assert database.execute("SELECT count(*) FROM worker_leases WHERE holder IS NOT NULL") == [(0,)]


def test_machines_follow_their_partition(database: Database) -> None:
    ReadingsWriter(database).write(_readings(0, 4))
    ids = [int(r[0]) for r in database.execute("SELECT id FROM machines ORDER BY id")]
    parts = machine_partitions(3)
    covered = [machines_in(database, [p], 3) for p in parts]
    assert sorted(m for ms in covered for m in ms) == ids
    assert all(m % 3 == i for i, ms in enumerate(covered) for m in ms)


def _start_worker(url: str, config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "millwright",
                "--config",
                str(config),
                "worker",
                "--role",
                "features",
            ],
            env={**os.environ, "MILLWRIGHT_DATABASE_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _features(database: Database) -> set[tuple[Any, ...]]:
    rows = database.execute('SELECT ts, machine_id, version, "values" FROM features')
    # NaN marks a statistic without data; NaN != NaN, so compare it as None
    return {(ts, m, v, tuple(None if x != x else x for x in values)) for ts, m, v, values in rows}


@pytest.mark.timeout(180)
def test_killed_worker_hands_its_partitions_over_with_exact_rows(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    ReadingsWriter(database).write(_readings(0, 720))
    config = tmp_path / "plant.toml"
    config.write_text(
        "[worker]\nhealth_port = 0\nfeatures_every_s = 0.5\n"
        f"lease_s = {LEASE_S}\npartitions = 4\n"
        "[features]\ncadence_minutes = 10\nwindows_minutes = [60]\nbaseline_hours = 2\n"
        "chunk_hours = 6\n"
    )
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [_start_worker(database_url, config, log) for log in logs]
    try:
        shared = _wait(
            lambda: (
                (h := _holders(database))
                and len(h) == 2
                and sorted(map(len, h.values())) == [2, 2]
                and h
            ),
            60,
            "two workers holding two partitions each",
        )
        _wait(
            lambda: (
                database.execute(
                    "SELECT count(*) FROM feature_watermarks WHERE computed_through >= %s",
                    (T0 + pd.Timedelta(minutes=700),),
                )[0][0]
                == 4
            ),
            60,
            "features of the first 12 hours for every machine",
        )
        victim = workers[0]
        victim_name = next(h for h in shared if h.endswith(f":{victim.pid}"))
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed_at = database.execute("SELECT now()")[0][0]
        ReadingsWriter(database).write(_readings(720, 1440))  # the plant goes on
        survivor = _wait(
            lambda: (
                (h := _holders(database)) and len(h) == 1 and len(next(iter(h.values()))) == 4 and h
            ),
            30,
            "the survivor holding every partition",
        )
        assert victim_name not in survivor
        taken = database.execute(
            "SELECT max(acquired_at) FROM worker_leases WHERE role = 'features'"
        )[0][0]
        handover_s = (taken - killed_at).total_seconds()
        # within the expiry plus one heartbeat (lease_s / 3) and a scheduling margin
        assert handover_s <= LEASE_S + LEASE_S / 3 + 2.0, handover_s
        end = T0 + pd.Timedelta(minutes=1430)
        _wait(
            lambda: (
                database.execute(
                    "SELECT count(*) FROM feature_watermarks WHERE computed_through >= %s", (end,)
                )[0][0]
                == 4
            ),
            90,
            "features of the whole day for every machine after the hand-over",
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
    written = _features(database)
    count = database.execute("SELECT count(*) FROM features")[0][0]
    assert count == len(written)  # no duplicate rows
    # exactly the rows one process computes from the same readings: no gap, nothing extra
    database.execute("DELETE FROM features")
    database.execute("DELETE FROM feature_watermarks")
    FeatureJob(database, FEATURES).run()
    again = _features(database)
    assert again == written
    assert len(written) == 4 * 143  # every 10 minutes from 00:10 to 23:50
