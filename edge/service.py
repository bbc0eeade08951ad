"""``millwright edge``: the service next to a collector that keeps scoring and alerting while
the central database is away.

It subscribes to the collector's MQTT topics (its own client id, the collector's decoders),
holds a bounded window of readings per sensor (:mod:`edge.window`), and each loop:

1. probes the central database (a ``SELECT 1`` within ``probe_timeout_s``);
2. link up: hands the centre what the last outage left (episode transitions first, then the
   scores, then how far it has handed over: the centre holds its own evaluation of the
   outage's scores for that, :mod:`alerts.edge_links`), copies a promoted model, the
   feature state and the centre's episodes;
3. scores every grid instant the readings' watermark has passed, machines in chunks;
4. link down: runs the episode logic over the local scores and queues webhooks to the
   endpoints marked ``reachable_from_edge``; on the loop that finds the link down, over the
   recent scores kept here too, so those from just before the drop that the centre had not
   judged yet are not lost (the copied episode clocks skip those it had);
5. delivers the local outbox (signed as the centre signs).

Everything the edge computes is in its SQLite file first, so a restart mid-outage resumes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from alerts import AlertsConfig, adopt_edge_transitions, central_episodes, edge_heartbeat
from edge.alerting import EdgeSender, LocalAlerts, scores_of
from edge.cache import EdgeCache
from edge.config import EdgeConfig
from edge.lean import release_memory
from edge.scoring import EdgeScorer, NoLocalModelError
from edge.window import ReadingWindow
from features import FeatureState
from ingest import IngestConfig, TopicTemplate, decode
from millwright.core.storage import Database, read_readings
from models import ModelsConfig

if TYPE_CHECKING:  # webhooks are sent during an outage only (edge.alerting.EdgeSender)
    import httpx

log = logging.getLogger(__name__)

US = 1_000_000


@dataclass
class EdgeStatus:
    """What the loop has done so far (for logs, tests and the status command)."""

    link_up: bool = False
    outages: int = 0
    scored_instants: int = 0
    scores: int = 0
    transitions: int = 0
    delivered: int = 0
    synced_scores: int = 0
    adopted: int = 0
    messages: int = 0
    last_error: str | None = None
    down_since: datetime | None = None
    history: list[str] = field(default_factory=list)


class EdgeService:
    """One edge: MQTT in, SQLite throughout, the central database when it answers."""

    def __init__(
        self,
        *,
        database_url: str,
        cache: EdgeCache,
        edge: EdgeConfig,
        ingest: IngestConfig,
        models: ModelsConfig,
        alerts: AlertsConfig,
        public_url: str,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database_url = database_url
        self.cache = cache
        self.config = edge
        self.ingest = ingest
        self.scorer = EdgeScorer(cache, models)
        self.alerts = LocalAlerts(cache, alerts, public_url=public_url)
        self.sender = EdgeSender(cache, alerts, transport=transport)
        self.public_url = public_url
        self.clock = clock
        self.status = EdgeStatus()
        self.window: ReadingWindow | None = None
        self._database: Database | None = None
        self._clients: list[mqtt.Client] = []
        self._last_refresh = 0.0
        self._last_instant_us: int | None = None
        self._judge_backlog = False
        self._stop = threading.Event()

    # --- the link -------------------------------------------------------------------------

    def _probe(self) -> Database | None:
        if self._database is None:
            self._database = Database(
                self.database_url,
                min_size=1,
                max_size=2,
                timeout=self.config.probe_timeout_s,
                connect_timeout=self.config.probe_timeout_s,
            )
        try:
            self._database.execute("SELECT 1")
            return self._database
        except Exception as exc:  # any failure to answer is "the centre is away"
            self.status.last_error = f"{type(exc).__name__}: {exc}"
            self._database.close()
            self._database = None
            return None

    def _on_link(self, database: Database | None, now: datetime) -> None:
        was_up = self.status.link_up
        self.status.link_up = database is not None
        if database is None:
            if was_up:
                self.status.outages += 1
            if self.status.down_since is None:
                self.status.down_since = now
                self._judge_backlog = True
                log.warning("central database unreachable: scoring and alerting locally")
            return
        if not was_up and self.status.down_since is not None:
            log.warning("central database back after %s", now - self.status.down_since)
        self.status.down_since = None
        self.sync(database, now)
        self._refresh(database, now)

    def sync(self, database: Database, now: datetime) -> None:
        """Episode transitions first, then scores (see the module docstring)."""
        transitions, states = self.alerts.pending()
        if transitions or states:
            report = adopt_edge_transitions(
                database, self.alerts.config, transitions, states,
                public_url=self.public_url, now=now,
            )  # fmt: skip
            self.alerts.mark_synced([t.uid for t in transitions])
            self.status.adopted += report.adopted
        self.status.synced_scores += self.scorer.sync(database)
        self._heartbeat(database, now)

    def _heartbeat(self, database: Database, now: datetime) -> None:
        """Tell the centre how far this edge has handed its scores over (alerts.edge_links):
        its evaluation of this edge's machines waits for that after an outage."""
        try:
            state = self._state()
        except NoLocalModelError:
            return
        machines = sorted({int(m) for m in state.sensors["machine_id"]})
        covered = (
            None
            if self._last_instant_us is None
            else datetime.fromtimestamp(self._last_instant_us / US, UTC)
        )
        edge_heartbeat(database, self.config.name, machines, covered, now=now)

    def backlog(self) -> dict[int, list[Any]]:
        """The local scores of the active model from the last ``lookback_hours`` (plant time)
        before the newest: judged once when the link drops, so scores from just before the
        drop that the centre never evaluated are alerted on here (those it did evaluate are
        behind the episode clocks copied from it, and skipped)."""
        try:
            version, artifact, _ = self.scorer.model()
        except NoLocalModelError:
            return {}
        newest = self.cache.query("SELECT max(ts_us) FROM scores WHERE model_version = ?",
                                  (version,))[0][0]  # fmt: skip
        if newest is None:
            return {}
        since = int(newest) - int(self.alerts.config.lookback_hours * 3600 * US)
        rows = self.cache.scores(since_us=since, model_version=version)
        return scores_of(rows, version, artifact.horizon_hours)

    def _refresh(self, database: Database, now: datetime) -> None:
        due = time.monotonic() - self._last_refresh >= self.config.refresh_every_s
        before = self.cache.model_version()
        version = self.scorer.refresh(database, now, force=due or self.window is None)
        if version is None:
            return
        if due or before != version or self.window is None:
            self._last_refresh = time.monotonic()
            rows = database.execute(
                "SELECT id, name, line, machine_class FROM machines ORDER BY id"
            )
            self.cache.store_machines([(int(r[0]), r[1], r[2], r[3]) for r in rows])
            before_window = self.window
            self._build_window()
            if self.window is not None and self.window is not before_window:
                self._prime(database)  # a new window (first start, or a new feature version)
        self.alerts.copy_central(central_episodes(database))

    # --- readings ---------------------------------------------------------------------------

    def _state(self) -> FeatureState:
        return self.scorer.model()[2]

    def _build_window(self) -> None:
        try:
            state = self._state()
        except NoLocalModelError:
            return
        names = {m: name for m, name, _, _ in self.cache.machines()}
        sensors = {
            (names[int(m)], str(s)): (int(m), int(sid))
            for sid, m, s in zip(
                state.sensors["sensor_id"], state.sensors["machine_id"], state.sensors["sensor"],
                strict=True,
            )
            if int(m) in names
        }  # fmt: skip
        old = self.window
        if old is not None and old.fits(state):
            old.relabel(sensors, state)  # same bins; names and the state's events refreshed
            return
        self.window = ReadingWindow(sensors, state, grace_us=int(self.config.score_lag_s * US))

    def _prime(self, database: Database) -> None:
        """A starting edge reads the latest look-back of readings from the centre."""
        assert self.window is not None
        newest = database.execute("SELECT max(ts) FROM readings")[0][0]
        if newest is None:
            return
        start = newest - timedelta(microseconds=self.window.span_us + self.window.cadence_us)
        readings = read_readings(database, start=start, end=newest + timedelta(microseconds=1))
        kept = self.window.prime(readings)
        cadence_us = self.model()[2].definition.cadence_minutes * 60 * US
        self._last_instant_us = (self.window.watermark_us or 0) // cadence_us * cadence_us
        log.info("edge window primed with %d readings up to %s", kept, newest)

    def model(self) -> tuple[str, Any, FeatureState]:
        return self.scorer.model()

    def on_rows(self, rows: list[tuple[str, str, int, float, int]]) -> None:
        if self.window is not None:
            self.window.add(rows)

    def start_mqtt(self) -> None:
        """Subscribe to every configured MQTT source (paho's own network thread each)."""
        for source in self.ingest.mqtt:
            templates = [(TopicTemplate(s.topic), s) for s in source.subscriptions]
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=f"{source.client_id or source.name}{self.config.client_suffix}",
                protocol=mqtt.MQTTv5 if source.protocol == "5" else mqtt.MQTTv311,
            )
            if source.username:
                password = source.password.get_secret_value() if source.password else None
                client.username_pw_set(source.username, password)
            if source.tls is not None:
                client.tls_set(
                    ca_certs=str(source.tls.ca_file) if source.tls.ca_file else None,
                    certfile=str(source.tls.cert_file) if source.tls.cert_file else None,
                    keyfile=str(source.tls.key_file) if source.tls.key_file else None,
                )
                client.tls_insecure_set(source.tls.insecure)

            def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any = None,
                           subs: list[Any] = templates) -> None:  # fmt: skip
                for template, sub in subs:
                    c.subscribe(template.subscription(), qos=sub.qos)

            def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage,
                           subs: list[Any] = templates) -> None:  # fmt: skip
                self.status.messages += 1
                receive_us = int(time.time() * US)
                for template, sub in subs:
                    fields = template.match(msg.topic)
                    if fields is None:
                        continue
                    decoded = decode(
                        bytes(msg.payload), sub.format,
                        machine=fields.get("machine", sub.machine),
                        sensor=fields.get("sensor", sub.sensor),
                        receive_us=receive_us, booleans=sub.booleans,
                    )  # fmt: skip
                    self.on_rows(decoded.rows)
                    return

            client.on_connect = on_connect
            client.on_message = on_message
            client.reconnect_delay_set(
                max(1, round(source.reconnect_min_s)), max(1, round(source.reconnect_max_s))
            )
            client.connect_async(source.host, source.port, keepalive=source.keepalive_s)
            client.loop_start()
            self._clients.append(client)

    # --- scoring and alerting -------------------------------------------------------------

    def score_due(self) -> dict[int, list[Any]]:
        """Score every grid instant the watermark passed; returns the scores by machine."""
        window = self.window
        if window is None or window.watermark_us is None:
            return {}
        try:
            version, artifact, state = self.scorer.model()
        except NoLocalModelError:
            return {}
        cadence_us = state.definition.cadence_minutes * 60 * US
        newest = window.watermark_us - int(self.config.score_lag_s * US)
        # A reading at or past an instant closes its look-back (the bins end before it).
        last = (newest // cadence_us) * cadence_us
        first = last if self._last_instant_us is None else self._last_instant_us + cadence_us
        by_machine: dict[int, list[Any]] = {}
        for instant_us in range(first, last + 1, cadence_us):
            window.close_until(instant_us)
            machines = window.machines_with_data(instant_us - cadence_us, instant_us)
            instant = datetime.fromtimestamp(instant_us / US, UTC)
            for i in range(0, len(machines), self.config.chunk_machines):
                chunk = machines[i : i + self.config.chunk_machines]
                closed = window.bins(chunk, instant_us)
                result = self.scorer.score_bins(closed, window.frame(chunk, 0, 0), instant, chunk)
                self.status.scores += result.kept
                for m, scores in scores_of(result.scores, version, artifact.horizon_hours).items():
                    by_machine.setdefault(m, []).extend(scores)
            self.status.scored_instants += 1
            self._last_instant_us = instant_us
        if by_machine:
            release_memory()
        return by_machine

    def step(self) -> None:
        """One loop (see the module docstring)."""
        now = self.clock()
        database = self._probe()
        try:
            self._on_link(database, now)
        except Exception as exc:  # the link dropped mid-sync: next loop tries again
            log.warning("sync with the central database failed: %s", exc)
            self.status.last_error = f"{type(exc).__name__}: {exc}"
            database = None
            self.status.link_up = False
            self.status.down_since = self.status.down_since or now
        scores = self.score_due()
        if database is None and self._judge_backlog:
            scores = self.backlog()  # this pass's scores are among them
            self._judge_backlog = False
        if database is None and scores:
            self.status.transitions += len(self.alerts.evaluate(scores, now=now))
        self.status.delivered += self.sender.deliver_due(now)
        if database is not None and scores:
            try:
                self.sync(database, now)
            except Exception as exc:
                log.warning("score sync failed: %s", exc)

    def run(self, stop: threading.Event | None = None) -> None:
        """Loop until ``stop`` is set (or :meth:`stop`)."""
        stop = stop or self._stop
        self.start_mqtt()
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.step()
                stop.wait(max(0.0, self.config.interval_s - (time.monotonic() - started)))
        finally:
            self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()
        self._clients.clear()
        self.sender.close()
        if self._database is not None:
            self._database.close()
            self._database = None
