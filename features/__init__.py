"""Features: the versioned definition registry, the feature math, incremental and backfill
feature jobs, the feature store, and labels (failure within a horizon, remaining useful life)
from events.

Models read through :func:`features.frames.load_training_frame` and
:func:`features.frames.latest_features`.
"""
