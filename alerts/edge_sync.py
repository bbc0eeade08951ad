"""Alert episodes across the link to the plant-floor edge (``millwright edge``).

While the central database is reachable the edge copies each (machine, rule) episode as the
centre knows it (:func:`central_episodes`), so that during an outage it continues the same
episode with the same clocks (`alerts.episodes` is pure and runs there unchanged). What the
edge records during the outage comes back through :func:`adopt_edge_transitions` when the
link returns:

- each transition is adopted once, keyed by the edge's id of it (``alert_edge_transitions``),
  so a sync that runs twice or resumes after a crash changes nothing more;
- an episode the edge opened becomes one ``alerts`` row (``details.scored_at_edge``); one
  the centre had open before the outage simply escalates or resolves;
- if the centre opened the same (machine, rule) episode meanwhile (the collector's buffered
  readings scored before the edge synced), the edge's opening folds into that row instead of
  adding a second one: one episode, opened at the earlier instant;
- the episode clocks move to the edge's when they are newer, so the next central evaluation
  continues the episode instead of restarting it;
- endpoints marked ``reachable_from_edge`` already got the edge's webhooks; only the others
  are told now (same payload, same signing, through the central outbox).

:func:`edge_event` builds the edge's webhook from the same payload model as the centre's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from alerts.config import AlertsConfig
from alerts.episodes import AlertState, EpisodeState, Severity, Transition, TransitionKind
from alerts.lifecycle import alarm_state
from alerts.outbox import enqueue
from alerts.payload import AlertData, MachinePublic, RiskPublic, WebhookEvent
from alerts.service import EVENT_OF, alert_event, dashboard_url
from alerts.store import (
    Alert,
    fetch_alert,
    journal,
    load_episode_state,
    open_alert,
    record_transition,
    save_episode_state,
)
from millwright.core.storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeEpisode:
    """One (machine, rule) episode as the edge carries it: the clocks of the episode logic
    and, while an episode is in progress, its alert (``central_id`` once the centre has it)."""

    machine_id: int
    rule: str
    state: EpisodeState
    episode: str | None = None
    central_id: int | None = None
    opened_at: datetime | None = None
    escalated_at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.state.severity is None) != (self.opened_at is None):
            raise ValueError(
                f"machine {self.machine_id} rule {self.rule!r}: an episode in progress needs"
                " its opened_at, and only then."
            )


@dataclass(frozen=True)
class EdgeTransition:
    """A transition the edge recorded: its own id, the episode's id and the transition."""

    uid: str
    episode: str
    machine_id: int
    transition: Transition


@dataclass
class AdoptReport:
    """What one :func:`adopt_edge_transitions` call changed centrally."""

    adopted: int = 0
    already: int = 0
    merged: int = 0
    states: int = 0
    deliveries: int = 0
    alerts: dict[str, int] = field(default_factory=dict)  # edge episode -> central alert id


def central_episodes(database: Database) -> list[EdgeEpisode]:
    """Every (machine, rule) episode the centre knows: clocks and the alert in progress."""
    rows = database.execute(
        "SELECT s.machine_id, s.rule, s.above_since, s.critical_since, s.clear_since, s.last_ts,"
        " a.id, a.severity, a.opened_at, a.escalated_at, a.details->>'edge_episode'"
        " FROM alert_episode_state s LEFT JOIN alerts a ON a.machine_id = s.machine_id"
        " AND a.rule = s.rule AND a.state <> 'resolved' ORDER BY s.machine_id, s.rule"
    )
    episodes = []
    for row in rows:
        severity = Severity(row[7]) if row[7] is not None else None
        state = EpisodeState(severity, row[2], row[3], row[4], row[5])
        episode = row[10] or (f"central-{row[6]}" if row[6] is not None else None)
        episodes.append(
            EdgeEpisode(int(row[0]), str(row[1]), state, episode, row[6], row[8], row[9])
        )
    return episodes


def edge_event(
    episode: EdgeEpisode,
    transition: Transition,
    *,
    machine: str,
    line: str | None,
    machine_class: str | None,
    config: AlertsConfig,
    public_url: str,
    now: datetime,
) -> WebhookEvent:
    """The webhook the edge sends for ``transition`` of ``episode`` (state after it).

    The centre's payload, less what only the central database knows (the plan's maintenance
    window, late orders, acknowledgements): ``scored_at_edge`` says so."""
    score = transition.score
    resolved = transition.kind is TransitionKind.RESOLVE
    state = (
        AlertState.RESOLVED
        if resolved
        else AlertState.ESCALATED
        if episode.escalated_at is not None
        else AlertState.OPEN
    )
    opened_at = episode.opened_at or transition.ts
    data = AlertData(
        alert_id=episode.central_id,
        rule=transition.rule,
        severity=transition.severity.value,
        state=state.value,
        opened_at=opened_at,
        escalated_at=episode.escalated_at,
        resolved_at=transition.ts if resolved else None,
        lifecycle=alarm_state(
            active=not resolved,
            acknowledged=False,
            shelved_until=None,
            machine_status=None,
            out_of_service=False,
            now=now,
        ).value,
        machine=MachinePublic(
            name=machine,
            line=line,
            machine_class=machine_class,
            dashboard_url=dashboard_url(public_url, machine),
        ),
        risk=RiskPublic(
            p_fail=score.p_fail,
            rul=score.rul,
            rul_low=score.rul_low,
            horizon_hours=score.horizon_hours,
            model_version=score.model_version,
            scored_at=score.ts,
        ),
        top_features=list(score.top_features),
        assumed_repair_hours=config.assumed_repair_hours,
        scored_at_edge=True,
        edge_episode=episode.episode,
    )
    return WebhookEvent(
        type=EVENT_OF[transition.kind], timestamp=now, data=data.model_dump(mode="json")
    )


