"""A paho ``Client`` that reads the socket in large chunks and drains it per wake-up.

paho 2.x reads a packet with several tiny ``recv`` calls (one per header byte) and handles
one packet per ``select`` wake-up, so a subscriber at 10,000 messages/s spends most of its
network thread in system calls. Here the socket is wrapped in a buffer that ``recv``\\ s
64 KiB at a time and reports what it holds through ``pending()`` — the hook paho already
uses for TLS sockets — and ``loop_read`` keeps reading until the socket would block (at
most ``_MAX_PACKETS_PER_READ`` packets, so outgoing acknowledgements and pings still get
their turn). Behaviour is otherwise paho's own; TLS sockets are wrapped the same way.
"""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

_CHUNK = 65_536
_MAX_PACKETS_PER_READ = 2_000


class BufferedSocket:
    """Socket proxy serving ``recv`` from a userspace buffer; everything else delegates."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._buf):
            data = self._sock.recv(max(bufsize, _CHUNK))  # may raise BlockingIOError
            if len(data) <= bufsize:
                return bytes(data)
            self._buf, self._pos = data, 0
        end = self._pos + bufsize
        chunk = self._buf[self._pos : end]
        self._pos = min(end, len(self._buf))
        return chunk

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buf) - self._pos + inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class BufferedClient(mqtt.Client):
    """paho ``Client`` with buffered reads; see the module docstring."""

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        for _ in range(max(max_packets, _MAX_PACKETS_PER_READ)):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return MQTTErrorCode.MQTT_ERR_SUCCESS
