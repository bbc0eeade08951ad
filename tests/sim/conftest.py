"""Fixtures for the simulator's adapter tests: the local Mosquitto and a free OPC-UA port."""

from __future__ import annotations

import socket
import uuid

import pytest


@pytest.fixture(scope="session")
def sim_mqtt_broker() -> tuple[str, int]:
    """The Mosquitto broker this machine runs on 127.0.0.1:1883 (host, port)."""
    host, port = "127.0.0.1", 1883
    with socket.create_connection((host, port), timeout=2):
        pass
    return host, port


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses, so tests can share the broker."""
    return f"simtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
