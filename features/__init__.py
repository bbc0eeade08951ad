"""Features: the versioned definition registry, the feature math, incremental and backfill
feature jobs, the feature store, and labels (failure within a horizon, remaining useful life)
from events.

The face: other packages import only the names in ``__all__`` (``from features import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from features.bins import closed_bins, empty_bins, features_from_bins
    from features.config import FeaturesConfig
    from features.errors import FeaturesError, UnknownVersionError
    from features.frames import latest_features, load_training_frame, plant_clock
    from features.jobs import FeatureJob, resolve_definition
    from features.state import FeatureState, feature_state, features_at
    from features.store import FeatureStore

_FACE = {
    "FeatureJob": "features.jobs",
    "FeatureState": "features.state",
    "FeatureStore": "features.store",
    "FeaturesConfig": "features.config",
    "FeaturesError": "features.errors",
    "closed_bins": "features.bins",
    "empty_bins": "features.bins",
    "features_from_bins": "features.bins",
    "UnknownVersionError": "features.errors",
    "feature_state": "features.state",
    "features_at": "features.state",
    "latest_features": "features.frames",
    "load_training_frame": "features.frames",
    "plant_clock": "features.frames",
    "resolve_definition": "features.jobs",
}

__all__ = [
    "FeatureJob",
    "FeatureState",
    "FeatureStore",
    "FeaturesConfig",
    "FeaturesError",
    "UnknownVersionError",
    "closed_bins",
    "empty_bins",
    "feature_state",
    "features_at",
    "features_from_bins",
    "latest_features",
    "load_training_frame",
    "plant_clock",
    "resolve_definition",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
