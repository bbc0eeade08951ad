"""Sends due outbox rows to their endpoints: one signed POST per attempt, outcome recorded.

Per attempt: the target is checked again (DNS may have changed since configuration), the
body is signed with every secret of the endpoint, and the POST runs with the endpoint's
timeout and without following redirects (a redirect could lead past the SSRF guard, and
the signed request was meant for the configured URL only). Then:

- 2xx: delivered;
- 410 Gone: the receiver asks us to stop: the endpoint is disabled, its queue parked;
- anything else, or no response: retried after exponential backoff with jitter, or after
  the receiver's Retry-After when that is longer; dead after the endpoint's max_attempts;
- a refused target: dead at once (configuration, not chance, has to change).

The transport is injectable (`httpx.BaseTransport`) so tests and embedders can swap it.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from alerts.config import AlertsConfig, EndpointConfig
from alerts.errors import DeliveryError, DeliveryTimeout, TargetError
from alerts.outbox import (
    Delivery,
    DeliveryState,
    Settlement,
    claim_due,
    disable_endpoint,
    settle,
)
from alerts.retry import parse_retry_after, retry_delay
from alerts.signing import webhook_headers
from alerts.targets import Resolver, check_target, system_resolver
from millwright.core.storage.database import Database

log = logging.getLogger(__name__)

_USER_AGENT = "Millwright-Webhooks/1"
_ERROR_BODY_BYTES = 512


@dataclass
class DispatchReport:
    """Counts of what one :meth:`Dispatcher.dispatch_due` pass did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    disabled: int = 0
    outcomes: list[tuple[str, Settlement]] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return len(self.outcomes)


class Dispatcher:
    """Claims due deliveries and sends them; safe to run in several processes at once."""

    def __init__(
        self,
        database: Database,
        config: AlertsConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
        rng: random.Random | None = None,
    ) -> None:
        self._database = database
        self._config = config
        self._resolver = resolver
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # an environment proxy must not route around the SSRF guard
            headers={"user-agent": _USER_AGENT, "content-type": "application/json"},
        )
        timeouts = [e.timeout_s for e in config.endpoints] or [10.0]
        self._lease_s = max(timeouts) + config.lease_margin_s

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def dispatch_due(self, limit: int = 100, *, only: str | None = None) -> DispatchReport:
        """Send up to ``limit`` due deliveries, one claim at a time (each lease stays short)."""
        report = DispatchReport()
        for _ in range(limit):
            delivery = claim_due(self._database, self._lease_s, only=only)
            if delivery is None:
                break
            outcome = self.attempt(delivery)
            settle(self._database, delivery, outcome)
            if outcome.state is DeliveryState.DISABLED:
                # After settling, so this delivery keeps its attempt count and error.
                parked = disable_endpoint(self._database, delivery.endpoint, outcome.error or "")
                log.warning("endpoint %s disabled (410 Gone); %d parked", delivery.endpoint, parked)
            report.outcomes.append((delivery.id, outcome))
            match outcome.state:
                case DeliveryState.DELIVERED:
                    report.delivered += 1
                case DeliveryState.DEAD:
                    report.dead += 1
                case DeliveryState.DISABLED:
                    report.disabled += 1
                case _:
                    report.retrying += 1
        return report

    def run(self, stop: threading.Event | None = None, *, interval_s: float | None = None) -> None:
        """Dispatch until ``stop`` is set, pausing ``interval_s`` when nothing is due."""
        stop = stop or threading.Event()
        pause = self._config.interval_s if interval_s is None else interval_s
        while not stop.is_set():
            report = self.dispatch_due()
            if report.attempts == 0:
                stop.wait(pause)

    def attempt(self, delivery: Delivery) -> Settlement:
        """One attempt at ``delivery``: what happened and what the row becomes."""
        endpoint = self._config.endpoint(delivery.endpoint)
        if endpoint is None:
            error = f"endpoint {delivery.endpoint!r} is no longer configured"
            return Settlement(None, None, error, DeliveryState.DEAD)
        try:
            check_target(
                endpoint.url,
                allow_private=endpoint.allow_private,
                allow_metadata=endpoint.allow_metadata,
                resolver=self._resolver,
            )
        except TargetError as exc:
            log.warning("delivery %s refused: %s", delivery.id, exc)
            return Settlement(None, None, str(exc), DeliveryState.DEAD)
        started = time.perf_counter()
        try:
            status, retry_after, snippet = self._post(endpoint, delivery)
        except DeliveryError as exc:
            latency = (time.perf_counter() - started) * 1000
            return self._failed(endpoint, delivery, None, latency, str(exc), None)
        latency = (time.perf_counter() - started) * 1000
        if 200 <= status < 300:
            return Settlement(status, latency, None, DeliveryState.DELIVERED)
        if status == 410:
            reason = f"endpoint answered 410 Gone to delivery {delivery.id}"
            return Settlement(status, latency, reason, DeliveryState.DISABLED)
        error = f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}"
        return self._failed(endpoint, delivery, status, latency, error, retry_after)

    def _failed(
        self,
        endpoint: EndpointConfig,
        delivery: Delivery,
        status: int | None,
        latency_ms: float,
        error: str,
        retry_after: str | None,
    ) -> Settlement:
        attempt_no = delivery.attempts + 1
        if attempt_no >= endpoint.max_attempts:
            error = f"{error}; dead after {attempt_no} attempts"
            return Settlement(status, latency_ms, error, DeliveryState.DEAD)
        delay = retry_delay(
            attempt_no,
            parse_retry_after(retry_after, datetime.now(UTC)),
            base_s=self._config.backoff_base_s,
            cap_s=self._config.backoff_max_s,
            max_retry_after_s=self._config.max_retry_after_s,
            rng=self._rng,
        )
        return Settlement(status, latency_ms, error, DeliveryState.PENDING, retry_in_s=delay)

    def _post(self, endpoint: EndpointConfig, delivery: Delivery) -> tuple[int, str | None, str]:
        body = delivery.body()
        if endpoint.kind == "pagerduty" and endpoint.routing_key is not None:
            # The integration key joins the body only on the wire (never in the outbox).
            key = endpoint.routing_key.get_secret_value()
            body = json.dumps(
                {**delivery.payload, "routing_key": key}, separators=(",", ":"), sort_keys=True
            ).encode()
        secrets = [s.get_secret_value() for s in endpoint.secrets]
        headers = webhook_headers(secrets, delivery.id, int(time.time()), body)
        try:
            with self._client.stream(
                "POST", endpoint.url, content=body, headers=headers, timeout=endpoint.timeout_s
            ) as response:
                snippet = b""
                for chunk in response.iter_bytes():
                    snippet += chunk
                    if len(snippet) >= _ERROR_BODY_BYTES:
                        break
                text = snippet[:_ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
                if response.is_redirect:
                    text = f"redirect to {response.headers.get('location')!r} not followed"
                return response.status_code, response.headers.get("retry-after"), text
        except httpx.TimeoutException as exc:
            raise DeliveryTimeout(
                f"no answer from {endpoint.name} within {endpoint.timeout_s} s"
                f" ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__} calling {endpoint.name}: {exc}") from None
