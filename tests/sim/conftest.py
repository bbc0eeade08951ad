"""Fixtures for the simulator's adapter tests: unique topic prefixes and a free OPC-UA port.

The broker itself is the shared ``mqtt_broker`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

import socket
import uuid

import pytest


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses, so tests can share the broker."""
    return f"simtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
