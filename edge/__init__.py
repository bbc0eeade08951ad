"""The edge: scoring and alerting next to the collectors while the central database is away.

A local SQLite copy (:mod:`edge.cache`) of the active model and its feature state, refreshed
on promotion; the collector's MQTT stream in a window of raw open bins and reduced closed
bins (:mod:`edge.window`); features with the central feature math and scores with the
artifact's own scoring function (:mod:`edge.scoring`); while the central database is away,
the central episode logic and signed webhooks to the plant LAN from a local outbox
(:mod:`edge.alerting`); scores and episodes synced to the centre idempotently when the link
returns (:mod:`edge.service`).

The face: other packages import only the names in ``__all__`` (the composition root uses
:func:`keep_out` for the edge process; ``millwright edge`` loads :mod:`edge.cli` by name).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from edge.cache import EdgeCache
    from edge.config import EdgeConfig
    from edge.lean import keep_out
    from edge.scoring import EdgeScorer, EdgeScores, NoLocalModelError
    from edge.service import EdgeService

_FACE = {
    "EdgeCache": "edge.cache",
    "EdgeConfig": "edge.config",
    "EdgeService": "edge.service",
    "keep_out": "edge.lean",
    "EdgeScorer": "edge.scoring",
    "EdgeScores": "edge.scoring",
    "NoLocalModelError": "edge.scoring",
}

__all__ = [
    "EdgeCache",
    "EdgeConfig",
    "EdgeScorer",
    "EdgeScores",
    "EdgeService",
    "NoLocalModelError",
    "keep_out",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
