"""All configured OPC-UA sources on one event-loop thread: what ``millwright collect`` starts.

asyncua is asyncio; the rest of the collector (paho, the pipeline's writer) is threads. One
thread with its own loop hosts every OPC-UA source, so ``collect`` treats OPC-UA exactly like
its MQTT collectors: ``start()``, ``health()``, ``stop()``. The pipeline's methods are
thread-safe, so sources call it directly from the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

from ingest.opcua.config import OpcUaSourceConfig
from ingest.opcua.source import OpcUaSink, OpcUaSource

log = logging.getLogger(__name__)


class OpcUaCollector:
    """Runs OPC-UA sources on a background thread until :meth:`stop`."""

    def __init__(
        self,
        configs: Sequence[OpcUaSourceConfig],
        sink: OpcUaSink,
        *,
        metrics: Any | None = None,
        flush_interval_s: float = 0.1,
    ) -> None:
        self.sources = [
            OpcUaSource(c, sink, metrics=metrics, flush_interval_s=flush_interval_s)
            for c in configs
        ]
        self.name = "opcua:" + ",".join(s.name for s in self.sources)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    def start(self) -> None:
        """Start the loop thread and every source (connecting happens in the background)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="opcua-collector", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self._started.set()
        results = await asyncio.gather(
            *(s.run(self._stop) for s in self.sources), return_exceptions=True
        )
        for source, result in zip(self.sources, results, strict=True):
            if isinstance(result, BaseException):
                log.error("source %s stopped with %r", source.name, result)

    def wait_ready(self, timeout: float = 10) -> bool:
        """True once every source has subscribed (for tests and benchmarks)."""
        loop = self._loop
        if loop is None:
            return False

        async def ready() -> None:
            await asyncio.gather(*(s.ready.wait() for s in self.sources))

        try:
            asyncio.run_coroutine_threadsafe(ready(), loop).result(timeout)
        except TimeoutError:
            return False
        return True

    def stop(self, timeout: float = 15) -> None:
        """Flush each source's last batch to the pipeline, disconnect, end the thread."""
        if self._thread is None or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("OPC-UA collector did not stop within %.0f s", timeout)
        self._thread = None

    def health(self) -> dict[str, Any]:
        """Per source: connected, counters, unresolved nodes."""
        return {s.name: self.source_health(s.name) for s in self.sources}

    def source_health(self, name: str) -> dict[str, Any]:
        """One source's state for ``/health``."""
        s = next(s for s in self.sources if s.name == name)
        return {
            "protocol": "opcua",
            "connected": s.stats.connected,
            "received": s.stats.received,
            "dead_lettered": s.stats.dead_lettered,
            "queue_overflows": s.stats.overflows,
            "client_dropped": s.stats.client_dropped,
            "gaps": s.stats.gaps,
            "subscriptions_recreated": s.stats.recreated,
            "unresolved_nodes": len(s.stats.unresolved),
        }
