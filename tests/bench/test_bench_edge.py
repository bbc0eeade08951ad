"""`bench edge` on a tiny plant: the edge side runs in its own interpreter, reports its memory,
and keeps one score per machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.edge import edge_child, write_cache
from edge import EdgeCache
from models.config import LightGBMParams, ModelsConfig


def test_edge_child_scores_every_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    config = ModelsConfig.model_validate(
        {"lightgbm": LightGBMParams(n_estimators=10, num_leaves=7, n_jobs=1)}
    )
    path = tmp_path / "edge.sqlite"
    write_cache(path, config, machines=4, sensors=3)
    edge_child(str(path), sample_seconds=600, repeats=2)
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (doc["machines"], doc["sensors"]) == (4, 3)
    # one reading every 10 min: the open bin holds one raw; the 24 h look-back is reduced
    assert doc["readings_in_memory"] == 4 * 3
    assert doc["closed_bins"] == 24 * 6
    assert doc["rss_mb"] > 0
    cache = EdgeCache(path)
    assert len(cache.scores()) == 4 * 3  # three instants (warm-up + 2 timed), 4 machines
    cache.close()
