"""The demo's child processes: the same ``millwright`` services production runs.

Each child gets the demo's TOML and the database and broker URLs in its environment, logs to
its own file, and is stopped with SIGTERM (then SIGKILL after a grace period).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
            )
        self.services.append(service)
        log.info("started %s (pid %s), log %s", name, service.process.pid, service.log_path)
        return service

    def failed(self) -> list[ServiceProcess]:
        return [s for s in self.services if not s.running]

    def stop(self, grace_s: float = 20.0) -> None:
        for service in reversed(self.services):
            if service.running and service.process is not None:
                service.process.send_signal(signal.SIGTERM)
        for service in reversed(self.services):
            if service.process is None:
                continue
            try:
                service.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", service.name, grace_s)
                service.process.kill()
                service.process.wait(5)
