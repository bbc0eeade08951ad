"""Errors of the `alerts` package, so callers catch one family and read one message.

Third-party errors (httpx, socket, psycopg unique violations) are translated where they
happen; nothing outside this package sees them.

    AlertsError
     ├── AlertNotFound            ack/show of an id that does not exist
     ├── UnknownEndpoint          a command named an endpoint that is not configured
     ├── SignatureError           a webhook failed verification (receiver side)
     │    ├── MalformedSignature  headers missing or not in the Standard Webhooks shape
     │    ├── StaleTimestamp      webhook-timestamp outside the tolerance (replay guard)
     │    └── SignatureMismatch   no signature matches any of the secrets
     ├── TargetError              a webhook URL may not or cannot be called
     │    ├── TargetRefused       resolves to loopback/private/link-local/metadata
     │    └── TargetUnresolvable  the host name does not resolve
     └── DeliveryError            one HTTP attempt failed before a response arrived
          └── DeliveryTimeout     the attempt ran past its timeout
"""

from __future__ import annotations


class AlertsError(Exception):
    """Base of every error raised by `alerts`."""


class AlertNotFound(AlertsError, LookupError):
    """No alert with the given id."""


class UnknownEndpoint(AlertsError, LookupError):
    """The endpoint name is not in `[alerts].endpoints`."""


class SignatureError(AlertsError):
    """A webhook did not verify."""


class MalformedSignature(SignatureError):
    """The webhook-id/-timestamp/-signature headers are missing or malformed."""


class StaleTimestamp(SignatureError):
    """The webhook-timestamp is too old or too far in the future."""


class SignatureMismatch(SignatureError):
    """None of the signatures matches any configured secret."""


class TargetError(AlertsError):
    """A webhook URL may not, or cannot, be called."""


class TargetRefused(TargetError):
    """The URL resolves to an address class the endpoint is not allowed to reach."""


class TargetUnresolvable(TargetError):
    """The URL's host name does not resolve."""


class DeliveryError(AlertsError):
    """One attempt failed before an HTTP response arrived (connection, TLS, protocol)."""


class DeliveryTimeout(DeliveryError):
    """One attempt ran past the endpoint's timeout."""
