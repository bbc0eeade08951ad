"""The model registry in the ``models`` table: save candidates, load, list, promote.

A version is ``mdl-`` and 12 hex digits of the artifact's SHA-256, so saving the same model
twice is a no-op and equal versions mean equal models. The artifact is JSON (see
:mod:`models.artifact`); listings never read it.

Promotion (:func:`promote`) moves one model to ``active`` and the previous active one to
``retired`` in one transaction; the partial unique index keeps at most one active model.
Without ``force`` a model is promoted only when it beats the active one on the candidate's own
held-out validation rows, both models re-scored on the same rows now (see
:mod:`models.promotion` for the rule).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Jsonb

from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.errors import ModelsError
from models.holdout import ValidationSet
from models.promotion import Decision, Gates, gate, judge, rescore

if TYPE_CHECKING:  # training (scikit-learn) is not needed to load and score a model
    from models.training import TrainingResult

log = logging.getLogger(__name__)


class ModelNotFoundError(ModelsError, LookupError):
    """No model with that version is registered."""


class NoActiveModelError(ModelsError):
    """Scoring or comparison needs an active model and none has been promoted."""


class ModelStatus(enum.StrEnum):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


_COLUMNS = (
    "version, status, created_at, promoted_at, trained_from, trained_to, feature_version,"
    " params, metrics"
)
_INSERT = """
INSERT INTO models (version, trained_from, trained_to, feature_version, params, metrics, artifact)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (version) DO NOTHING
"""
_LIST = f"SELECT {_COLUMNS} FROM models ORDER BY created_at, id"
_ONE = f"SELECT {_COLUMNS} FROM models WHERE version = %s"
_ARTIFACT = f"SELECT {_COLUMNS}, artifact FROM models WHERE version = %s"
_ACTIVE = "SELECT version FROM models WHERE status = 'active'"
_LOCK_ACTIVE = "SELECT version FROM models WHERE status = 'active' FOR UPDATE"
_RETIRE = "UPDATE models SET status = 'retired' WHERE status = 'active' AND version <> %s"
_ACTIVATE = (
    "UPDATE models SET status = 'active', promoted_at = now()"
    " WHERE version = %s AND status <> 'active'"
)
_LATEST_DRIFT = """
SELECT ts, drift FROM risk_scores WHERE model_version = %s ORDER BY ts DESC LIMIT 1
"""


@dataclass(frozen=True)
class ModelRecord:
    """A registered model without its artifact."""

    version: str
    status: ModelStatus
    created_at: datetime
    promoted_at: datetime | None
    trained_from: datetime | None
    trained_to: datetime | None
    feature_version: str
    params: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def validation(self) -> ValidationSet | None:
        doc = self.params.get("validation")
        return ValidationSet.from_json(doc) if doc else None


@dataclass(frozen=True)
class RegisteredModel:
    """A record and its loaded artifact, ready to score."""

    record: ModelRecord
    artifact: ModelArtifact

    @property
    def version(self) -> str:
        return self.record.version


def _record(row: tuple[Any, ...]) -> ModelRecord:
    return ModelRecord(
        version=row[0],
        status=ModelStatus(row[1]),
        created_at=row[2],
        promoted_at=row[3],
        trained_from=row[4],
        trained_to=row[5],
        feature_version=row[6],
        params=row[7] or {},
        metrics=row[8] or {},
    )


def version_of(artifact: ModelArtifact) -> str:
    return "mdl-" + artifact.digest()[:12]


def save_candidate(database: Database, result: TrainingResult) -> ModelRecord:
    """Store a trained model as a candidate (idempotent: an equal model keeps its record)."""
    version = version_of(result.artifact)
    database.execute(
        _INSERT,
        (
            version,
            result.trained_from,
            result.trained_to,
            result.feature_version,
            Jsonb(result.params),
            Jsonb(result.metrics),
            Jsonb(result.artifact.to_json()),
        ),
    )
    log.info("saved model %s (%s)", version, result.feature_version)
    return get_record(database, version)


def list_models(database: Database) -> list[ModelRecord]:
    """Every registered model, oldest first (artifacts not read)."""
    return [_record(row) for row in database.execute(_LIST)]


def get_record(database: Database, version: str) -> ModelRecord:
    rows = database.execute(_ONE, (version,))
    if not rows:
        raise ModelNotFoundError(f"no model {version!r}; see `millwright models list`")
    return _record(rows[0])


def load_model(database: Database, version: str) -> RegisteredModel:
    """The record and the artifact of ``version``."""
    rows = database.execute(_ARTIFACT, (version,))
    if not rows:
        raise ModelNotFoundError(f"no model {version!r}; see `millwright models list`")
    return RegisteredModel(_record(rows[0]), ModelArtifact.from_json(rows[0][-1]))


def active_version(database: Database) -> str | None:
    rows = database.execute(_ACTIVE)
    return str(rows[0][0]) if rows else None


def load_active(database: Database) -> RegisteredModel:
    """The active model; :class:`NoActiveModelError` when none was promoted."""
    version = active_version(database)
    if version is None:
        raise NoActiveModelError(
            "no active model; train one with `millwright train --promote` "
            "or promote a candidate with `millwright models promote VERSION`"
        )
    return load_model(database, version)


def latest_drift(database: Database, version: str) -> tuple[datetime, dict[str, Any]] | None:
    """The drift stored with the newest score of ``version`` (None before any scoring)."""
    rows = database.execute(_LATEST_DRIFT, (version,))
    return (rows[0][0], rows[0][1]) if rows else None


def promote(
    database: Database,
    version: str,
    *,
    force: bool = False,
    rmse_tolerance: float = 0.05,
    gates: Gates | None = None,
) -> Decision:
    """Make ``version`` the active model if it passes its own gates and beats the active one
    (or ``force``; see :mod:`models.promotion`).

    Returns the decision, promoted or not, with both models' metrics on the same rows.
    """
    gates = gates or Gates(rmse_tolerance=rmse_tolerance)
    candidate = load_model(database, version)
    current = active_version(database)
    if current == version:
        return Decision(version, False, "already the active model", current)
    decision: Decision
    refused = gate(candidate.record.metrics, candidate.artifact.quantile, gates)
    if refused is not None:
        decision = Decision(version, False, refused, current, candidate.record.metrics)
    elif current is None:
        decision = Decision(
            version, True, "first model: passes its gates, nothing to compare with", None
        )
    else:
        validation = candidate.record.validation
        if validation is None:
            decision = Decision(version, False, "the candidate has no validation set", current)
        else:
            active = load_model(database, current)
            scored = rescore(
                database,
                validation,
                (candidate.artifact, candidate.record.feature_version),
                (active.artifact, active.record.feature_version),
            )
            decision = judge(version, current, scored, gates.rmse_tolerance, gates.brier_margin)
    if force and not decision.promoted:
        decision = Decision(
            version,
            True,
            f"forced (would not be: {decision.reason})",
            current,
            decision.candidate,
            decision.active,
            decision.rows,
        )
    if decision.promoted:
        _activate(database, version, current)
        log.info("promoted %s (previous %s): %s", version, current, decision.reason)
    return decision


def gates_of(config: Any) -> Gates:
    """The promotion thresholds of a ``ModelsConfig``."""
    return Gates(
        min_machines=config.promotion_min_machines,
        coverage_band=config.coverage_band,
        brier_margin=config.promotion_brier_margin,
        rmse_tolerance=config.promotion_rmse_tolerance,
    )


def _activate(database: Database, version: str, expected: str | None) -> None:
    """Retire the active model and activate ``version``, unless someone promoted meanwhile."""
    with database.connection() as conn, conn.transaction():
        row = conn.execute(_LOCK_ACTIVE).fetchone()
        now_active = row[0] if row else None
        if now_active != expected:
            raise ModelsError(
                f"the active model changed from {expected} to {now_active} while {version} "
                "was being compared; run the promotion again"
            )
        conn.execute(_RETIRE, (version,))
        conn.execute(_ACTIVATE, (version,))
