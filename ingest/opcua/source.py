"""One OPC-UA server as a source of readings: connect, subscribe, convert, hand to the pipeline.

Reconnecting is asyncua's (2.x) supervisor: it probes the connection, and on loss opens a new
channel, re-activates the session when the server still has it (then TransferSubscriptions
and Republish fill the hole, so nothing is lost) or creates a new session and re-creates the
subscription with the same monitored items. This class watches those transitions through
asyncua's observer hook: a *re-created* subscription means values may be missing, and
:class:`~ingest.opcua.gaps.GapTracker` turns that into ``gap`` events with exact source-time
bounds per machine. Only the first connection is retried here (a server that is down when
the collector starts), with the same backoff.

Uniform data-change notifications (every item a scalar number with the same fields, which
is what plants send) are read straight from the PublishResponse bytes into columns
(:mod:`ingest.opcua.fastpublish`) and submitted as one chunk per notification. Everything
else — replays after a reconnect, bad statuses, converted or non-finite values — is consumed
from asyncua's iterator queue (no task per value) and batched as
``(machine, sensor, ts_us, value, quality)`` rows for ``Pipeline.submit_rows``, by size or
every ``flush_interval_s``. A bad/uncertain sample is stored with its quality; when it
carries no number (e.g. BadWaitingForInitialData) its value is stored as 0.0 — meaningless,
and marked so by the quality.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import DataChangeEvent, OverflowPolicy, Subscription
from asyncua.observer import Observer, SubscriptionEvent

from ingest.opcua.config import NodeMapping, OpcUaSourceConfig
from ingest.opcua.errors import OpcUaError, OpcUaSecurityError
from ingest.opcua.fastpublish import DataChanges, install
from ingest.opcua.gaps import Gap, GapTracker
from ingest.opcua.nodes import resolve
from ingest.opcua.security import connect
from ingest.opcua.values import (
    EPOCH,
    ONE_US,
    Converter,
    NotNumeric,
    is_overflow,
    make_converter,
    quality_of,
)
from millwright.core.storage import Quality, ReadingColumns

log = logging.getLogger(__name__)

Row = tuple[str, str, int, float, int]
_MAX_DEAD_PAYLOAD = 4096
_RECEIVE_TIME = int(Quality.RECEIVE_TIME)
_GOOD = int(Quality.GOOD)


class OpcUaSink(Protocol):
    """What a source needs from the shared pipeline (``ingest.pipeline.Pipeline`` fits)."""

    def submit_rows(
        self, source: str, rows: list[Row], on_committed: Callable[[], None] | None = None
    ) -> None: ...

    def submit(self, source: str, readings: ReadingColumns) -> None: ...

    def dead_letter(
        self,
        source: str,
        topic: str | None,
        payload: bytes,
        reason: str,
        on_committed: Callable[[], None] | None = None,
    ) -> None: ...

    def record_event(
        self,
        machine: str,
        kind: str,
        ts: datetime,
        *,
        ends_at: datetime | None = None,
        details: dict[str, Any] | None = None,
        source: str = "ingest",
    ) -> None: ...


@dataclass
class SourceStats:
    """Counters of one source, also exported as metrics when a registry is given."""

    received: int = 0
    submitted: int = 0
    dead_lettered: int = 0
    overflows: int = 0
    client_dropped: int = 0
    gaps: int = 0
    recreated: int = 0
    fast_path: int = 0  # values read straight from the response bytes (fastpublish)
    coarser_sampling: int = 0  # nodes the server samples more slowly than configured
    connected: bool = False
    unresolved: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Tag:
    machine: str
    sensor: str
    address: str
    converter: Converter | None


def _us_to_datetime(us: int) -> datetime:
    return EPOCH + ONE_US * us


class _Observer(Observer):
    """asyncua's hook into connection state and subscription re-creation."""

    def __init__(self, source: OpcUaSource) -> None:
        self._source = source

    def on_state_change(self, state: UaClientState) -> None:
        self._source._on_state(state)

    def on_subscription_event(self, subscription_id: int | None, event: SubscriptionEvent) -> None:
        if event is SubscriptionEvent.RECREATED:
            self._source._on_recreated(subscription_id)


