"""The PublishResponse fast path: uniform notifications become columns with asyncua's meaning
(times, values, handles); anything else is handed back and asyncua's own decoding is used."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua import ua_binary as uab

from ingest.opcua import uatypes
from ingest.opcua.fastpublish import DataChanges, _decode, parse_datachanges
from ingest.opcua.source import OpcUaSource
from ingest.runtime import IngestRuntime
from millwright.core.storage import Database
from tests.ingest.opcua_support import (
    Running,
    TestServer,
    eventually,
    free_port,
    source_config,
    stored,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, 250_001, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _item(handle: int, value: object, vtype: ua.VariantType, **fields: object) -> object:
    dv = ua.DataValue(ua.Variant(value, vtype), **fields)  # type: ignore[arg-type]
    return ua.MonitoredItemNotification(ClientHandle=handle, Value=dv)


def _response(items: list[object], *extra: object) -> bytes:
    response = ua.PublishResponse()
    response.Parameters.SubscriptionId = 7
    response.Parameters.AvailableSequenceNumbers = [3, 4]
    response.Parameters.MoreNotifications = False
    response.Parameters.NotificationMessage.SequenceNumber = 4
    response.Parameters.NotificationMessage.NotificationData = [
        ua.DataChangeNotification(MonitoredItems=items),
        *extra,
    ]
    return bytes(uab.struct_to_binary(response))


def _body(items: list[object]) -> bytes:
    return bytes(uab.struct_to_binary(ua.DataChangeNotification(MonitoredItems=items)))


def _us(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)


def test_uniform_doubles_become_columns_with_asyncua_times() -> None:
    items = [
        _item(
            i + 1,
            float(i) / 3,
            ua.VariantType.Double,
            SourceTimestamp=T0 + timedelta(microseconds=i),
            ServerTimestamp=T0,
        )
        for i in range(50)
    ]
    changes = parse_datachanges(_body(items))
    assert changes is not None
    assert changes.handles.tolist() == list(range(1, 51))
    assert changes.values.tolist() == [float(i) / 3 for i in range(50)]
    assert changes.status is not None and not changes.status.any()
    assert changes.source_us is not None and changes.server_us is not None
    assert changes.source_us.tolist() == [_us(T0) + i for i in range(50)]
    assert set(changes.server_us.tolist()) == {_us(T0)}


def test_uniform_integers_and_missing_source_time() -> None:
    items = [_item(i + 1, -5 + i, ua.VariantType.Int32, ServerTimestamp=T0) for i in range(3)]
    changes = parse_datachanges(_body(items))
    assert changes is not None
    assert changes.values.tolist() == [-5.0, -4.0, -3.0]
    assert changes.source_us is None
    assert changes.server_us is not None and changes.server_us.tolist() == [_us(T0)] * 3


def test_everything_not_uniform_is_handed_back() -> None:
    double = _item(1, 1.0, ua.VariantType.Double, SourceTimestamp=T0)
    cases = {
        "mixed types": [double, _item(2, 3, ua.VariantType.Int32, SourceTimestamp=T0)],
        "mixed fields": [double, _item(2, 1.0, ua.VariantType.Double)],
        "string": [_item(1, "x", ua.VariantType.String, SourceTimestamp=T0)],
        "boolean": [_item(1, True, ua.VariantType.Boolean, SourceTimestamp=T0)],
        "array": [_item(1, [1.0, 2.0], ua.VariantType.Double, SourceTimestamp=T0)],
        "picoseconds": [
            _item(1, 1.0, ua.VariantType.Double, SourceTimestamp=T0, SourcePicoseconds=5)
        ],
        "no source time value": [
            _item(1, 1.0, ua.VariantType.Double, SourceTimestamp=datetime(1601, 1, 1, tzinfo=UTC))
        ],
        "empty": [],
    }
    for name, items in cases.items():
        assert parse_datachanges(_body(items)) is None, name


def test_decoded_response_equals_asyncua_when_handed_back_and_acks_when_taken() -> None:
    items = [_item(i + 1, float(i), ua.VariantType.Double, SourceTimestamp=T0) for i in range(4)]
    data = _response(items, ua.StatusChangeNotification(Status=uatypes.status(0)))
    reference = uab.struct_from_binary(ua.PublishResponse, Buffer(data))
    assert _decode(Buffer(data), lambda _sid, _changes: False) == reference

    taken: list[int] = []

    def take(sid: int, _changes: DataChanges) -> bool:
        taken.append(sid)
        return True

    response = _decode(Buffer(data), take)
    assert taken == [7]
    message = response.Parameters.NotificationMessage
    assert message.SequenceNumber == 4  # still acknowledged and kept for Republish
    assert response.Parameters.AvailableSequenceNumbers == [3, 4]
    assert message.NotificationData[0] == ua.DataChangeNotification()
    status_change = reference.Parameters.NotificationMessage.NotificationData[1]
    assert message.NotificationData[1] == status_change


def test_a_real_server_s_values_take_the_fast_path_and_all_arrive(
    database: Database,
    opcua_runtime: IngestRuntime,
) -> None:
    machines, sensors = [f"m{i}" for i in range(10)], [f"s{j}" for j in range(20)]
    ticks = 5

    async def scenario() -> OpcUaSource:
        async with TestServer(free_port(), machines, sensors) as server:
            nodes = [
                {"node_id": server.node_id(m, s), "machine": m, "sensor": s}
                for m in machines
                for s in sensors
            ]
            source = OpcUaSource(source_config(server, nodes), opcua_runtime.pipeline)
            async with Running(source):
                await eventually(lambda: source.stats.received >= len(nodes))  # initial values
                first = source.stats.received
                for k in range(ticks):
                    for m in machines:
                        for s in sensors:
                            await server.write(m, s, k + 0.5, T0 + timedelta(seconds=k))
                    await asyncio.sleep(0.06)
                await eventually(lambda: source.stats.received >= first + ticks * len(nodes))
        return source

    source = asyncio.run(scenario())
    end = T0 + timedelta(seconds=ticks)
    rows = {k: v for k, v in stored(database).items() if T0 <= k[2] < end}
    assert len(rows) == ticks * len(machines) * len(sensors)
    assert rows[("m3", "s7", T0 + timedelta(seconds=2))] == (2.5, 0)
    # the publish request in flight when the fast path was installed is answered the old way
    assert source.stats.fast_path >= (ticks - 1) * len(machines) * len(sensors)
