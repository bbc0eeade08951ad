"""Errors of the ``ingest`` package, translated at the boundary from paho, sqlite3 and psycopg.

IngestError
├── IngestConfigError       a source, topic template or TLS file in the configuration is unusable
├── BrokerError             the MQTT broker refused the connection (auth, TLS, protocol)
├── StoreAndForwardError    the on-disk buffer file cannot be opened or written
│   └── BufferFull          the buffer is full under the ``stop_acknowledging`` policy
├── PayloadError            a payload cannot be decoded (never escapes a decoder: it becomes
│                           a dead-letter reason)
└── PipelineStopped         ``submit`` was called on a pipeline that is not running

A long-running collector never dies of bad input: payload problems become dead letters and
database outages become buffered readings. Only configuration and start-up problems raise.
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class of every ingest failure."""


class IngestConfigError(IngestError):
    """The ingest configuration cannot be used as written."""


class BrokerError(IngestError):
    """The MQTT broker could not be connected to, or refused us."""


class StoreAndForwardError(IngestError):
    """The store-and-forward buffer file could not be used."""


class BufferFull(StoreAndForwardError):
    """No room in the buffer and the policy forbids dropping: readings stay unacknowledged."""


class PayloadError(IngestError):
    """A payload could not be decoded; the message is the dead-letter reason."""


class PipelineStopped(IngestError):
    """The pipeline is not running, so it cannot accept readings."""
