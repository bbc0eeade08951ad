"""``millwright bench mqtt`` end to end on a small load (slow: run with -m slow)."""

from __future__ import annotations

import pytest

from bench.ingest_mqtt import run_mqtt_benchmark
from millwright.core.storage import Database


@pytest.mark.slow
def test_bench_mqtt_small_run_stores_everything(
    database: Database, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    result = run_mqtt_benchmark(
        database,
        mqtt_url=f"mqtt://{host}:{port}",
        messages=20_000,
        batched_readings=200_000,
        writer_rows=50_000,
    )
    for phase in ("single", "batched"):
        assert result[phase]["lost"] == 0, result[phase]
        assert result[phase]["stored"] == result[phase]["readings"]
        assert result[phase]["readings_per_s"] > 0
        bare = result["bare_paho"][phase]
        assert bare["received"] == bare["messages"] and bare["messages_per_s"] > 0
    assert result["writer"]["inserted"] == 50_000
    assert database.execute("SELECT count(*) FROM readings")[0][0] == 0  # cleaned up
