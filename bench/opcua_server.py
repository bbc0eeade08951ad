"""The benchmark's OPC-UA server, run in its own process so its CPU is not the collector's.

``nodes`` Double variables (``ns=2;s=bench.<i>``, ``i`` from ``first``) under
``Objects/Bench``; once ``go`` is set, each changes ``rate_hz`` times per second for
``seconds``, with value 1, 2, 3, ... and the tick's time as source timestamp. How many
values were written goes back through ``published``, and how many the server's item queues
discarded (asyncua drops the oldest silently, without the Overflow bit) through
``discarded``: a value the collector never saw is counted on the server, where it was lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Server, ua
from asyncua.server.monitored_item_service import MonitoredItemService

from ingest.opcua import uatypes as uat

_discarded = 0


@dataclass(slots=True)
class _SharedDataValue(ua.DataValue):
    """A DataValue the server may keep without copying: each write builds a fresh one and
    nothing mutates it, so asyncua's defensive deepcopy (half the server's CPU at 5,000
    writes/s) is skipped. Only the load generator does this; the collector is unchanged."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedDataValue:
        return self


async def _datachange(
    self: MonitoredItemService, handle: int, value: ua.DataValue, error: Any = None
) -> None:
    """asyncua's data-change callback without its per-write default ``DataValue()`` (whose
    Variant type guessing was 60 % of the server's CPU), counting queue discards."""
    global _discarded
    if error:
        await _original_datachange(self, handle, value, error)
        return
    mid = self._monitored_datachange[handle]
    mdata = self._monitored_items[mid]
    if mdata.mode == ua.MonitoringMode.Disabled:
        return
    if mdata.filter:
        await _original_datachange(self, handle, value, error)
        return
    mdata.mvalue.set_current_datavalue(value)
    if not self._is_data_changed(mdata.mvalue, ua.DataChangeTrigger.StatusValue):
        return
    queued = self.isub._triggered_datachanges.get(mid)
    if queued is not None and mdata.queue_size and len(queued) >= mdata.queue_size:
        _discarded += 1
    event = ua.MonitoredItemNotification(ClientHandle=mdata.client_handle, Value=value)
    await self.isub.enqueue_datachange_event(mid, event, mdata.queue_size)


_original_datachange = MonitoredItemService.datachange_callback


def node_id(ns: int, index: int) -> ua.NodeId:
    return uat.node_id(f"bench.{index:04d}", ns)


async def _serve(
    port: int,
    nodes: int,
    rate_hz: float,
    seconds: float,
    ready: Any,
    go: Any,
    published: Any,
    first: int = 0,
    discarded: Any = None,
    release: Any = None,
) -> None:
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    MonitoredItemService.datachange_callback = _datachange  # type: ignore[method-assign]
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/bench/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await server.register_namespace("urn:millwright:bench")
    folder = await server.nodes.objects.add_folder(uat.node_id("bench", ns), f"{ns}:Bench")
    ids = []
    for i in range(first, first + nodes):
        node = await folder.add_variable(node_id(ns, i), f"{ns}:n{i:04d}", 0.0)
        ids.append(node.nodeid)
    async with server:
        ready.set()
        while not go.is_set():
            await asyncio.sleep(0.01)
        period = 1.0 / rate_hz
        start = time.perf_counter()
        tick = 0
        count = 0
        while True:
            due = start + tick * period
            if due - start >= seconds:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tick += 1
            ts = datetime.now(UTC)
            now = datetime.now(UTC)
            value = float(tick)
            for i, nid in enumerate(ids):
                if i % 25 == 0:
                    await asyncio.sleep(0)  # stay responsive: publish, answer keep-alives
                await server.write_attribute_value(
                    nid,
                    _SharedDataValue(
                        ua.Variant(value, ua.VariantType.Double),
                        SourceTimestamp=uat.ua_datetime(ts),
                        ServerTimestamp=uat.ua_datetime(now),
                    ),
                )
            count += len(ids)
            published.value = count
            if discarded is not None:
                discarded.value = _discarded
        await asyncio.sleep(2.0)  # let the last publish responses go out
        if discarded is not None:
            discarded.value = _discarded
        waited = 0.0
        while release is not None and not release.is_set() and waited < 120:
            await asyncio.sleep(0.1)  # serve until the collector has disconnected
            waited += 0.1


def serve(
    port: int,
    nodes: int,
    rate_hz: float,
    seconds: float,
    ready: Any,
    go: Any,
    published: Any,
    first: int = 0,
    discarded: Any = None,
    release: Any = None,
) -> None:
    """Process entry point (one of several when the load is split across servers); with
    ``release``, the server stays up after the load until it is set."""
    asyncio.run(
        _serve(port, nodes, rate_hz, seconds, ready, go, published, first, discarded, release)
    )
