"""Alerting at the edge while the central database is away.

- :meth:`LocalAlerts.copy_central` (link up): the centre's episodes, so an outage continues
  them (same clocks, same alert) instead of starting over;
- :meth:`LocalAlerts.evaluate` (link down): the central episode logic
  (:func:`alerts.evaluate`, with the rules of ``[alerts]``) over the scores computed here;
  each transition goes into the local journal and, for every endpoint marked
  ``reachable_from_edge``, into the local outbox (the centre's payload and body shapes,
  ``scored_at_edge: true``), all in one SQLite transaction;
- :meth:`LocalAlerts.pending` / :meth:`LocalAlerts.mark_synced` (link back): what the centre
  must adopt (:func:`alerts.adopt_edge_transitions`);
- :class:`EdgeSender` delivers the outbox, signed exactly as the central dispatcher signs
  (Standard Webhooks, :func:`alerts.webhook_headers`), retrying with backoff.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from alerts import (
    AlertsConfig,
    EdgeEpisode,
    EdgeTransition,
    EpisodeState,
    Score,
    Severity,
    TargetError,
    Transition,
    TransitionKind,
    body_for,
    check_target,
    edge_event,
    evaluate,
    rules_for,
    webhook_headers,
)
from edge.cache import EdgeCache

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

_EVENT = {
    TransitionKind.OPEN: "alert.opened",
    TransitionKind.ESCALATE: "alert.escalated",
    TransitionKind.RESOLVE: "alert.resolved",
}


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def episode_doc(episode: EdgeEpisode) -> dict[str, Any]:
    s = episode.state
    return {
        "severity": None if s.severity is None else s.severity.value,
        "above_since": _ts(s.above_since),
        "critical_since": _ts(s.critical_since),
        "clear_since": _ts(s.clear_since),
        "last_ts": _ts(s.last_ts),
        "episode": episode.episode,
        "central_id": episode.central_id,
        "opened_at": _ts(episode.opened_at),
        "escalated_at": _ts(episode.escalated_at),
    }


def episode_of(machine_id: int, rule: str, doc: dict[str, Any]) -> EdgeEpisode:
    severity = Severity(doc["severity"]) if doc["severity"] is not None else None
    state = EpisodeState(
        severity,
        _dt(doc["above_since"]),
        _dt(doc["critical_since"]),
        _dt(doc["clear_since"]),
        _dt(doc["last_ts"]),
    )
    return EdgeEpisode(
        machine_id,
        rule,
        state,
        doc["episode"],
        doc["central_id"],
        _dt(doc["opened_at"]),
        _dt(doc["escalated_at"]),
    )


def _score_doc(score: Score) -> dict[str, Any]:
    return {
        "ts": score.ts.isoformat(),
        "p_fail": score.p_fail,
        "rul_low": score.rul_low,
        "rul": score.rul,
        "horizon_hours": score.horizon_hours,
        "model_version": score.model_version,
        "top_features": list(score.top_features),
    }


def _score_of(doc: dict[str, Any]) -> Score:
    return Score(
        ts=datetime.fromisoformat(doc["ts"]),
        p_fail=doc["p_fail"],
        rul_low=doc["rul_low"],
        rul=doc["rul"],
        horizon_hours=doc["horizon_hours"],
        model_version=doc["model_version"],
        top_features=tuple(doc["top_features"]),
    )


def scores_of(
    rows: pd.DataFrame, model_version: str, horizon_hours: float
) -> dict[int, list[Score]]:
    """Score rows (machine_id, ts, p_fail, rul, rul_low, top_features) by machine."""
    out: dict[int, list[Score]] = {}
    for m, ts, p, rul, low, top in zip(
        rows["machine_id"], rows["ts"], rows["p_fail"], rows["rul"], rows["rul_low"],
        rows["top_features"], strict=True,
    ):  # fmt: skip
        features = json.loads(top) if isinstance(top, str) else list(top)
        out.setdefault(int(m), []).append(
            Score(
                ts=pd.Timestamp(ts).to_pydatetime(),
                p_fail=float(p),
                rul_low=None if pd.isna(low) else float(low),
                rul=None if pd.isna(rul) else float(rul),
                horizon_hours=horizon_hours,
                model_version=model_version,
                top_features=tuple(
                    f if isinstance(f, dict) else {"feature": str(f)} for f in features
                ),
            )
        )
    return out


class LocalAlerts:
    """The episode journal and webhook outbox of one edge (tables in its SQLite file)."""

    def __init__(self, cache: EdgeCache, config: AlertsConfig, *, public_url: str) -> None:
        self.cache = cache
        self.config = config
        self.public_url = public_url

    def copy_central(self, episodes: Sequence[EdgeEpisode]) -> bool:
        """Take the centre's episodes as the local ones; refused (False) while transitions
        recorded here still await the centre, so nothing of the outage is overwritten."""
        with self.cache.transaction() as conn:
            if conn.execute("SELECT 1 FROM transitions WHERE synced = 0 LIMIT 1").fetchone():
                return False
            conn.execute("DELETE FROM episodes")
            conn.executemany(
                "INSERT INTO episodes (machine_id, rule, state) VALUES (?, ?, ?)",
                [(e.machine_id, e.rule, json.dumps(episode_doc(e))) for e in episodes],
            )
        return True

    def episodes(self) -> dict[tuple[int, str], EdgeEpisode]:
        rows = self.cache.query("SELECT machine_id, rule, state FROM episodes")
        return {(int(m), str(r)): episode_of(int(m), str(r), json.loads(d)) for m, r, d in rows}

    def evaluate(self, scores: dict[int, list[Score]], *, now: datetime) -> list[Transition]:
        """Advance every scored machine's episodes; returns the transitions recorded."""
        machines = {m: (name, line, cls) for m, name, line, cls in self.cache.machines()}
        known = self.episodes()
        made: list[Transition] = []
        with self.cache.transaction() as conn:
            for machine_id, machine_scores in sorted(scores.items()):
                if machine_id not in machines:
                    continue
                name, line, machine_class = machines[machine_id]
                for rule in rules_for(self.config.rules, name, machine_class):
                    episode = known.get((machine_id, rule.name)) or EdgeEpisode(
                        machine_id, rule.name, EpisodeState()
                    )
                    # scores the episode has seen (here or centrally) are not judged twice
                    seen = episode.state.last_ts
                    fresh = [s for s in machine_scores if seen is None or s.ts > seen]
                    result = evaluate(rule, episode.state, fresh)
                    for transition in result.transitions:
                        episode = self._advance(episode, transition)
                        self._record(conn, episode, transition, name, line, machine_class, now)
                        made.append(transition)
                        log.warning(
                            "edge alert %s: %s %s (%s, p_fail %.3f)", transition.kind, name,
                            rule.name, transition.severity, transition.score.p_fail,
                        )  # fmt: skip
                    if result.state.severity is None:  # (an episode may open and resolve
                        episode = replace(  # within one pass: one replace, one valid episode)
                            episode, state=result.state, episode=None, central_id=None,
                            opened_at=None, escalated_at=None,
                        )  # fmt: skip
                    else:
                        episode = replace(episode, state=result.state)
                    conn.execute(
                        "INSERT INTO episodes (machine_id, rule, state) VALUES (?, ?, ?)"
                        " ON CONFLICT (machine_id, rule) DO UPDATE SET state = excluded.state",
                        (machine_id, rule.name, json.dumps(episode_doc(episode))),
                    )
        return made

    @staticmethod
    def _advance(episode: EdgeEpisode, transition: Transition) -> EdgeEpisode:
        """The episode's alert after ``transition`` (its clocks come from the evaluation)."""
        if transition.kind is TransitionKind.OPEN:
            return EdgeEpisode(
                episode.machine_id,
                episode.rule,
                replace(episode.state, severity=transition.severity),
                f"edge-{uuid.uuid4().hex}",
                None,
                transition.ts,
                transition.ts if transition.severity is Severity.CRITICAL else None,
            )
        if transition.kind is TransitionKind.ESCALATE:
            return replace(
                episode,
                state=replace(episode.state, severity=Severity.CRITICAL),
                escalated_at=transition.ts,
            )
        return episode  # resolve: the webhook still names the episode

    def _record(
        self,
        conn: Any,
        episode: EdgeEpisode,
        transition: Transition,
        machine: str,
        line: str | None,
        machine_class: str | None,
        now: datetime,
    ) -> None:
        uid = f"{episode.episode}:{transition.kind.value}:{transition.ts.isoformat()}"
        doc = {
            "kind": transition.kind.value,
            "rule": transition.rule,
            "severity": transition.severity.value,
            "ts": transition.ts.isoformat(),
            "score": _score_doc(transition.score),
        }
        conn.execute(
            "INSERT OR IGNORE INTO transitions (uid, episode, machine_id, rule, doc)"
            " VALUES (?, ?, ?, ?, ?)",
            (uid, episode.episode, episode.machine_id, transition.rule, json.dumps(doc)),
        )
        event = edge_event(
            episode, transition, machine=machine, line=line, machine_class=machine_class,
            config=self.config, public_url=self.public_url, now=now,
        )  # fmt: skip
        now_us = int(now.timestamp() * 1_000_000)
        for endpoint in self.config.endpoints:
            if not endpoint.reachable_from_edge or event.type not in endpoint.events:
                continue
            body = json.dumps(
                body_for(endpoint.kind, event), separators=(",", ":"), sort_keys=True
            ).encode()
            conn.execute(
                "INSERT INTO outbox (id, endpoint, event_type, body, created_us, next_us)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (f"msg_{uuid.uuid4().hex}", endpoint.name, event.type, body, now_us, now_us),
            )

    def pending(self) -> tuple[list[EdgeTransition], dict[tuple[int, str], EpisodeState]]:
        """Transitions the centre lacks, and the episode clocks to hand it."""
        rows = self.cache.query(
            "SELECT uid, episode, machine_id, doc FROM transitions WHERE synced = 0 ORDER BY uid"
        )
        transitions = []
        for uid, episode, machine_id, raw in rows:
            doc = json.loads(raw)
            transition = Transition(
                TransitionKind(doc["kind"]),
                doc["rule"],
                Severity(doc["severity"]),
                datetime.fromisoformat(doc["ts"]),
                _score_of(doc["score"]),
            )
            transitions.append(EdgeTransition(str(uid), str(episode), int(machine_id), transition))
        states = {key: e.state for key, e in self.episodes().items() if e.state.last_ts}
        return transitions, states

    def mark_synced(self, uids: Sequence[str]) -> None:
        with self.cache.transaction() as conn:
            conn.executemany(
                "UPDATE transitions SET synced = 1 WHERE uid = ?", [(u,) for u in uids]
            )

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row (for status and tests)."""
        rows = self.cache.query(
            "SELECT id, endpoint, event_type, attempts, delivered_us, dead, last_error"
            " FROM outbox ORDER BY rowid"
        )
        keys = ("id", "endpoint", "event_type", "attempts", "delivered_us", "dead", "last_error")
        return [dict(zip(keys, r, strict=True)) for r in rows]


class EdgeSender:
    """Delivers the edge's outbox (one attempt per due row per call)."""

    def __init__(
        self,
        cache: EdgeCache,
        config: AlertsConfig,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.cache = cache
        self.config = config
        self._transport = transport
        self._http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        """The HTTP client, made on the first delivery: an edge sends webhooks only while the
        centre is away, so httpx (~7 MB resident) loads then, not at start."""
        if self._http is None:
            import httpx

            self._http = httpx.Client(transport=self._transport, follow_redirects=False)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def deliver_due(self, now: datetime | None = None) -> int:
        """Try every due delivery once; returns how many were delivered."""
        now = now or datetime.now(UTC)
        now_us = int(now.timestamp() * 1_000_000)
        due = self.cache.query(
            "SELECT id, endpoint, body, attempts FROM outbox WHERE delivered_us IS NULL"
            " AND dead = 0 AND next_us <= ? ORDER BY rowid",
            (now_us,),
        )
        delivered = 0
        for msg_id, name, body, attempts in due:
            error = self._post(str(name), str(msg_id), bytes(body))
            tried = int(attempts) + 1
            with self.cache.transaction() as conn:
                if error is None:
                    conn.execute(
                        "UPDATE outbox SET attempts = ?, delivered_us = ?, last_error = NULL"
                        " WHERE id = ?",
                        (tried, now_us, msg_id),
                    )
                    delivered += 1
                    continue
                endpoint = self.config.endpoint(str(name))
                limit = endpoint.max_attempts if endpoint is not None else 1
                delay_s = min(
                    self.config.backoff_base_s * 2 ** (tried - 1), self.config.backoff_max_s
                )
                conn.execute(
                    "UPDATE outbox SET attempts = ?, next_us = ?, dead = ?, last_error = ?"
                    " WHERE id = ?",
                    (tried, now_us + int(delay_s * 1e6), int(tried >= limit), error, msg_id),
                )
                log.warning("edge webhook %s to %s failed: %s", msg_id, name, error)
        return delivered

    def _post(self, name: str, msg_id: str, body: bytes) -> str | None:
        endpoint = self.config.endpoint(name)
        if endpoint is None:
            return f"endpoint {name!r} is no longer configured"
        try:
            check_target(
                endpoint.url,
                allow_private=endpoint.allow_private,
                allow_metadata=endpoint.allow_metadata,
            )
        except TargetError as exc:
            return str(exc)
        if endpoint.kind == "pagerduty" and endpoint.routing_key is not None:
            doc = json.loads(body) | {"routing_key": endpoint.routing_key.get_secret_value()}
            body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
        secrets = [s.get_secret_value() for s in endpoint.secrets]
        headers = webhook_headers(secrets, msg_id, int(time.time()), body)
        headers["content-type"] = "application/json"
        client = self._client()
        import httpx

        try:
            response = client.post(
                endpoint.url, content=body, headers=headers, timeout=endpoint.timeout_s
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__} calling {name}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"