class OpcUaSource:
    """Runs one configured OPC-UA source until stopped; never raises on bad data."""

    def __init__(
        self,
        config: OpcUaSourceConfig,
        sink: OpcUaSink,
        *,
        metrics: Any | None = None,
        batch_size: int = 5_000,
        flush_interval_s: float = 0.1,
        gap_close_after_s: float = 10.0,
    ) -> None:
        self.config = config
        self.name = config.name
        self.stats = SourceStats()
        self._sink = sink
        self._metrics = metrics
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._gap_close_after_s = gap_close_after_s
        self._tags: list[_Tag] = []
        self._rows: list[Row] = []
        self._gaps = GapTracker([])
        self._overflowed_nodes: set[int] = set()
        self._client: Client | None = None
        self._subscription: Subscription | None = None
        self._machines = np.empty(0, dtype=object)  # per client handle - 1, for the fast path
        self._sensors = np.empty(0, dtype=object)
        self._plain = np.empty(0, dtype=bool)  # no converter: the number is the reading
        self.ready = asyncio.Event()

    # --- lifecycle ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Connect (retrying), subscribe and collect until ``stop`` is set."""
        _quiet_asyncua_hot_path()
        delay = 1.0
        while not stop.is_set():
            try:
                client = await connect(self.config)
            except OpcUaSecurityError as exc:
                log.error("%s; retrying in %.0f s", exc, self.config.reconnect_max_delay_s)
                if await _wait(stop, self.config.reconnect_max_delay_s):
                    return
                continue
            except OpcUaError as exc:
                log.warning("%s; retrying in %.1f s", exc, delay)
                if await _wait(stop, delay):
                    return
                delay = min(delay * 2, self.config.reconnect_max_delay_s)
                continue
            delay = 1.0
            self._client = client
            try:
                await self._collect(client, stop)
                return
            except (TimeoutError, OSError, ua.UaError, ConnectionError) as exc:
                log.warning(
                    "source %s: subscription setup failed: %s; reconnecting", self.name, exc
                )
            finally:
                self._flush()
                self._close_gaps(force=True)
                self._set_connected(False)
                await _disconnect(client)
                self._client = None

    async def _collect(self, client: Client, stop: asyncio.Event) -> None:
        client.uaclient.observer = _Observer(self)
        self._set_connected(True)
        subscription = await self._subscribe(client)
        self._subscription = subscription
        install(client.uaclient.session, self._on_changes)
        log.info(
            "source %s: collecting %d nodes from %s",
            self.name,
            len(self._tags),
            self.config.endpoint,
        )
        self.ready.set()
        consumer = asyncio.create_task(self._consume(subscription))
        flusher = asyncio.create_task(self._flush_loop())
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {consumer, flusher, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in (consumer, flusher, stopper):
                task.cancel()
            await asyncio.gather(consumer, flusher, stopper, return_exceptions=True)

    async def _subscribe(self, client: Client) -> Subscription:
        found, missing = await resolve(client, self.config.nodes)
        for item in missing:
            self._unusable(item.mapping, item.reason)
        if any(m.field for m, _ in found):
            try:
                await client.load_data_type_definitions()
            except (TimeoutError, ua.UaError, OSError) as exc:
                log.warning("source %s: cannot load structure definitions: %s", self.name, exc)
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=self.config.publishing_interval_ms,
            RequestedLifetimeCount=10_000,
            RequestedMaxKeepAliveCount=client.get_keepalive_count(
                self.config.publishing_interval_ms
            ),
            MaxNotificationsPerPublish=self.config.max_notifications_per_publish,
            PublishingEnabled=True,
            Priority=0,
        )
        subscription = await client.create_subscription(
            params,
            queue_maxsize=self.config.client_queue_size,
            overflow=OverflowPolicy.DISCONNECT,
        )
        # DISCONNECT fires this hook per dropped notification; we count instead of reconnecting.
        subscription.set_overflow_disconnect_handler(self._on_client_overflow)
        tags: list[_Tag] = []
        requests: list[ua.MonitoredItemCreateRequest] = []
        pending: list[NodeMapping] = []
        for mapping, node_id in found:
            tags.append(_tag(mapping))
            pending.append(mapping)
            requests.append(self._item_request(node_id, mapping, handle=len(tags)))
        self._tags = tags
        self._machines = np.array([t.machine for t in tags], dtype=object)
        self._sensors = np.array([t.sensor for t in tags], dtype=object)
        self._plain = np.array([t.converter is None for t in tags], dtype=bool)
        self._gaps = GapTracker([t.machine for t in tags], close_after_s=self._gap_close_after_s)
        revised: list[tuple[NodeMapping, ua.MonitoredItemCreateRequest, Any]] = []
        with _capture_results(subscription) as captured:
            for start in range(0, len(requests), 1000):
                chunk = requests[start : start + 1000]
                captured.clear()
                results = await subscription.create_monitored_items(chunk)
                for offset, result in enumerate(results):
                    if isinstance(result, ua.StatusCode):
                        self._unusable(pending[start + offset], f"cannot monitor ({result.name})")
                revised += zip(pending[start : start + len(chunk)], chunk, captured, strict=False)
        self._warn_if_coarser(revised)
        return subscription

    def _warn_if_coarser(
        self, revised: Sequence[tuple[NodeMapping, ua.MonitoredItemCreateRequest, Any]]
    ) -> None:
        """One warning for the nodes the server samples more slowly than configured (their
        changes between two samples never reach us) or queues fewer samples for."""
        slower: list[str] = []
        for mapping, request, result in revised:
            asked = float(request.RequestedParameters.SamplingInterval)
            got = float(getattr(result, "RevisedSamplingInterval", 0.0) or 0.0)
            if asked > 0 and got > asked * 1.001:
                slower.append(f"{mapping.machine}/{mapping.sensor} {asked:g} → {got:g} ms")
        if slower:
            more = f" (+{len(slower) - 3} more)" if len(slower) > 3 else ""
            shown = "; ".join(slower[:3]) + more
            log.warning(
                "source %s: the server samples %d node(s) more slowly than configured (%s);"
                " changes between its samples are lost — ask the server for a faster rate or"
                " accept the coarser one in the config",
                self.name,
                len(slower),
                shown,
            )
        self.stats.coarser_sampling = len(slower)

    def _item_request(
        self, node_id: ua.NodeId, mapping: NodeMapping, *, handle: int
    ) -> ua.MonitoredItemCreateRequest:
        item = ua.ReadValueId(NodeId=node_id, AttributeId=ua.AttributeIds.Value)
        sampling = mapping.sampling_interval_ms
        queue = mapping.queue_size
        parameters = ua.MonitoringParameters(
            ClientHandle=handle,
            SamplingInterval=self.config.sampling_interval_ms if sampling is None else sampling,
            QueueSize=self.config.queue_size if queue is None else queue,
            DiscardOldest=True,
        )
        return ua.MonitoredItemCreateRequest(
            ItemToMonitor=item,
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=parameters,
        )

    def _unusable(self, mapping: NodeMapping, reason: str) -> None:
        message = f"{mapping.machine}/{mapping.sensor}: {reason}"
        log.error("source %s: node %s skipped: %s", self.name, mapping.address, message)
        self.stats.unresolved.append(message)
        self._dead_letter(mapping.address, None, f"node not collected: {message}")

    # --- hot path ----------------------------------------------------------------------

    async def _consume(self, subscription: Subscription) -> None:
        rows = self._rows
        async for event in subscription:
            if type(event) is DataChangeEvent:
                item = event.data.monitored_item
                self._on_value(item.ClientHandle, item.Value)
                if len(rows) >= self._batch_size:
                    self._flush()
                    rows = self._rows
            else:
                log.warning("source %s: subscription status change %s", self.name, event)

    def _on_changes(self, subscription_id: int, changes: DataChanges) -> bool:
        """A uniform notification as one column chunk; False hands it back to asyncua (and
        so to :meth:`_on_value`) whenever any item needs more than a plain number."""
        subscription = self._subscription
        if subscription is None or subscription_id != subscription.subscription_id:
            return False
        index = changes.handles - 1
        if index.min() < 0 or index.max() >= len(self._tags) or not self._plain[index].all():
            return False
        if changes.status is not None and changes.status.any():
            return False  # qualities and overflow bits: the per-value path
        values = changes.values
        if not np.isfinite(values).all():
            return False
        quality = _GOOD
        ts = changes.source_us
        if ts is None:
            ts, quality = changes.server_us, _GOOD | _RECEIVE_TIME
            if ts is None:
                return False
        n = len(values)
        self.stats.received += n
        self.stats.submitted += n
        self.stats.fast_path += n
        self._gaps.seen_many(index, ts)
        self._sink.submit(
            self.name,
            ReadingColumns(
                machine=self._machines[index],
                sensor=self._sensors[index],
                ts=ts.view("datetime64[us]"),
                value=values,
                quality=np.full(n, quality, dtype=np.int16),
            ),
        )
        return True

    def _on_value(self, handle: int, value: ua.DataValue | None) -> None:
        self.stats.received += 1
        if value is None:
            return
        index = handle - 1
        tag = self._tags[index]
        status = value.StatusCode.value if value.StatusCode is not None else 0
        quality = _GOOD
        if status:
            quality = quality_of(status)
            if is_overflow(status):
                self._on_overflow(index)
        source_ts: datetime | None = value.SourceTimestamp
        if source_ts is not None:
            ts = (source_ts - EPOCH) // ONE_US
        else:
            other: datetime = value.ServerTimestamp or datetime.now(UTC)
            ts = (other - EPOCH) // ONE_US
            quality |= _RECEIVE_TIME
        variant = value.Value
        raw = variant.Value if variant is not None else None
        if tag.converter is None and type(raw) is float:
            number: float = raw
        else:
            try:
                number = _convert(tag, raw, quality)
            except NotNumeric as exc:
                self._dead_letter(tag.address, raw, f"{tag.machine}/{tag.sensor}: {exc}")
                return
        if number != number or number in (math.inf, -math.inf):  # NaN or infinite
            if quality & 0x3 == _GOOD:
                self._dead_letter(
                    tag.address, raw, f"{tag.machine}/{tag.sensor}: value {number} is not finite"
                )
                return
            number = 0.0
        self._rows.append((tag.machine, tag.sensor, ts, number, quality))
        self._gaps.seen(index, ts)

    def _on_overflow(self, index: int) -> None:
        self.stats.overflows += 1
        if self._metrics is not None:
            self._metrics.queue_overflows.labels(self.name).inc()
        if index not in self._overflowed_nodes:
            self._overflowed_nodes.add(index)
            tag = self._tags[index]
            log.warning(
                "source %s: server queue overflow on %s (%s/%s): values were discarded by the"
                " server; raise queue_size (now %d) or the publishing rate",
                self.name,
                tag.address,
                tag.machine,
                tag.sensor,
                self.config.queue_size,
            )

    def _on_client_overflow(self) -> None:
        self.stats.client_dropped += 1
        if self.stats.client_dropped == 1 or self.stats.client_dropped % 10_000 == 0:
            log.error(
                "source %s: %d notifications dropped: the collector cannot keep up (raise"
                " client_queue_size or reduce the load)",
                self.name,
                self.stats.client_dropped,
            )

    def _dead_letter(self, address: str, raw: Any, reason: str) -> None:
        self.stats.dead_lettered += 1
        payload = b"" if raw is None else repr(raw).encode("utf-8", "replace")[:_MAX_DEAD_PAYLOAD]
        self._sink.dead_letter(self.name, address, payload, reason)

    # --- batching and gaps -------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            self._flush()
            self._close_gaps()

    def _flush(self) -> None:
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        self.stats.submitted += len(rows)
        self._sink.submit_rows(self.name, rows)

    def _close_gaps(self, *, force: bool = False) -> None:
        for gap in self._gaps.due(time.monotonic(), force=force):
            self._record_gap(gap)

    def _record_gap(self, gap: Gap) -> None:
        self.stats.gaps += 1
        start, end = _us_to_datetime(gap.start_us), _us_to_datetime(gap.end_us)
        log.warning(
            "source %s: values of %s between %s and %s could not be recovered (%d nodes)",
            self.name,
            gap.machine,
            start.isoformat(),
            end.isoformat(),
            gap.nodes,
        )
        self._sink.record_event(
            gap.machine,
            "gap",
            start,
            ends_at=end,
            details={
                "source": self.name,
                "protocol": "opcua",
                "nodes": gap.nodes,
                "reason": "subscription re-created after the connection was lost",
            },
            source=f"opcua:{self.name}",
        )

    # --- observer callbacks (run on the event loop, from asyncua's tasks) ------------

    def _on_state(self, state: UaClientState) -> None:
        if state is UaClientState.CONNECTED:
            self._set_connected(True)
        elif state in (UaClientState.RECONNECTING, UaClientState.DISCONNECTED):
            if self.stats.connected:
                log.warning("source %s: connection to %s lost", self.name, self.config.endpoint)
            self._set_connected(False)

    def _on_recreated(self, subscription_id: int | None) -> None:
        self.stats.recreated += 1
        log.warning(
            "source %s: subscription re-created (server lost it); values in between are gaps",
            self.name,
        )
        # Values delivered before the loss are already consumed: the queue drains while the
        # reconnect awaits the network, and the first post-recovery value is queued after.
        self._gaps.lost(time.monotonic())

    def _set_connected(self, connected: bool) -> None:
        if connected and not self.stats.connected:
            log.info("source %s: connected to %s", self.name, self.config.endpoint)
        self.stats.connected = connected
        if self._metrics is not None:
            self._metrics.connected.labels(self.name).set(1 if connected else 0)


