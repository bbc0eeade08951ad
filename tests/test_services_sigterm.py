"""Every long-running service stops gracefully on SIGTERM (exit 0) and starts cleanly again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from millwright.core.broker import free_port


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "millwright", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"service exited early:\n{log.read_text()[-3000:]}"
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(
            f"no exit within 30 s of SIGTERM:\n{log.read_text()[-3000:]}"
        ) from None
    assert code == 0, f"exit code {code}:\n{log.read_text()[-3000:]}"


def _config(tmp_path: Path, broker: tuple[str, int], metrics_port: int, worker_port: int) -> Path:
    config = tmp_path / "plant.toml"
    config.write_text(
        f"""
[ingest.metrics]
port = {metrics_port}

[[ingest.mqtt]]
name = "sigterm-test"
host = "{broker[0]}"
port = {broker[1]}
client_id = "sigterm-test-{os.getpid()}"
subscriptions = [{{ topic = "sigterm-test/{{machine}}/{{sensor}}", format = "auto" }}]

[worker]
health_port = {worker_port}
features_every_s = 1
score_every_s = 1
alerts_every_s = 1
solve_poll_s = 1
"""
    )
    return config


@pytest.mark.parametrize("service", ["web", "worker", "collect"])
def test_sigterm_then_clean_restart(
    service: str, database_url: str, mqtt_broker: tuple[str, int], tmp_path: Path
) -> None:
    metrics_port, worker_port = free_port(), free_port()
    api_port, dashboard_port = free_port(), free_port()
    config = _config(tmp_path, mqtt_broker, metrics_port, worker_port)
    args = {
        "web": ["web", "--api-port", str(api_port), "--dashboard-port", str(dashboard_port)],
        "worker": ["worker"],
        "collect": ["collect"],
    }[service]
    health = {
        "web": f"http://127.0.0.1:{api_port}/api/v1/health",
        "worker": f"http://127.0.0.1:{worker_port}/health",
        "collect": f"http://127.0.0.1:{metrics_port}/health",
    }[service]
    env = {"MILLWRIGHT_DATABASE_URL": database_url, "MILLWRIGHT_DATA_DIR": str(tmp_path)}
    log = tmp_path / f"{service}.log"
    for _ in range(2):  # stop, then start again on the same database and state
        proc = _start(["--config", str(config), *args], env, log)
        try:
            _wait_healthy(health, proc, log)
            _stop(proc, log)
        finally:
            if proc.poll() is None:
                proc.kill()
