"""The demo as a newcomer meets it: a second start in the same data directory refuses while
the first keeps running, Ctrl-C stops every child, and a restart resumes with the same API
token and the plant where it stopped. Real child processes, a database of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.conftest import _as_url

pytestmark = pytest.mark.slow  # two demo starts: about a minute on two cores

SMALL = ["--machines", "9", "--history-days", "8", "--speed", "3600"]


@pytest.fixture
def demo_url(postgres_admin_url: str) -> Iterator[str]:
    name = f"mw_restart_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_admin_url)
    params["dbname"] = name
    try:
        yield _as_url(params)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _demo(data_dir: Path, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "millwright", "demo", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MILLWRIGHT_DATABASE_URL": url},
    )


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float = 240) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} in the demo's output:\n" + "\n".join(lines[-30:]))


def _token(lines: list[str]) -> str:
    return next(line.split()[2] for line in lines if line.startswith("API token:"))


def test_second_start_refuses_ctrl_c_stops_all_and_restart_keeps_its_token(
    tmp_path: Path, demo_url: str
) -> None:
    first = _demo(tmp_path, demo_url, *SMALL)
    try:
        lines = _read_until(first, "API token:")
        token = _token(lines)
        children = psutil.Process(first.pid).children(recursive=True)
        assert len(children) >= 5, "web, sim, collect, worker and the broker run"

        second = subprocess.run(
            [sys.executable, "-m", "millwright", "demo", "--data-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "MILLWRIGHT_DATABASE_URL": demo_url},
        )  # fmt: skip
        assert second.returncode == 2
        assert second.stderr.splitlines() == [
            f"millwright: a demo is already running in {tmp_path} (pid {first.pid});"
            " stop it or use --data-dir"
        ]
        time.sleep(2)
        assert first.poll() is None, "the first demo keeps running"
        assert all(child.is_running() for child in children)

        first.send_signal(signal.SIGINT)
        rest = _read_until(first, "stopping…", timeout=10)
        first.wait(20)
        assert first.returncode == 0
        _gone, alive = psutil.wait_procs(children, timeout=1)
        assert not alive, f"children still running after Ctrl-C: {alive}"
        assert first.stdout is not None
        assert "demo summary" in "\n".join(rest + (first.stdout.read() or "").splitlines())
    finally:
        if first.poll() is None:
            first.kill()

    resumed = _demo(tmp_path, demo_url, "--hours", "1")
    try:
        lines = _read_until(resumed, "API token:")
        assert any(line.startswith("resuming the demo in") for line in lines)
        assert not any("recording" in line or "training" in line for line in lines)
        assert _token(lines) == token, "an MES configured with the first token keeps working"
        resumed.wait(120)
        assert resumed.returncode == 0
    finally:
        if resumed.poll() is None:
            resumed.kill()
