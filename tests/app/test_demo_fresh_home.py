"""A newcomer's first run: a fresh HOME, nothing configured, `millwright demo`; the dashboard
answers 200 within 120 s (the first-run promise of issue #22), and Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # a whole first run on the embedded database: about a minute


def test_fresh_home_demo_dashboard_answers_within_120_s(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    tmp_path.chmod(0o777)  # the embedded server may run as another user
    home.chmod(0o777)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLWRIGHT_") and k != "HOME"}
    env["HOME"] = str(home)
    demo = subprocess.Popen(
        [sys.executable, "-u", "-m", "millwright", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=home,
    )
    started = time.monotonic()
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        url = None
        while url is None and time.monotonic() - started < 120:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            found = re.match(r"dashboard:\s+(\S+)", line)
            url = found.group(1) if found else None
        assert url, "no dashboard URL within 120 s:\n" + "\n".join(lines[-30:])
        status = None
        while time.monotonic() - started < 120 and status != 200:
            try:
                status = httpx.get(url, timeout=5, follow_redirects=True).status_code
            except httpx.HTTPError:
                time.sleep(1)
        assert status == 200, f"the dashboard at {url} did not answer 200 within 120 s"
        demo.send_signal(signal.SIGINT)
        demo.wait(30)
        assert demo.returncode == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
