"""Sparkplug B payloads for tests: what an edge node would publish, built field by field."""

from __future__ import annotations

import gzip
import zlib

from ingest.sparkplug import COMPRESSED_UUID
from millwright.core import sparkplug_b_pb2 as pb  # messages made at import: no stubs

MS = 1_714_564_800_000  # 2024-05-01T12:00:00Z, the payloads' default timestamp (ms)


def spb(seq: int | None, metrics: list[dict[str, object]], ts: int | None = MS) -> bytes:
    """A serialized payload: ``seq`` and ``ts`` unless None, one metric per dict of fields."""
    p = pb.Payload()  # type: ignore[attr-defined]
    if ts is not None:
        p.timestamp = ts
    if seq is not None:
        p.seq = seq
    for spec in metrics:
        m = p.metrics.add()
        for key, value in spec.items():
            setattr(m, key, value)
    return p.SerializeToString()


def compressed(inner: bytes, algorithm: str | None) -> bytes:
    """What Eclipse Tahu publishes with ``compress: true`` (body + ``algorithm`` metric);
    no metric at all when ``algorithm`` is None (DEFLATE is the default)."""
    outer = pb.Payload(uuid=COMPRESSED_UUID)  # type: ignore[attr-defined]
    outer.body = gzip.compress(inner) if algorithm == "GZIP" else zlib.compress(inner)
    if algorithm is not None:
        metric = outer.metrics.add()
        metric.name, metric.datatype, metric.string_value = "algorithm", 12, algorithm
    return outer.SerializeToString()
