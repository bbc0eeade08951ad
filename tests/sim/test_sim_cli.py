"""`millwright sim` end to end: the command runs the plant over both protocols and stops."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
import typer
from typer.testing import CliRunner

from millwright.app.settings import Settings
from millwright.core.commands import AppContext, CliGroups
from sim import cli
from sim.config import SimConfig


def _app(settings: Settings) -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = AppContext(settings=settings)

    cli.register(CliGroups(root=root, bench=typer.Typer(), eval=typer.Typer()))
    return root


def test_sim_command_publishes_for_the_requested_plant_hours(
    mqtt_broker: tuple[str, int], topic_prefix: str, free_port: int
) -> None:
    host, port = mqtt_broker
    received: list[str] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: received.append(m.topic)
    sub.connect(host, port)
    sub.subscribe(f"{topic_prefix}/batch/#", qos=1)
    sub.loop_start()
    settings = Settings(
        mqtt_url=f"mqtt://{host}:{port}",
        sim=SimConfig(
            mqtt_topic_prefix=topic_prefix,
            mqtt_client_id=f"{topic_prefix}-sim",
            opcua_endpoint=f"opc.tcp://127.0.0.1:{free_port}/millwright/",
            sample_interval_s=3600,
            lines=1,
        ),
    )
    result = CliRunner().invoke(
        _app(settings), ["sim", "--hours", "3", "--speed", "inf", "--machines", "2", "--seed", "4"]
    )
    deadline = time.monotonic() + 5
    while len(received) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    sub.disconnect()
    sub.loop_stop()
    assert result.exit_code == 0, result.output
    # 4 ticks (0, 1, 2, 3 h) × 2 machines; staggered lives have at least 25 cycles left
    assert sorted(t.rsplit("/", 2)[1] for t in received) == ["m-001"] * 4 + ["m-002"] * 4
