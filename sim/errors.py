"""Errors of the `sim` package.

    SimError
    ├── TrajectoryError      a trajectory file or pool is unusable
    ├── UnknownMachineError  an order or query names a machine the plant does not have
    └── AdapterError         an MQTT or OPC-UA adapter could not start or publish
        ├── MqttPublishError
        └── OpcUaServeError

Third-party errors (paho, asyncua) are translated at the adapters.
"""

from __future__ import annotations


class SimError(Exception):
    """Base of all simulator errors."""


class TrajectoryError(SimError):
    """A trajectory source cannot provide trajectories."""


class UnknownMachineError(SimError, KeyError):
    """A machine id is not part of the plant."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown machine"


class AdapterError(SimError):
    """A protocol adapter failed."""


class MqttPublishError(AdapterError):
    """The MQTT publisher could not connect or publish."""


class OpcUaServeError(AdapterError):
    """The OPC-UA server could not start or update values."""
