"""The plant simulator: a protocol-free core replaying C-MAPSS engines or a wear model.

The core (:class:`Plant`) is pure and fast: the demo drives it against the wall clock and
publishes over MQTT (``sim.mqtt_publisher``) and OPC-UA (``sim.opcua_server``); the policy
evaluation steps it event by event without producing readings.

The face: other packages import only the names in ``__all__`` (``from sim import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from sim.cmapss import EngineRun, load_engines, select_units, split_engines
    from sim.plant import GroundTruth, Plant, PlantTiming, layout
    from sim.records import (
        Event,
        EventKind,
        MachineSpec,
        MachineState,
        MachineStatus,
        MaintenanceOrder,
        Reading,
        Sample,
    )
    from sim.sensors import CMAPSS_SENSORS, SensorSpec
    from sim.sinks import EventSink, ReadingSink, RecordingSink
    from sim.trajectories import CmapssSource, Trajectory, TrajectorySource
    from sim.wear import WearModel

_FACE = {
    "CMAPSS_SENSORS": "sim.sensors",
    "CmapssSource": "sim.trajectories",
    "EngineRun": "sim.cmapss",
    "Event": "sim.records",
    "EventKind": "sim.records",
    "EventSink": "sim.sinks",
    "GroundTruth": "sim.plant",
    "MachineSpec": "sim.records",
    "MachineState": "sim.records",
    "MachineStatus": "sim.records",
    "MaintenanceOrder": "sim.records",
    "Plant": "sim.plant",
    "PlantTiming": "sim.plant",
    "Reading": "sim.records",
    "ReadingSink": "sim.sinks",
    "RecordingSink": "sim.sinks",
    "Sample": "sim.records",
    "SensorSpec": "sim.sensors",
    "Trajectory": "sim.trajectories",
    "TrajectorySource": "sim.trajectories",
    "WearModel": "sim.wear",
    "layout": "sim.plant",
    "load_engines": "sim.cmapss",
    "select_units": "sim.cmapss",
    "split_engines": "sim.cmapss",
}

__all__ = [
    "CMAPSS_SENSORS",
    "CmapssSource",
    "EngineRun",
    "Event",
    "EventKind",
    "EventSink",
    "GroundTruth",
    "MachineSpec",
    "MachineState",
    "MachineStatus",
    "MaintenanceOrder",
    "Plant",
    "PlantTiming",
    "Reading",
    "ReadingSink",
    "RecordingSink",
    "Sample",
    "SensorSpec",
    "Trajectory",
    "TrajectorySource",
    "WearModel",
    "layout",
    "load_engines",
    "select_units",
    "split_engines",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
