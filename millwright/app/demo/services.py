"""The demo's child processes: the same ``millwright`` services production runs.

Each child gets the demo's TOML and the database and broker URLs in its environment, logs to
its own file, and is stopped with SIGTERM (then SIGKILL, all within 10 s). A child that ends on
its own is described in one line: its name, exit code and the last thing it said.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# "2026-01-01 10:00:00,123 ERROR name: message" → "message"
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \w+ [\w.]+: ")

log = logging.getLogger(__name__)


@dataclass
class ServiceProcess:
    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def describe_exit(self) -> str:
        """One line: which service stopped, its exit code and the last thing it logged."""
        code = self.process.poll() if self.process is not None else None
        return (
            f"the {self.name} service stopped (exit code {code}): {last_words(self.log_path)}"
            f" — log: {self.log_path}"
        )


def _stop_with_parent() -> None:
    """In the child, before exec: SIGTERM when the demo dies, even killed (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def last_words(log_path: Path, limit: int = 240) -> str:
    """The last meaningful line of a log: the error a dying service printed, without the
    logging prefix or traceback frames."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        text = _LOG_PREFIX.sub("", line.strip())
        if text and not text.startswith(("File ", "Traceback", "^", "~")) and text != "raise":
            return text[:limit]
    return "nothing logged"


@dataclass
class ServiceGroup:
    """Starts ``python -m millwright --config FILE <args>`` children and stops them."""

    config_path: Path
    env: dict[str, str]
    log_dir: Path
    services: list[ServiceProcess] = field(default_factory=list)

    def start(self, name: str, *args: str) -> ServiceProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        service = ServiceProcess(name, list(args), self.log_dir / f"{name}.log")
        with service.log_path.open("ab") as out:
            service.process = subprocess.Popen(
                [sys.executable, "-m", "millwright", "--config", str(self.config_path), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                start_new_session=True,  # Ctrl-C reaches the demo, which stops children in order
                preexec_fn=_stop_with_parent,
            )
        self.services.append(service)
        log.info("started %s (pid %s), log %s", name, service.process.pid, service.log_path)
        return service

    def failed(self) -> list[ServiceProcess]:
        return [s for s in self.services if not s.running]

    def stop(self, grace_s: float = 7.0) -> None:
        """SIGTERM to every child at once, SIGKILL to any still running after ``grace_s``."""
        for service in reversed(self.services):
            if service.running and service.process is not None:
                service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for service in reversed(self.services):
            if service.process is None:
                continue
            try:
                service.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", service.name, grace_s)
                service.process.kill()
                service.process.wait(2)
