"""Collectors: MQTT and OPC-UA sources, payload decoders, tag mapping, the one naming rule
(:mod:`ingest.names`), batching, the store-and-forward buffer, dead letters, isolation of rows
the database refuses (:mod:`ingest.quarantine`) and collector metrics — one pipeline
(:mod:`ingest.pipeline`) behind two protocols.

The face: other packages import only the names in ``__all__`` (``from ingest import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from ingest.config import IngestConfig
    from ingest.decoders import decode
    from ingest.pipeline import Pipeline
    from ingest.rows import Row, to_epoch_us
    from ingest.service import run_collect
    from ingest.topics import TopicTemplate

_FACE = {
    "IngestConfig": "ingest.config",
    "Pipeline": "ingest.pipeline",
    "Row": "ingest.rows",
    "TopicTemplate": "ingest.topics",
    "decode": "ingest.decoders",
    "run_collect": "ingest.service",
    "to_epoch_us": "ingest.rows",
}

__all__ = [
    "IngestConfig",
    "Pipeline",
    "Row",
    "TopicTemplate",
    "decode",
    "run_collect",
    "to_epoch_us",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