def adopt_edge_transitions(
    database: Database,
    config: AlertsConfig,
    transitions: Sequence[EdgeTransition],
    states: Mapping[tuple[int, str], EpisodeState],
    *,
    public_url: str,
    now: datetime,
) -> AdoptReport:
    """Record the edge's transitions and episode clocks centrally, once each (see the module
    docstring); one transaction per (machine, rule)."""
    report = AdoptReport()
    keys = sorted({(t.machine_id, t.transition.rule) for t in transitions} | set(states))
    for machine_id, rule in keys:
        mine = sorted(
            (t for t in transitions if (t.machine_id, t.transition.rule) == (machine_id, rule)),
            key=lambda t: t.transition.ts,
        )
        with database.connection() as conn:
            central = load_episode_state(conn, machine_id, rule)  # locks the (machine, rule)
            for item in mine:
                _adopt(conn, config, machine_id, item, report, public_url=public_url, now=now)
            edge_state = states.get((machine_id, rule))
            if edge_state is not None and _newer(edge_state.last_ts, central.last_ts):
                save_episode_state(conn, machine_id, rule, edge_state)
                report.states += 1
    return report


def _newer(edge: datetime | None, central: datetime | None) -> bool:
    return edge is not None and (central is None or edge > central)


def _adopt(
    conn: psycopg.Connection[Any],
    config: AlertsConfig,
    machine_id: int,
    item: EdgeTransition,
    report: AdoptReport,
    *,
    public_url: str,
    now: datetime,
) -> None:
    transition = item.transition
    seen = conn.execute(
        "INSERT INTO alert_edge_transitions (uid, episode, machine_id, rule, kind, ts)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (uid) DO NOTHING RETURNING uid",
        (item.uid, item.episode, machine_id, transition.rule, transition.kind.value, transition.ts),
    ).fetchone()
    if seen is None:
        report.already += 1
        return
    current = open_alert(conn, machine_id, transition.rule)
    alert = _apply(conn, machine_id, current, item, report)
    if alert is None:  # nothing left to change (e.g. a resolve of an episode already closed)
        return
    conn.execute(
        "UPDATE alerts SET details = details || %s::jsonb WHERE id = %s",
        (json.dumps({"scored_at_edge": True, "edge_episode": item.episode}), alert.id),
    )
    conn.execute(
        "UPDATE alert_edge_transitions SET alert_id = %s WHERE uid = %s", (alert.id, item.uid)
    )
    alert = fetch_alert(conn, alert.id)
    report.adopted += 1
    report.alerts[item.episode] = alert.id
    event = alert_event(conn, alert, EVENT_OF[transition.kind], config, public_url, now=now)
    report.deliveries += len(enqueue(conn, config, event, alert.id, skip_edge_reachable=True))
    log.info("edge %s of alert %s adopted (%s)", transition.kind, alert.id, item.uid)


def _apply(
    conn: psycopg.Connection[Any],
    machine_id: int,
    current: Alert | None,
    item: EdgeTransition,
    report: AdoptReport,
) -> Alert | None:
    transition = item.transition
    kind = transition.kind
    if kind is TransitionKind.OPEN and current is not None:
        # The centre opened this episode too (it scored the buffered readings first): one
        # episode, opened at the earlier of the two instants.
        conn.execute(
            "UPDATE alerts SET opened_at = LEAST(opened_at, %s) WHERE id = %s",
            (transition.ts, current.id),
        )
        journal(
            conn, current.id, transition.ts, "opened", None, "opened at the edge as well",
            {"edge_episode": item.episode},
        )  # fmt: skip
        report.merged += 1
        return fetch_alert(conn, current.id)
    if kind is TransitionKind.ESCALATE and current is None:
        # The centre saw the episode resolved meanwhile: the edge's escalation reopens it.
        opened = Transition(TransitionKind.OPEN, transition.rule, Severity.CRITICAL,
                            transition.ts, transition.score)  # fmt: skip
        return record_transition(conn, machine_id, None, opened)
    if (
        kind is TransitionKind.ESCALATE
        and current is not None
        and current.severity is Severity.CRITICAL
    ):
        return current
    if kind is TransitionKind.RESOLVE and current is None:
        return None
    return record_transition(conn, machine_id, current, transition)
