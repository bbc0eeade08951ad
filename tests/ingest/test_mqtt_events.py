"""Plant events on ``{prefix}/events/{machine}`` through a real Mosquitto into PostgreSQL:
the API's body shape, one or a batch; bad events dead-lettered with a reason beside stored
good ones; a repeat stores nothing new; a failure or downtime queues a replan."""

from __future__ import annotations

import json
import time

from ingest.mqtt import MqttCollector
from ingest.plant_events import decode_events
from ingest.runtime import IngestRuntime
from millwright.core.storage import Database
from tests.ingest.conftest import Publisher, source_config, wait_for


def _events(database: Database) -> list[tuple[str, str, str, str | None, str | None]]:
    rows = database.execute(
        "SELECT m.name, e.kind, e.ts::text, e.work_order, e.details->>'component'"
        " FROM events e JOIN machines m ON m.id = e.machine_id"
        " WHERE e.source LIKE 'mqtt:%%' ORDER BY e.ts, e.kind"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _letters(database: Database) -> list[str]:
    return [r[0] for r in database.execute("SELECT reason FROM dead_letters ORDER BY id")]


def test_decode_takes_the_api_shape_and_names_each_bad_event() -> None:
    body = [
        {"kind": "failure", "ts": "2026-03-01T08:00:00Z", "component": "spindle"},
        {"kind": "explosion", "ts": "2026-03-01T08:00:00Z"},
        {"kind": "downtime", "ts": "2026-03-01T09:00:00Z", "end": "2026-03-01T08:00:00Z"},
        {"kind": "repair", "ts": "2026-03-01T10:00:00"},
        {"machine": "press-9", "kind": "repair", "ts": "2026-03-01T10:00:00Z"},
        {"kind": "inspection", "ts": "2026-03-01T10:00:00Z", "colour": "red"},
    ]
    message = decode_events(json.dumps(body).encode(), "press-1", "mqtt:t")
    assert [(i, e.machine, e.kind) for i, e in message.events] == [(0, "press-1", "failure")]
    reasons = [r.reason for r in message.rejected]
    assert reasons[0].startswith("event 1: kind: Input should be 'failure'")
    assert reasons[1] == "event 2: body: Value error, end must not be before ts"
    assert reasons[2] == "event 3: ts: Input should have timezone info"
    assert reasons[3] == "event 4: machine 'press-9' differs from the topic's 'press-1'"
    assert reasons[4].startswith("event 5: colour: Extra inputs are not permitted")
    assert decode_events(b"\xff{", "m", "s").rejected[0].reason.startswith("payload is not JSON")


def test_events_topic_stores_good_events_dead_letters_bad_ones_and_replans(
    database: Database,
    runtime: IngestRuntime,
    mqtt_broker: tuple[str, int],
    unique: str,
) -> None:
    for name in ("press-1", "press-2"):
        database.execute("INSERT INTO machines (name) VALUES (%s)", (name,))
    prefix = f"plant{unique}"
    config = source_config(
        f"ev{unique}", *mqtt_broker, [{"topic": f"{prefix}/events/{{machine}}", "format": "events"}]
    )
    collector = MqttCollector(config, runtime.pipeline, runtime.metrics, database=runtime.database)
    collector.start()
    pub = Publisher(*mqtt_broker)
    try:
        assert collector.wait_connected(10)
        time.sleep(0.3)  # SUBACK
        single = {"kind": "failure", "ts": "2026-03-01T08:00:00Z", "component": "spindle"}
        batch = [
            {"kind": "maintenance", "ts": "2026-03-01T09:00:00Z", "work_order": "WO-7"},
            {"kind": "explosion", "ts": "2026-03-01T09:30:00Z"},
            {"kind": "downtime", "ts": "2026-03-02T06:00:00Z", "end": "2026-03-02T14:00:00Z"},
            {"kind": "repair", "ts": "2026-03-01T12:00:00Z", "end": "2026-03-01T11:00:00Z"},
        ]
        pub.publish_many(
            [
                (f"{prefix}/events/press-1", json.dumps(single)),
                (f"{prefix}/events/press-2", json.dumps(batch)),
                (f"{prefix}/events/press-404", json.dumps(single)),
                (f"{prefix}/events/press-1", "not json"),
            ]
        )
        wait_for(lambda: len(_letters(database)) == 4)
        assert _events(database) == [
            ("press-1", "failure", "2026-03-01 08:00:00+00", None, "spindle"),
            ("press-2", "maintenance", "2026-03-01 09:00:00+00", "WO-7", None),
            ("press-2", "downtime", "2026-03-02 06:00:00+00", None, None),
        ]
        letters = _letters(database)
        assert letters[0].startswith("event 1: kind:")
        assert letters[1] == "event 3: body: Value error, end must not be before ts"
        assert letters[2] == "event: no machine named 'press-404' (registration is off)"
        assert letters[3].startswith("payload is not JSON")
        downtime = database.execute(
            "SELECT d.start_at::text, d.end_at::text FROM machine_downtime d"
            " JOIN machines m ON m.id = d.machine_id WHERE m.name = 'press-2'"
        )
        assert downtime == [("2026-03-02 06:00:00+00", "2026-03-02 14:00:00+00")]
        requested = database.execute("SELECT requested_by FROM schedules WHERE state = 'requested'")
        assert requested == [(f"mqtt:ev{unique} (event)",)]  # one waiting request for both

        # the same messages again (a re-delivery, a retrying MES): nothing new is stored
        pub.publish_many(
            [
                (f"{prefix}/events/press-1", json.dumps(single)),
                (f"{prefix}/events/press-2", json.dumps(batch[:1] + batch[2:3])),
            ]
        )
        wait_for(lambda: collector.events is not None and collector.events.stored == 3)
        time.sleep(0.5)
        assert len(_events(database)) == 3
        assert collector.events is not None and collector.events.stored == 3
    finally:
        pub.close()
        collector.stop()
