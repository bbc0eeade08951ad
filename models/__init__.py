"""Failure risk and remaining useful life.

Owns training, leak-free validation, the model registry, scoring with explanations, drift and
the C-MAPSS evaluation.

The latest risk per machine (:func:`latest_risks`) is the read model of ``risk_scores``; its
query lives on the ground floor (:mod:`millwright.core.storage.risk`) so that the scheduler,
which may not import this package, reads through the same one.

The face: other packages import only the names in ``__all__`` (``from models import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from millwright.core.storage.risk import LatestRisk, latest_risks
    from models.artifact import ModelArtifact
    from models.config import ModelsConfig
    from models.errors import ModelsError
    from models.native_booster import NativeBooster
    from models.registry import (
        NoActiveModelError,
        RegisteredModel,
        active_version,
        load_model,
        promote,
        save_candidate,
    )
    from models.scoring import Scorer, score_frame, score_latest, write_scores
    from models.training import train_model

_FACE = {
    "LatestRisk": "millwright.core.storage.risk",
    "ModelArtifact": "models.artifact",
    "ModelsConfig": "models.config",
    "ModelsError": "models.errors",
    "NativeBooster": "models.native_booster",
    "NoActiveModelError": "models.registry",
    "RegisteredModel": "models.registry",
    "active_version": "models.registry",
    "load_model": "models.registry",
    "Scorer": "models.scoring",
    "latest_risks": "millwright.core.storage.risk",
    "promote": "models.registry",
    "save_candidate": "models.registry",
    "score_frame": "models.scoring",
    "score_latest": "models.scoring",
    "train_model": "models.training",
    "write_scores": "models.scoring",
}

__all__ = [
    "LatestRisk",
    "ModelArtifact",
    "ModelsConfig",
    "ModelsError",
    "NativeBooster",
    "NoActiveModelError",
    "RegisteredModel",
    "Scorer",
    "active_version",
    "latest_risks",
    "load_model",
    "promote",
    "save_candidate",
    "score_frame",
    "score_latest",
    "train_model",
    "write_scores",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
