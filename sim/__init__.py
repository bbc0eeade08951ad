"""The plant simulator: a protocol-free core replaying C-MAPSS engines or a wear model.

The core (:class:`Plant`) is pure and fast: the demo drives it against the wall clock and
publishes over MQTT (``sim.mqtt_publisher``) and OPC-UA (``sim.opcua_server``); the policy
evaluation steps it event by event without producing readings.
"""

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
