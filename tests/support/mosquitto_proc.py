"""A private Mosquitto broker on a free port with persistence, for tests that restart it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.postgres_proc import free_port


class PrivateMosquitto:
    """``mosquitto -c conf`` in a temporary directory; start, kill, restart keep its store."""

    def __init__(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.exe = exe
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mw-mqtt-"))
        self.root.chmod(0o777)
        (self.root / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {self.root}/\n"
            "autosave_interval 1\nautosave_on_changes true\nmax_queued_messages 0\n"
            "max_inflight_messages 0\nuser root\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [self.exe, "-c", str(self.root / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Graceful stop (SIGTERM): Mosquitto saves its persistent store first."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
