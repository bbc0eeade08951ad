"""Episodes across an outage: the centre adopts what the edge recorded, once, as one episode.

Real PostgreSQL; the edge's side is its pure episode logic (`alerts.evaluate`) over scores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from alerts import (
    AlertsConfig,
    EdgeEpisode,
    EdgeTransition,
    EndpointConfig,
    EpisodeState,
    Rule,
    RuleConfig,
    Score,
    adopt_edge_transitions,
    central_episodes,
    edge_event,
    edge_heartbeat,
    evaluate,
    evaluate_latest,
    list_alerts,
)
from alerts.outbox import list_deliveries
from millwright.core.storage.database import Database
from tests.alerts.conftest import SECRET, add_machine

T = datetime(2026, 3, 1, tzinfo=UTC)
RULE = Rule(name="risk", warning_p_fail=0.5, critical_p_fail=0.9, resolve_p_fail=0.3)


class _Adopt(TypedDict):
    """The keyword arguments of `adopt_edge_transitions`."""

    public_url: str
    now: datetime


def _config() -> AlertsConfig:
    endpoint: dict[str, Any] = {"secrets": [SECRET], "allow_private": True}
    return AlertsConfig(
        rules=[RuleConfig(name="risk", warning_p_fail=0.5, critical_p_fail=0.9,
                          resolve_p_fail=0.3)],
        endpoints=[
            EndpointConfig(name="lan", url="http://127.0.0.1:9/lan", reachable_from_edge=True,
                           **endpoint),
            EndpointConfig(name="cloud", url="http://127.0.0.1:9/cloud", **endpoint),
        ],
    )  # fmt: skip


def _edge_outage(machine_id: int, start: EpisodeState, values: list[float]) -> tuple[
    list[EdgeTransition], EpisodeState
]:  # fmt: skip
    scores = [Score(T + timedelta(minutes=10 * i), p, model_version="m1")
              for i, p in enumerate(values)]  # fmt: skip
    result = evaluate(RULE, start, scores)
    made = [
        EdgeTransition(f"edge-1:{t.kind.value}:{t.ts.isoformat()}", "edge-1", machine_id, t)
        for t in result.transitions
    ]
    return made, result.state


def _add_scores(database: Database, machine_id: int, values: list[float], start: datetime) -> None:
    with database.connection() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO risk_scores (ts, machine_id, model_version, horizon_hours, p_fail,"
            " rul, rul_low, top_features) VALUES (%s, %s, 'm1', 24, %s, 300, 200, '[]')",
            [(start + timedelta(minutes=10 * i), machine_id, p) for i, p in enumerate(values)],
        )


def test_edge_episode_is_adopted_once_and_continues_centrally(database: Database) -> None:
    config = _config()
    machine_id = add_machine(database)
    transitions, state = _edge_outage(machine_id, EpisodeState(), [0.1, 0.6, 0.7, 0.95])
    assert [t.transition.kind.value for t in transitions] == ["open", "escalate"]
    states = {(machine_id, "risk"): state}
    kwargs: _Adopt = {"public_url": "https://mw.example", "now": T + timedelta(hours=1)}

    report = adopt_edge_transitions(database, config, transitions, states, **kwargs)
    assert (report.adopted, report.already, report.states) == (2, 0, 1)
    again = adopt_edge_transitions(database, config, transitions, states, **kwargs)
    assert (again.adopted, again.already) == (0, 2)  # a sync that runs twice changes nothing

    (alert,) = list_alerts(database)
    assert alert.opened_at == T + timedelta(minutes=10)
    assert alert.severity.value == "critical"
    assert alert.details["scored_at_edge"] is True and alert.details["edge_episode"] == "edge-1"
    # the edge told the LAN; the centre tells only the others, once per transition
    deliveries = list_deliveries(database)
    assert sorted((d.endpoint, d.event_type) for d in deliveries) == [
        ("cloud", "alert.escalated"), ("cloud", "alert.opened")
    ]  # fmt: skip
    assert all(d.payload["data"]["scored_at_edge"] is True for d in deliveries)

    # the centre continues the episode: scores up to the edge's last are not seen again
    _add_scores(database, machine_id, [0.1, 0.6, 0.7, 0.95, 0.96, 0.2, 0.1], T)
    evaluate_latest(database, config, public_url="https://mw.example", now=T + timedelta(hours=2))
    (alert,) = list_alerts(database)
    assert alert.state.value == "resolved"
    assert alert.details["edge_episode"] == "edge-1"  # kept through the central resolve
    assert alert.details["scored_at_edge"] is True  # and so is where it was opened
    (episode,) = central_episodes(database)
    assert episode.state.severity is None and episode.state.last_ts == T + timedelta(minutes=60)


def test_an_episode_the_centre_opened_meanwhile_absorbs_the_edges(database: Database) -> None:
    config = _config()
    machine_id = add_machine(database)
    # the buffered readings were scored centrally before the edge synced: the centre opened
    _add_scores(database, machine_id, [0.1, 0.1, 0.7], T + timedelta(minutes=20))
    evaluate_latest(database, config, public_url="", now=T + timedelta(hours=1))
    transitions, state = _edge_outage(machine_id, EpisodeState(), [0.1, 0.6, 0.7])
    report = adopt_edge_transitions(
        database, config, transitions, {(machine_id, "risk"): state}, public_url="",
        now=T + timedelta(hours=1),
    )  # fmt: skip
    assert report.merged == 1
    (alert,) = list_alerts(database)
    assert alert.opened_at == T + timedelta(minutes=10)  # the earlier of the two openings


def test_edge_event_is_the_centres_payload_marked_scored_at_edge() -> None:
    config = _config()
    transitions, _ = _edge_outage(1, EpisodeState(), [0.6])
    t = transitions[0].transition
    episode = EdgeEpisode(1, "risk", EpisodeState(t.severity, t.ts, None, None, t.ts), "edge-1",
                          None, t.ts)  # fmt: skip
    event = edge_event(episode, t, machine="press-1", line="L1", machine_class="press",
                       config=config, public_url="https://mw.example", now=t.ts)  # fmt: skip
    assert event.type == "alert.opened"
    data = event.data
    assert (data["alert_id"], data["scored_at_edge"], data["edge_episode"]) == (
        None, True, "edge-1"
    )  # fmt: skip
    assert data["machine"]["dashboard_url"] == "https://mw.example/machines/press-1"
    assert data["risk"]["p_fail"] == 0.6


def test_the_centre_waits_for_the_edges_sync_before_judging_its_outage(
    database: Database,
) -> None:
    """The race: the buffered readings are scored centrally before the edge syncs. The centre
    holds those scores until the edge has handed over, so the LAN hears "opened" once."""
    config = _config()
    machine_id = add_machine(database)
    wall = T + timedelta(hours=3)
    edge_heartbeat(database, "edge-1", [machine_id], T, now=wall)  # before the outage
    # the edge alerted during the outage; the centre scored the replayed readings first
    transitions, state = _edge_outage(machine_id, EpisodeState(), [0.1, 0.6, 0.7])
    _add_scores(database, machine_id, [0.1, 0.6, 0.7], T + timedelta(minutes=10))
    held = evaluate_latest(database, config, public_url="", now=wall + timedelta(minutes=5))
    assert (held.held, held.transitions, list_alerts(database)) == (3, [], [])
    # the edge syncs: transitions, clocks and scores, then its hand-over
    adopt_edge_transitions(database, config, transitions, {(machine_id, "risk"): state},
                           public_url="", now=wall + timedelta(minutes=5))  # fmt: skip
    edge_heartbeat(database, "edge-1", [machine_id], T + timedelta(minutes=30),
                   now=wall + timedelta(minutes=5))  # fmt: skip
    after = evaluate_latest(database, config, public_url="", now=wall + timedelta(minutes=6))
    assert (after.held, after.transitions) == (0, [])  # the edge's episode, continued
    (alert,) = list_alerts(database)
    assert alert.details["scored_at_edge"] is True
    opened = [(d.endpoint, d.event_type) for d in list_deliveries(database)]
    assert opened == [("cloud", "alert.opened")]  # the LAN heard it from the edge alone
    # later scores past the hand-over are the centre's again once the edge covers them
    _add_scores(database, machine_id, [0.95], T + timedelta(minutes=40))
    edge_heartbeat(database, "edge-1", [machine_id], T + timedelta(minutes=40),
                   now=wall + timedelta(minutes=7))  # fmt: skip
    late = evaluate_latest(database, config, public_url="", now=wall + timedelta(minutes=7))
    assert [t.kind.value for _, t in late.transitions] == ["escalate"]


def test_a_silent_edge_holds_the_centre_only_for_the_hold(database: Database) -> None:
    config = _config()
    assert config.edge_hold_s == 120.0
    machine_id = add_machine(database)
    wall = T + timedelta(hours=3)
    edge_heartbeat(database, "edge-1", [machine_id], T, now=wall)
    _add_scores(database, machine_id, [0.7], T + timedelta(minutes=10))
    first = evaluate_latest(database, config, public_url="", now=wall + timedelta(seconds=10))
    assert first.held == 1 and not first.transitions
    still = evaluate_latest(database, config, public_url="", now=wall + timedelta(seconds=129))
    assert still.held == 1
    # the edge never synced: after the hold the centre judges the scores and tells everyone
    gone = evaluate_latest(database, config, public_url="", now=wall + timedelta(seconds=131))
    assert gone.held == 0 and [t.kind.value for _, t in gone.transitions] == ["open"]
    assert sorted(d.endpoint for d in list_deliveries(database)) == ["cloud", "lan"]
    # an edge without a hand-over yet (no model) holds nothing
    other = add_machine(database, name="press-2")
    edge_heartbeat(database, "edge-2", [other], None, now=wall)
    _add_scores(database, other, [0.7], T + timedelta(minutes=10))
    assert evaluate_latest(database, config, public_url="", now=wall).held == 0
