"""``collect --shard I/N``: rendezvous hashing of OPC-UA endpoints across collector processes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest.config import IngestConfig
from ingest.metrics import CollectorMetrics
from ingest.opcua.shard import Shard, apply_shard, owner, parse_shard, shard_sources

ENDPOINTS = [f"opc.tcp://plc-{i:03d}.plant.local:4840" for i in range(300)]


def _config(endpoints: list[str]) -> IngestConfig:
    return IngestConfig.model_validate(
        {
            "opcua": [
                {"name": f"plc{i}", "endpoint": e, "nodes": [{"node_id": "ns=2;i=1", "machine": "m",
                 "sensor": "s"}]}
                for i, e in enumerate(endpoints)
            ]
        }
    )  # fmt: skip


def test_two_collectors_cover_every_endpoint_exactly_once(tmp_path: Path) -> None:
    config = _config(ENDPOINTS[:40])
    first = apply_shard(config, parse_shard("1/2"), tmp_path)
    second = apply_shard(config, parse_shard("2/2"), tmp_path)
    taken = [s.endpoint for s in first.opcua] + [s.endpoint for s in second.opcua]
    assert sorted(taken) == sorted(ENDPOINTS[:40])
    assert len(first.opcua) > 0 and len(second.opcua) > 0
    # each keeps its own buffer file and labels its metrics with the shard
    assert first.buffer.path == tmp_path / "ingest-buffer-shard1of2.sqlite"
    assert second.buffer.path == tmp_path / "ingest-buffer-shard2of2.sqlite"
    assert (first.shard, second.shard) == ("1/2", "2/2")
    metrics = CollectorMetrics(shard=second.shard)
    assert metrics.value("millwright_ingest_shard_info", shard="2/2") == 1


def test_shares_are_even_and_deterministic() -> None:
    counts = Counter(owner(e, 3) for e in ENDPOINTS)
    assert sorted(counts) == [1, 2, 3]
    assert min(counts.values()) >= 80  # 100 expected each
    assert [owner(e, 3) for e in ENDPOINTS] == [owner(e, 3) for e in ENDPOINTS]


def test_adding_a_collector_moves_only_its_share() -> None:
    before = {e: owner(e, 3) for e in ENDPOINTS}
    after = {e: owner(e, 4) for e in ENDPOINTS}
    moved = [e for e in ENDPOINTS if before[e] != after[e]]
    assert {after[e] for e in moved} == {4}  # nothing moves between the old collectors
    assert 0.15 <= len(moved) / len(ENDPOINTS) <= 0.35  # about 1/4


def test_one_shard_takes_everything() -> None:
    assert shard_sources(_config(ENDPOINTS[:5]).opcua, Shard(1, 1)) == _config(ENDPOINTS[:5]).opcua


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "1/2/3"])
def test_bad_shards_are_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(ValueError, match=r"I/N|out of range"):
        parse_shard(text)
