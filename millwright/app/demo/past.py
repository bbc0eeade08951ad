"""The plant's earlier weeks as the Outcomes page sees them: what the demo's model says about
the recorded past, and the alerts it would have raised.

The live plant does not wait for this: it runs in the background, at a lower CPU priority,
once the first plan is out. Steps, each the production verb on the past:

1. the readings of the weeks before the training window (:func:`record_earlier_readings`);
2. their features (a backfill that leaves the live watermarks where they are);
3. every feature row of the past scored by the active model, stored as risk scores at their
   own times (the weeks before the training window are data the model never saw);
4. the alert rules run over those scores from a clean episode state, the episodes stored as
   alerts (no webhooks: nobody is paged for the past); an episode still open at the end of
   the replay is resolved there, so the live alerting starts on a clean slate.

The replay stops ``alerts.lookback_hours`` before the live plant, the scores the live alerting
reads on its first look at a machine: the two never raise the same episode.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from alerts import EpisodeState, Score, Transition, TransitionKind, evaluate, rules_for
from alerts.store import journal
from features.jobs import FeatureJob
from features.store import FeatureStore
from millwright.app.demo.history import record_earlier_readings
from millwright.app.settings import Settings
from millwright.core.storage.database import Database
from models import load_model, score_frame, write_scores
from models.registry import active_version

log = logging.getLogger(__name__)

_SCORE_CHUNK = 5000


@dataclass(frozen=True)
class PastReplay:
    samples: int
    features: int
    scores: int
    alerts: int

    def describe(self) -> str:
        return (
            f"the recorded past scored: {self.scores:,} risk scores,"
            f" {self.alerts} alerts the model would have raised"
        )


def replay_past(
    database: Database,
    settings: Settings,
    start: datetime,
    train_from: datetime,
    live: datetime,
    *,
    checkpoint: Callable[[], None] = lambda: None,
) -> PastReplay:
    """Steps 1–4 of the module docstring for ``[start, live)``; ``train_from`` is where the
    readings recorded before the plant went live begin. Safe to run again (a restart after
    an interrupted replay): stored rows are kept, alerts are replayed only once."""
    samples = 0
    if train_from > start:
        samples = record_earlier_readings(
            database, settings.sim.model_copy(update={"start": start}), train_from,
            max_future_s=settings.max_future_seconds, checkpoint=checkpoint,
        )  # fmt: skip
        checkpoint()
    job = FeatureJob(database, settings.features, progress=lambda _done, _total: checkpoint())
    features = job.backfill(start, train_from).written if train_from > start else 0
    checkpoint()
    version = active_version(database)
    if version is None:
        raise RuntimeError("the past is scored with the active model; none is active")
    model = load_model(database, version)
    end = live - timedelta(hours=settings.alerts.lookback_hours)
    frame = FeatureStore(database).read(model.record.feature_version, start, end)
    frame = frame[pd.to_datetime(frame["ts"], utc=True) < pd.Timestamp(end)]
    scored: list[pd.DataFrame] = []
    written = 0
    for at in range(0, len(frame), _SCORE_CHUNK):
        checkpoint()
        rows, drift, _ = score_frame(
            model.artifact, frame.iloc[at : at + _SCORE_CHUNK].reset_index(drop=True),
            settings.models,
        )  # fmt: skip
        written += write_scores(
            database, rows, model_version=model.version,
            horizon_hours=model.artifact.horizon_hours, drift=drift,
        )  # fmt: skip
        scored.append(rows)
    checkpoint()
    alerts = 0
    if scored and not _replayed(database):
        alerts = _replay_alerts(
            database, settings, pd.concat(scored), model.version, model.artifact.horizon_hours
        )
    return PastReplay(samples, features, written, alerts)


def replay_in_background(
    database: Database,
    settings: Settings,
    start: datetime,
    train_from: datetime,
    live: datetime,
    stop: threading.Event,
    done: Callable[[PastReplay | None, BaseException | None], None],
) -> threading.Thread:
    """:func:`replay_past` in a daemon thread at a lower CPU priority (Linux sets it per
    thread), so the live services keep the cores; ``done`` hears the outcome."""

    def checkpoint() -> None:
        if stop.is_set():
            raise InterruptedError("the demo is stopping")

    def run() -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 15)
        try:
            result = replay_past(database, settings, start, train_from, live, checkpoint=checkpoint)
        except InterruptedError:
            return
        except Exception as exc:  # reported in one line by the caller; the demo goes on
            log.debug("replaying the past failed", exc_info=True)
            done(None, exc)
            return
        done(result, None)

    thread = threading.Thread(target=run, name="demo-past", daemon=True)
    thread.start()
    return thread


def _replayed(database: Database) -> bool:
    rows = database.execute("SELECT EXISTS (SELECT 1 FROM alerts WHERE details ? 'replayed')")
    return bool(rows[0][0])


def _replay_alerts(
    database: Database,
    settings: Settings,
    rows: pd.DataFrame,
    model_version: str,
    horizon_hours: float,
) -> int:
    """Run each machine's rules over its past scores from a clean state; store the episodes."""
    machines = database.execute("SELECT id, name, machine_class FROM machines ORDER BY id")
    rows = rows.sort_values(["machine_id", "ts"])
    opened = 0
    for machine_id, name, machine_class in machines:
        mine = rows[rows["machine_id"] == machine_id]
        if mine.empty:
            continue
        scores = [
            Score(
                ts=pd.Timestamp(ts).to_pydatetime(),
                p_fail=float(p),
                rul_low=None if pd.isna(low) else float(low),
                rul=None if pd.isna(rul) else float(rul),
                horizon_hours=horizon_hours,
                model_version=model_version,
            )
            for ts, p, low, rul in zip(
                mine["ts"], mine["p_fail"], mine["rul_low"], mine["rul"], strict=True
            )
        ]
        with database.connection() as conn:
            for rule in rules_for(settings.alerts.rules, str(name), machine_class):
                result = evaluate(rule, EpisodeState(), scores)
                transitions = list(result.transitions)
                if result.state.severity is not None:  # close what the replay leaves open
                    transitions.append(
                        Transition(
                            TransitionKind.RESOLVE, rule.name, result.state.severity,
                            scores[-1].ts, scores[-1],
                        )
                    )  # fmt: skip
                opened += _store_episodes(conn, machine_id, transitions)
    return opened


