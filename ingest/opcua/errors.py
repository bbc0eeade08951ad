"""Errors of the OPC-UA collector, translated from asyncua at the boundary.

::

    IngestError (ingest.errors)
     └── OpcUaError
          ├── OpcUaConnectionError          server unreachable, refused or timed out
          ├── OpcUaSecurityError            not secure as configured: refused
          │    ├── PolicyNotOffered         no endpoint with this policy and mode
          │    ├── UntrustedServerCertificate  server certificate not in the trust list
          │    ├── InsecurePassword         a password would cross the wire in clear
          │    ├── ClientCertificateError   our certificate/key unusable or rejected
          │    └── AuthenticationFailed     the server refused the user identity
          └── NodeResolutionError           a configured node is not on the server

Each message names the source, what was wrong and what is expected.
"""

from __future__ import annotations

from ingest.errors import IngestError


class OpcUaError(IngestError):
    """Base of the OPC-UA collector's errors."""


class OpcUaConnectionError(OpcUaError):
    """The server could not be reached or the session could not be established."""


class OpcUaSecurityError(OpcUaError):
    """The connection would not be secure as configured; it is refused, never downgraded."""


class PolicyNotOffered(OpcUaSecurityError):
    """The server offers no endpoint with the configured security policy and mode."""


class UntrustedServerCertificate(OpcUaSecurityError):
    """The server's certificate is not in the trust list and untrusted servers are refused."""


class InsecurePassword(OpcUaSecurityError):
    """A username/password would be sent unencrypted (policy None and no token encryption)."""


class ClientCertificateError(OpcUaSecurityError):
    """The client certificate or private key cannot be loaded, or the server rejected it."""


class AuthenticationFailed(OpcUaSecurityError):
    """The server refused the user identity (wrong username or password, or not allowed)."""


class NodeResolutionError(OpcUaError):
    """A configured NodeId or browse path does not resolve to a node on the server."""
