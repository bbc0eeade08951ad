"""Oversize payloads: a 10 MB message is refused and memory stays bounded."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

from ingest.dead_letters import read_dead_letters
from millwright.core.storage import Database
from tests.ingest.conftest import readings_of, wait_for

TEN_MB = b"7" * (10 * 1024 * 1024)
TS = "2024-05-01T12:00:00+00:00"


def test_ten_megabyte_payloads_are_dead_lettered_cut_with_bounded_memory(
    database: Database, publisher: Any, unique: str, start_collector: Any
) -> None:
    m = f"o{unique}"
    start_collector(f"o{unique}/{{machine}}/{{sensor}}")
    tracemalloc.start()
    try:
        for _ in range(3):
            publisher.publish(f"o{unique}/{m}/v", TEN_MB)
        publisher.publish(f"o{unique}/{m}/v", json.dumps({"ts": TS, "value": 1}))
        wait_for(lambda: len(read_dead_letters(database, source=f"s{unique}")) == 3)
        wait_for(lambda: readings_of(database, m) == {(m, "v", TS, 1.0, 0)})
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    letters = read_dead_letters(database, source=f"s{unique}")
    assert all("exceeds max_payload_bytes" in d.reason for d in letters)
    assert all(len(d.payload) <= 1024 for d in letters)
    # the in-process publisher's packet copies plus paho reading one message at a time:
    # bounded by a few payloads however many arrive; nothing keeps them afterwards
    assert peak < 8 * len(TEN_MB), f"peak {peak} bytes"
    assert current < 2 * len(TEN_MB), f"still held: {current} bytes"


def test_broker_drops_messages_above_maximum_packet_size_before_they_reach_us(
    database: Database,
    runtime: Any,
    publisher: Any,
    unique: str,
    start_collector: Any,
) -> None:
    m = f"p{unique}"
    collector = start_collector(
        f"p{unique}/{{machine}}/{{sensor}}", max_packet_bytes=65_536, max_payload_bytes=32_768
    )
    publisher.publish(f"p{unique}/{m}/v", TEN_MB)
    publisher.publish(f"p{unique}/{m}/v", json.dumps({"ts": TS, "value": 2}))
    wait_for(lambda: readings_of(database, m) == {(m, "v", TS, 2.0, 0)})
    # MQTT 5 Maximum Packet Size: the broker never sent the 10 MB message to the collector
    assert collector.health()["connected"]
    assert (
        runtime.metrics.value("millwright_ingest_messages_received_total", source=f"s{unique}") == 1
    )
