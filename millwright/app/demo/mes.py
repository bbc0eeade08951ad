"""The demo's MES: submits orders and reports shop-floor progress through the real HTTP API,
and passes the plan's maintenance tasks to the machines as maintenance orders over MQTT.

Everything it does, a real MES and CMMS would do over the same interfaces.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """Machines that can do the same kind of work (a line, in the demo's plant)."""

    name: str
    machines: tuple[str, ...]


@dataclass
class DemoMes:
    api_url: str
    token: str
    stages: tuple[Stage, ...]
    seed: int = 0
    orders_per_batch: int = 6
    submitted: int = 0
    _rng: random.Random = field(init=False)
    _reported: set[tuple[str, int, str]] = field(default_factory=set)
    _forwarded: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._client = httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
        )

    def close(self) -> None:
        self._client.close()

    def submit_orders(self, now: datetime) -> int:
        """A batch of orders released now, each routed through every stage, due in 1–3 days."""
        created = 0
        for _ in range(self.orders_per_batch):
            self.submitted += 1
            operations = []
            for seq, stage in enumerate(self.stages):
                eligible = self._rng.sample(stage.machines, k=min(2, len(stage.machines)))
                hours = self._rng.uniform(1.5, 4.0)
                operations.append(
                    {
                        "seq": seq,
                        "name": f"{stage.name} step",
                        "options": [
                            {"machine": m, "duration_s": int(hours * 3600 * (1 + 0.15 * i))}
                            for i, m in enumerate(eligible)
                        ],
                    }
                )
            external_id = f"SO-{self.submitted:05d}"
            order = {
                "external_id": external_id,
                "release_at": now.isoformat(),
                "due_at": (now + timedelta(hours=self._rng.uniform(24, 72))).isoformat(),
                "weight": round(self._rng.uniform(0.5, 2.0), 2),
                "value": round(self._rng.uniform(500, 5000), 0),
                "operations": operations,
            }
            response = self._client.post(
                "/jobs", json=order, headers={"Idempotency-Key": external_id}
            )
            if response.status_code in (200, 201):
                created += 1
            else:
                log.warning("order %s refused: %s", external_id, response.text[:300])
        return created

    def request_plan(self) -> None:
        """Ask for a plan now (the worker solves it): the first plan need not wait for the
        worker's replanning cadence."""
        response = self._client.post("/schedules", json={"time_limit_s": 5})
        if response.status_code >= 400:
            log.warning("reschedule refused: %s", response.text[:300])

    def _last_maintenance(self, since: datetime) -> dict[str, datetime]:
        """When each machine's latest maintenance since ``since`` began, from the plant's
        event log (API)."""
        response = self._client.get(
            "/events",
            params={"kind": "maintenance", "from": since.isoformat(), "limit": 10_000},
        )
        if response.status_code != 200:
            return {}
        latest: dict[str, datetime] = {}
        for event in response.json():
            at = _time(event["ts"])
            if event["machine"] not in latest or at > latest[event["machine"]]:
                latest[event["machine"]] = at
        return latest

    def current_plan(self) -> dict[str, Any] | None:
        response = self._client.get("/plan")
        return response.json() if response.status_code == 200 else None

    def report_progress(self, plan: dict[str, Any], now: datetime) -> int:
        """Start and finish the planned operations whose time has come, as the floor would."""
        reported = 0
        for machine in plan.get("machines", []):
            for item in machine["items"]:
                if item["kind"] != "operation" or item["job"] is None:
                    continue
                start = datetime.fromisoformat(item["start_at"])
                end = datetime.fromisoformat(item["end_at"])
                for action, at in (("start", start), ("finish", end)):
                    key = (item["job"], item["seq"], action)
                    if at > now or key in self._reported:
                        continue
                    body: dict[str, Any] = {"at": at.isoformat()}
                    if action == "start":
                        body["machine"] = machine["machine"]
                    response = self._client.post(
                        f"/jobs/{item['job']}/operations/{item['seq']}/{action}", json=body
                    )
                    if response.status_code < 400 or response.status_code == 409:
                        self._reported.add(key)
                        reported += 1
                    else:
                        log.debug("could not %s %s/%s: %s", action, item["job"], item["seq"],
                                  response.text[:200])  # fmt: skip
                        break
        return reported

    def forward_maintenance(
        self, plan: dict[str, Any], publisher: mqtt.Client, topic: str, now: datetime
    ) -> int:
        """Send each planned maintenance task to its machine; a moved task moves the order.

        A task whose risk was scored before the machine's latest maintenance is not sent: that
        maintenance answered it (a plan solved while the order was on its way), as a CMMS
        closes a request whose work order is already done."""
        sent = 0
        maintained: dict[str, datetime] | None = None
        for machine in plan.get("machines", []):
            for item in machine["items"]:
                if item["kind"] != "maintenance":
                    continue
                name = machine["machine"]
                if (item.get("reason") or {}).get("under_way"):
                    break  # the machine is being maintained: that order is already done
                if self._forwarded.get(name) == item["start_at"]:
                    continue
                if maintained is None:
                    maintained = self._last_maintenance(now - timedelta(days=3))
                scored = ((item.get("reason") or {}).get("risk") or {}).get("scored_at")
                if scored and name in maintained and maintained[name] >= _time(scored):
                    self._forwarded[name] = item["start_at"]
                    break
                duration_h = (
                    datetime.fromisoformat(item["end_at"])
                    - datetime.fromisoformat(item["start_at"])
                ).total_seconds() / 3600
                order = {
                    "machine": name,
                    "planned_at": item["start_at"],
                    "order_id": f"plan-{name}",
                    "duration_hours": max(duration_h, 0.1),
                }
                publisher.publish(topic, json.dumps(order), qos=1)
                self._forwarded[name] = item["start_at"]
                sent += 1
                log.info("maintenance order for %s at %s", name, item["start_at"])
                break  # the first task ahead on each machine is the one to order
        return sent


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
