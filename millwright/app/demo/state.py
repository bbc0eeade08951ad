"""One demo per data directory, and what a restarted demo resumes from.

``<data dir>/demo/`` holds the lock (an ``flock``-ed file with the pid, released by the kernel
when the demo dies however it dies), the state a restart needs (plant start and seed, the API
token and the sign-in password, readable by the owner only), the services' TOML and their logs.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from millwright.core.commands import CommandError


class DemoAlreadyRunning(CommandError):
    """Another demo holds the data directory."""


@dataclass(frozen=True)
class DemoState:
    """What a restart needs to continue the same plant with the same credentials."""

    start: datetime
    live_from: datetime
    seed: int
    machines: int
    lines: int
    history_days: float
    database: str
    token: str
    password: str
    train_days: float | None = None
    """None (a demo recorded before the split): the whole history was the training window."""
    past_replayed: bool = False
    """The earlier weeks are recorded and scored (:mod:`millwright.app.demo.past`)."""

    @property
    def train_from(self) -> datetime:
        if self.train_days is None:
            return self.start
        return max(self.start, self.live_from - timedelta(days=self.train_days))

    def __post_init__(self) -> None:
        for name in ("start", "live_from"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"demo state {name} must be timezone-aware.")
        if not self.start < self.live_from:
            raise ValueError("demo state start must come before live_from.")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["live_from"] = self.live_from.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DemoState:
        values = dict(data)
        values["start"] = datetime.fromisoformat(values["start"])
        values["live_from"] = datetime.fromisoformat(values["live_from"])
        return cls(**values)


class DemoDirectory:
    """``<data dir>/demo``: lock, state, config and logs of the one demo that may run there."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / "demo"
        self.lock_path = self.path / "demo.lock"
        self.state_path = self.path / "state.json"
        self.config_path = self.path / "demo.toml"
        self.log_dir = self.path / "logs"
        self._lock: IO[str] | None = None

    def lock(self) -> None:
        """Take the directory or raise :class:`DemoAlreadyRunning` naming the holder's pid."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "unknown"
            handle.close()
            raise DemoAlreadyRunning(
                f"a demo is already running in {self.data_dir} (pid {pid});"
                " stop it or use --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.seek(0)
            self._lock.truncate()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def load_state(self) -> DemoState | None:
        """The saved state, or None when there is none (or it cannot be read)."""
        try:
            return DemoState.from_json(json.loads(self.state_path.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save_state(self, state: DemoState) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        partial = self.state_path.with_suffix(".tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state.to_json(), out, indent=2)
        partial.replace(self.state_path)

    def forget_state(self) -> None:
        self.state_path.unlink(missing_ok=True)