_EPISODE = """
INSERT INTO alerts (machine_id, rule, severity, state, opened_at, escalated_at, resolved_at,
                    p_fail, rul_low, details)
VALUES (%s, %s, %s, 'resolved', %s, %s, %s, %s, %s, %s) RETURNING id
"""


def _store_episodes(conn: Any, machine_id: int, transitions: list[Transition]) -> int:
    """Each past episode as one resolved alert (a live episode of the same rule may be open,
    and only one may be), with its journal; returns the episodes stored."""
    stored = 0
    episode: list[Transition] = []
    for transition in transitions:
        episode.append(transition)
        if transition.kind is not TransitionKind.RESOLVE:
            continue
        first, last = episode[0], episode[-1]
        escalated = next((t for t in episode if t.kind is TransitionKind.ESCALATE), None)
        severity = "critical" if escalated or first.severity.value == "critical" else "warning"
        details = json.dumps(
            {
                "model_version": first.score.model_version,
                "rul": first.score.rul,
                "horizon_hours": first.score.horizon_hours,
                "scored_at": first.score.ts.isoformat(),
                "replayed": True,
            }
        )
        row = conn.execute(
            _EPISODE,
            (
                machine_id, first.rule, severity, first.ts,
                escalated.ts if escalated else None, last.ts,
                first.score.p_fail, first.score.rul_low, details,
            ),
        ).fetchone()  # fmt: skip
        for step, action in ((first, "opened"), (escalated, "escalated"), (last, "resolved")):
            if step is not None:
                journal(
                    conn, row[0], step.ts, action, None, "replayed past",
                    {"p_fail": step.score.p_fail, "rul_low": step.score.rul_low},
                )  # fmt: skip
        stored += 1
        episode = []
    return stored
