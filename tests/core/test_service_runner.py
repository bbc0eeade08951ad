import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from millwright.core.broker import free_port
from millwright.core.service_runner import PeriodicTask, ServiceRunner


def test_failing_run_is_counted_and_loop_continues() -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    port = free_port()
    runner = ServiceRunner([PeriodicTask("flaky", 0.01, flaky)], health_port=port)
    runner.start()
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health").read())
    runner.stop()
    assert len(calls) >= 3
    assert health["tasks"]["flaky"]["failures"] == 1
    assert health["tasks"]["flaky"]["last_error"] is None


def test_stop_waits_for_the_run_in_progress() -> None:
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.3)
        finished.set()

    runner = ServiceRunner([PeriodicTask("slow", 10, slow)])
    runner.start()
    time.sleep(0.05)
    runner.stop()
    assert finished.is_set()


SCRIPT = """
import sys, time
from millwright.core.service_runner import PeriodicTask, ServiceRunner
def tick():
    print("tick", flush=True)
runner = ServiceRunner([PeriodicTask("tick", 0.05, tick)])
runner.run_until_signalled()
print("stopped cleanly", flush=True)
"""


def test_sigterm_stops_gracefully() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "tick"
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out.strip().endswith("stopped cleanly")