_CHATTY_LOGGERS = ("asyncua.common.subscription", "asyncua.client.ua_session")


def _quiet_asyncua_hot_path() -> None:
    """asyncua logs every PublishResult in full at INFO: at 5,000 values/s that is
    megabytes of log per second and a large share of the collector's CPU. Unless someone
    configured these loggers explicitly, keep them at WARNING."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@contextlib.contextmanager
def _capture_results(subscription: Subscription) -> Iterator[list[Any]]:
    """Collect the raw MonitoredItemCreateResults (asyncua's high-level call keeps only the
    ids; the revised sampling interval is in the results) while the block runs."""
    captured: list[Any] = []
    server = subscription.server
    original = server.create_monitored_items

    async def capture(params: Any) -> Any:
        results = await original(params)
        captured.extend(results)
        return results

    server.create_monitored_items = capture  # type: ignore[method-assign]
    try:
        yield captured
    finally:
        del server.create_monitored_items  # back to the class's method


def _tag(mapping: NodeMapping) -> _Tag:
    needs = mapping.value_map is not None or mapping.index is not None or mapping.field is not None
    return _Tag(
        mapping.machine, mapping.sensor, mapping.address, make_converter(mapping) if needs else None
    )


def _convert(tag: _Tag, raw: Any, quality: int) -> float:
    if raw is None:
        if quality & 0x3 != _GOOD:
            return math.nan
        raise NotNumeric("the server sent no value with a Good status")
    if tag.converter is not None:
        return tag.converter(raw)
    if type(raw) is int:
        return float(raw)
    if type(raw) is bool:
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        return float(raw)
    return make_converter(_PLAIN)(raw)


_PLAIN = NodeMapping(node_id="i=1", machine="-", sensor="-")


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True when ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _disconnect(client: Client) -> None:
    try:
        await client.disconnect()
    except Exception:
        log.debug("disconnect raised", exc_info=True)


async def run_sources(
    configs: Sequence[OpcUaSourceConfig],
    sink: OpcUaSink,
    stop: asyncio.Event,
    *,
    metrics: Any | None = None,
) -> list[OpcUaSource]:
    """Run every configured source in this event loop until ``stop`` is set."""
    sources = [OpcUaSource(c, sink, metrics=metrics) for c in configs]
    await asyncio.gather(*(s.run(stop) for s in sources))
    return sources
