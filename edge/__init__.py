"""The edge: scoring and alerting next to the collectors while the central database is away.

A local SQLite copy (:mod:`edge.cache`) of the active model and its feature state, refreshed
on promotion; features from the readings the edge sees with the central feature math, scores
with the artifact's own scoring function (:mod:`edge.scoring`); scores synced to the centre
idempotently when the link returns.

The face: other packages import only the names in ``__all__`` (nothing imports the edge
today; ``millwright edge`` loads :mod:`edge.cli` by name).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from edge.cache import EdgeCache
    from edge.scoring import EdgeScorer, EdgeScores, NoLocalModelError

_FACE = {
    "EdgeCache": "edge.cache",
    "EdgeScorer": "edge.scoring",
    "EdgeScores": "edge.scoring",
    "NoLocalModelError": "edge.scoring",
}

__all__ = ["EdgeCache", "EdgeScorer", "EdgeScores", "NoLocalModelError"]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
