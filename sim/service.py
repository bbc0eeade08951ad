"""Runs the simulated plant with its protocol adapters until stopped: what `millwright sim` does.

Composition only: build the plant from settings, start the MQTT publisher and the OPC-UA server
as configured, and drive the plant with :func:`sim.runner.run_plant` until the requested plant
time has passed or SIGINT/SIGTERM arrives; then stop the adapters cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from datetime import timedelta

from sim.build import build_plant
from sim.config import SimConfig
from sim.mqtt_publisher import MqttPublisher, MqttTarget
from sim.opcua_server import OpcUaPlantServer
from sim.plant import Plant
from sim.runner import OrderInbox, RunStats, run_plant
from sim.sinks import EventSink, ReadingSink
from sim.sparkplug_publisher import SparkplugEdgeNode

log = logging.getLogger(__name__)


async def serve(
    config: SimConfig,
    *,
    mqtt_url: str,
    hours: float | None = None,
    event_sinks: Sequence[EventSink] = (),
    reading_sinks: Sequence[ReadingSink] = (),
    plant: Plant | None = None,
    stop: asyncio.Event | None = None,
    inbox: OrderInbox | None = None,
) -> RunStats:
    """Serve the plant over the configured protocols for ``hours`` of plant time (or forever)."""
    plant = plant or build_plant(config)
    stop = stop or asyncio.Event()
    inbox = inbox or OrderInbox()
    until = plant.now + timedelta(hours=hours) if hours is not None else None
    sinks: list[ReadingSink] = list(reading_sinks)
    events: list[EventSink] = list(event_sinks)
    async with contextlib.AsyncExitStack() as stack:
        if config.publish_mqtt:
            publisher = MqttPublisher(
                MqttTarget.from_url(mqtt_url),
                prefix=config.mqtt_topic_prefix,
                per_sensor=config.mqtt_per_sensor,
                batch=config.mqtt_batch,
                batch_topic=config.mqtt_batch_topic,
                command_topic=config.mqtt_command_topic,
                on_order=inbox.put,
                qos=config.mqtt_qos,
                max_inflight=config.mqtt_max_inflight,
                client_id=config.mqtt_client_id,
                sparkplug=SparkplugEdgeNode(config.sparkplug_group, config.sparkplug_node)
                if config.mqtt_sparkplug
                else None,
            )
            await asyncio.to_thread(publisher.start)
            stack.push_async_callback(asyncio.to_thread, publisher.stop)
            sinks.append(publisher)
            log.info("publishing to %s under %s/", mqtt_url, config.mqtt_topic_prefix)
            if config.mqtt_sparkplug:
                events.append(publisher)  # DDEATH when a machine stops running
                log.info(
                    "Sparkplug B edge node spBv1.0/%s/+/%s",
                    config.sparkplug_group,
                    config.sparkplug_node,
                )
        if config.serve_opcua:
            server = OpcUaPlantServer(
                config.opcua_endpoint,
                plant.machines,
                plant.sensors,
                namespace=config.opcua_namespace,
            )
            await stack.enter_async_context(server)
            sinks.append(server)
            events.append(server)
        _stop_on_signals(stop)
        progress = asyncio.create_task(_report(plant, stop))
        stack.callback(progress.cancel)
        log.info(
            "simulating %d machines from %s at %g× real time",
            len(plant.machines),
            plant.now.isoformat(),
            config.speed,
        )
        stats = await run_plant(
            plant,
            sample_interval=config.sample_interval,
            speed=config.speed,
            until=until,
            reading_sinks=sinks,
            event_sinks=events,
            inbox=inbox,
            stop=stop,
        )
    log.info(
        "simulation stopped at %s: %d samples, %d events, %d orders",
        plant.now.isoformat(),
        stats.samples,
        stats.events,
        stats.orders,
    )
    return stats


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)


async def _report(plant: Plant, stop: asyncio.Event, every_s: float = 10.0) -> None:
    while not stop.is_set():
        await asyncio.sleep(every_s)
        running = sum(1 for s in plant.statuses() if s.state.value == "running")
        log.info(
            "plant time %s, %d/%d running", plant.now.isoformat(), running, len(plant.machines)
        )
