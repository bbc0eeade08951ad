"""``bench scale`` end to end on a small plant: every published reading stored once."""

from __future__ import annotations

import pytest

from bench.scale import run_scale_benchmark


@pytest.mark.slow  # starts collector and worker processes: about 1.5 minutes
def test_two_collectors_and_two_workers_store_everything_once(
    postgres_admin_url: str, mqtt_broker: tuple[str, int]
) -> None:
    host, port = mqtt_broker
    result = run_scale_benchmark(
        postgres_admin_url,
        f"mqtt://{host}:{port}",
        machines=40,
        sensors=5,
        rate=1,
        collectors=[2],
        workers=[2],
        seconds=30,
    )
    (run,) = result["runs"]
    assert run["published"] == 40 * 5 * 30
    assert run["stored"] == run["published"]
    assert (run["dropped"], run["duplicated"]) == (0, 0)
    assert run["feature_rows"] > 0
    # the seeded model is active and the score workers scored with it
    assert run["model"] is not None and run["risk_scores"] > 0
    assert run["latency_to_risk_p50_s"] is not None
    assert run["latency_to_risk_p50_s"] >= run["latency_to_features_p50_s"] - 1.0
    assert set(run["cpu_s_per_1000_readings"]) == {
        "publish",
        "collect",
        "features",
        "score",
        "database",
    }
    assert all(v > 0 for v in run["cpu_s_per_1000_readings"].values())
