"""Each payload format end to end through the real Mosquitto into PostgreSQL: exact rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ingest.dead_letters import read_dead_letters
from millwright.core.storage import Database
from tests.ingest.conftest import readings_of, source_config, wait_for
from tests.ingest.sparkplug_support import spb

TS = "2024-05-01T12:00:00+00:00"
TS_MS = 1714564800000


def _topic(u: str) -> str:
    """The subscription most tests use: ``t<u>/<line>/<machine>/<sensor>``."""
    return f"t{u}/{{line}}/{{machine}}/{{sensor}}"


def test_bare_number_takes_receive_time_and_is_flagged(
    database: Database, publisher: Any, unique: str, start_collector: Any
) -> None:
    start_collector(_topic(unique))
    before = datetime.now(UTC)
    publisher.publish(f"t{unique}/L1/m{unique}/temp", b"21.5")
    rows = wait_for(lambda: readings_of(database, f"m{unique}"))
    ((machine, sensor, ts, value, quality),) = rows
    assert (machine, sensor, value, quality) == (f"m{unique}", "temp", 21.5, 8)
    assert before <= datetime.fromisoformat(ts) <= datetime.now(UTC)


def test_json_single_iso_and_epoch_ms(
    database: Database, publisher: Any, unique: str, start_collector: Any
) -> None:
    start_collector(_topic(unique), "json")
    publisher.publish(f"t{unique}/L1/m{unique}/temp", json.dumps({"ts": TS, "value": 1.5}))
    publisher.publish(f"t{unique}/L1/m{unique}/temp", json.dumps({"ts": TS_MS + 1000, "value": 2}))
    publisher.publish(
        f"t{unique}/L1/m{unique}/rpm", json.dumps({"ts": TS, "value": 3, "quality": "bad"})
    )
    expected = {
        (f"m{unique}", "temp", TS, 1.5, 0),
        (f"m{unique}", "temp", "2024-05-01T12:00:01+00:00", 2.0, 0),
        (f"m{unique}", "rpm", TS, 3.0, 2),
    }
    wait_for(lambda: len(readings_of(database, f"m{unique}")) == 3)
    assert readings_of(database, f"m{unique}") == expected


def test_json_batches_many_sensors_and_many_timestamps(
    database: Database, publisher: Any, unique: str, start_collector: Any
) -> None:
    start_collector(f"t{unique}/{{line}}/{{machine}}/#")
    m = f"m{unique}"
    publisher.publish(f"t{unique}/L1/{m}/batch", json.dumps({"ts": TS, "values": {"a": 1, "b": 2}}))
    publisher.publish(
        f"t{unique}/L1/{m}/cols",
        json.dumps({"ts": [TS_MS + 1000, TS_MS + 2000], "values": {"a": [3, 4], "b": [5, 6]}}),
    )
    publisher.publish(
        f"t{unique}/L1/{m}/list",
        json.dumps(
            [
                {"sensor": "c", "ts": TS_MS, "value": 7},
                {"sensor": "c", "ts": TS_MS + 1000, "value": 8},
            ]
        ),
    )
    publisher.publish(
        f"t{unique}/L1/{m}/readings",
        json.dumps({"readings": [{"sensor": "d", "ts": TS, "value": 9}]}),
    )
    t1, t2 = "2024-05-01T12:00:01+00:00", "2024-05-01T12:00:02+00:00"
    expected = {
        (m, "a", TS, 1.0, 0),
        (m, "b", TS, 2.0, 0),
        (m, "a", t1, 3.0, 0),
        (m, "a", t2, 4.0, 0),
        (m, "b", t1, 5.0, 0),
        (m, "b", t2, 6.0, 0),
        (m, "c", TS, 7.0, 0),
        (m, "c", t1, 8.0, 0),
        (m, "d", TS, 9.0, 0),
    }
    wait_for(lambda: len(readings_of(database, m)) == len(expected))
    assert readings_of(database, m) == expected


def test_bad_messages_become_dead_letters_and_good_ones_still_flow(
    database: Database,
    runtime: Any,
    publisher: Any,
    unique: str,
    start_collector: Any,
) -> None:
    start_collector(_topic(unique))
    m = f"m{unique}"
    # a second subscription-less topic under the same prefix cannot exist; use a deeper topic
    publisher.publish(f"t{unique}/L1/{m}/temp", b"not a number")
    publisher.publish(f"t{unique}/L1/{m}/temp", b'{"ts": 1, "value": ')
    publisher.publish(f"t{unique}/L1/{m}/temp", json.dumps({"ts": TS, "value": "hot"}))
    publisher.publish(
        f"t{unique}/L1/{m}/temp", json.dumps({"ts": "2024-05-01T12:00:00", "value": 1})
    )
    publisher.publish(f"t{unique}/L1/{m}/temp", json.dumps({"ts": TS, "value": 42}))
    wait_for(lambda: len(read_dead_letters(database, source=f"s{unique}")) == 4)
    reasons = [d.reason for d in read_dead_letters(database, source=f"s{unique}")]
    assert "is not a number" in reasons[0]
    assert "not valid JSON" in reasons[1]
    assert "'hot' is not a number" in reasons[2]
    assert "has no timezone" in reasons[3]
    wait_for(lambda: readings_of(database, m) == {(m, "temp", TS, 42.0, 0)})
    assert runtime.metrics.value("millwright_ingest_dead_letters_total", source=f"s{unique}") == 4


def test_sparkplug_b_end_to_end_births_aliases_gaps_and_death(
    database: Database, publisher: Any, unique: str, start_collector: Any
) -> None:
    group, node, device = f"G{unique}", f"e{unique}", f"d{unique}"
    start_collector(f"spBv1.0/{group}/#", "sparkplug")
    base = f"spBv1.0/{group}"
    publisher.publish(
        f"{base}/NBIRTH/{node}",
        spb(
            0,
            [
                {"name": "bdSeq", "long_value": 0, "datatype": 8},
                {"name": "volts", "alias": 1, "datatype": 10, "double_value": 230.0},
            ],
            TS_MS,
        ),
    )
    publisher.publish(
        f"{base}/DBIRTH/{node}/{device}",
        spb(
            1,
            [
                {"name": "temp", "alias": 2, "datatype": 9, "float_value": 20.5},
            ],
            TS_MS,
        ),
    )
    publisher.publish(
        f"{base}/DDATA/{node}/{device}",
        spb(
            2,
            [
                {"alias": 2, "float_value": 21.5, "timestamp": TS_MS + 1000},
            ],
            TS_MS,
        ),
    )
    publisher.publish(
        f"{base}/NDATA/{node}",
        spb(
            5,
            [  # seq 3 and 4 never arrived
                {"alias": 1, "double_value": 231.0, "timestamp": TS_MS + 2000},
            ],
            TS_MS,
        ),
    )
    publisher.publish(
        f"{base}/NDEATH/{node}", spb(None, [{"name": "bdSeq", "long_value": 0}], TS_MS)
    )
    t1, t2 = "2024-05-01T12:00:01+00:00", "2024-05-01T12:00:02+00:00"
    expected = {
        (node, "volts", TS, 230.0, 0),
        (node, "volts", t2, 231.0, 0),
        (device, "temp", TS, 20.5, 0),
        (device, "temp", t1, 21.5, 0),
    }
    wait_for(lambda: readings_of(database, node) | readings_of(database, device) == expected)

    def events() -> list[tuple[str, str, Any]]:
        return database.execute(
            "SELECT m.name, e.kind, e.details->'missing' FROM events e"
            " JOIN machines m ON m.id = e.machine_id WHERE e.source = %s ORDER BY m.name, e.kind",
            (f"s{unique}",),
        )

    wait_for(lambda: len(events()) == 5)
    assert events() == [
        (device, "offline", None),
        (device, "online", None),
        (node, "gap", 2),
        (node, "offline", None),
        (node, "online", None),
    ]
    statuses = dict(
        database.execute("SELECT name, status FROM machines WHERE name IN (%s, %s)", (node, device))
    )
    assert statuses == {node: "offline", device: "offline"}


def test_shared_subscription_splits_one_stream_between_two_collectors(
    database: Database,
    runtime: Any,
    collector_factory: Any,
    publisher: Any,
    mqtt_broker: tuple[str, int],
    unique: str,
) -> None:
    m = f"sh{unique}"
    subs = [{"topic": f"sh{unique}/{{machine}}/{{sensor}}", "format": "json"}]
    for i in range(2):
        config = source_config(f"s{unique}{i}", *mqtt_broker, subs, shared_group=f"g{unique}")
        collector_factory(config, runtime)
    publisher.publish_many(
        [(f"sh{unique}/{m}/v", json.dumps({"ts": TS_MS + i, "value": i})) for i in range(200)]
    )
    wait_for(lambda: len(readings_of(database, m)) == 200)
    counts = [
        runtime.metrics.value("millwright_ingest_messages_received_total", source=f"s{unique}{i}")
        for i in range(2)
    ]
    assert sum(counts) == 200 and all(c > 0 for c in counts), counts
