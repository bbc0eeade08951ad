"""Building a connected asyncua client exactly as secure as configured, or refusing.

Before anything secret crosses the wire, the server's endpoints are read over an
unauthenticated discovery channel (GetEndpoints is public by design) and three decisions are
made here rather than left to asyncua's defaults, which would warn and carry on:

* the configured policy and mode must be offered — never silently downgraded;
* the server certificate must be in the trust list (compared by SHA-256 thumbprint),
  unless ``allow_untrusted_server`` says otherwise; the same check runs again on every
  (re)created session, so a server swapped for another one is refused after a reconnect too;
* a password is only sent when it is protected: the channel encrypts (SignAndEncrypt) or
  the server's user-token policy encrypts the token with its certificate.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.common.utils import NotEnoughData, ServiceError
from asyncua.crypto import security_policies, uacrypto
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ingest.opcua.config import OpcUaSourceConfig
from ingest.opcua.errors import (
    AuthenticationFailed,
    ClientCertificateError,
    InsecurePassword,
    OpcUaConnectionError,
    OpcUaError,
    OpcUaSecurityError,
    PolicyNotOffered,
    UntrustedServerCertificate,
)

log = logging.getLogger(__name__)

POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "None": security_policies.SecurityPolicyNone,
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES: dict[str, ua.MessageSecurityMode] = {
    "None": ua.MessageSecurityMode.None_,
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}
_NONE_URI = security_policies.SecurityPolicyNone.URI
_AUTH_CODES = {
    ua.StatusCodes.BadUserAccessDenied,
    ua.StatusCodes.BadIdentityTokenInvalid,
    ua.StatusCodes.BadIdentityTokenRejected,
    ua.StatusCodes.BadUserSignatureInvalid,
}
_CERT_CODES = {
    ua.StatusCodes.BadCertificateInvalid,
    ua.StatusCodes.BadCertificateUntrusted,
    ua.StatusCodes.BadCertificateUriInvalid,
    ua.StatusCodes.BadCertificateTimeInvalid,
    ua.StatusCodes.BadCertificateUseNotAllowed,
    ua.StatusCodes.BadCertificateRevoked,
    ua.StatusCodes.BadSecurityChecksFailed,
}


def thumbprint(der: bytes) -> str:
    """SHA-256 of a DER certificate, hex: how trust is decided and how people compare."""
    return hashlib.sha256(der).hexdigest()


def load_trusted_thumbprints(locations: list[Path]) -> set[str]:
    """Thumbprints of every .der/.pem/.crt certificate in the given files and directories."""
    found: set[str] = set()
    for location in locations:
        scanned = location.is_dir()
        files = sorted(location.iterdir()) if scanned else [location]
        for path in files:
            if scanned and path.suffix.lower() not in {".der", ".pem", ".crt", ".cer"}:
                continue
            try:
                data = path.read_bytes()
                cert = (
                    x509.load_pem_x509_certificate(data)
                    if b"-----BEGIN" in data
                    else x509.load_der_x509_certificate(data)
                )
            except (OSError, ValueError) as exc:
                if scanned:  # a directory may hold keys or CRLs too: skip, but say so
                    log.warning(
                        "trust directory %s: %s is not a certificate, skipped", location, path.name
                    )
                    continue
                raise OpcUaSecurityError(
                    f"trusted certificate {path} cannot be read: {exc}; expected a DER or PEM"
                    " X.509 certificate"
                ) from exc
            found.add(thumbprint(cert.public_bytes(Encoding.DER)))
    return found


def first_certificate(der_chain: bytes) -> bytes:
    """The leaf of a DER chain as servers may send it (outer SEQUENCE length prefix)."""
    if len(der_chain) < 4:
        return der_chain
    length = int.from_bytes(der_chain[2:4], "big") + 4
    return der_chain[:length]


def describe_endpoints(endpoints: list[ua.EndpointDescription]) -> str:
    offered = sorted(
        {
            f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]}/{_mode_name(e.SecurityMode)}"
            for e in endpoints
        }
    )
    return ", ".join(offered) or "nothing"


def _mode_name(mode: ua.MessageSecurityMode) -> str:
    return {v: k for k, v in MODES.items()}.get(mode, str(mode))


def select_endpoint(
    config: OpcUaSourceConfig, endpoints: list[ua.EndpointDescription]
) -> ua.EndpointDescription:
    """The server endpoint matching the configured policy and mode, or PolicyNotOffered."""
    uri = POLICIES[config.security_policy].URI
    mode = MODES[config.security_mode]
    for endpoint in endpoints:
        if endpoint.SecurityPolicyUri == uri and endpoint.SecurityMode == mode:
            return endpoint
    raise PolicyNotOffered(
        f"source {config.name}: {config.endpoint} does not offer security"
        f" {config.security_policy}/{config.security_mode}; it offers"
        f" {describe_endpoints(endpoints)}. Configure one of those (a secure one)."
    )


def check_password_protected(config: OpcUaSourceConfig, endpoint: ua.EndpointDescription) -> None:
    """Refuse a username/password the server would receive in clear."""
    if config.username is None:
        return
    policies = [
        t for t in endpoint.UserIdentityTokens or [] if t.TokenType == ua.UserTokenType.UserName
    ]
    if not policies:
        raise AuthenticationFailed(
            f"source {config.name}: the {config.security_policy}/{config.security_mode} endpoint"
            " does not accept username/password; use anonymous or another endpoint"
        )
    if endpoint.SecurityMode == ua.MessageSecurityMode.SignAndEncrypt:
        return
    token_uri = policies[0].SecurityPolicyUri or endpoint.SecurityPolicyUri
    if not token_uri or token_uri == _NONE_URI:
        raise InsecurePassword(
            f"source {config.name}: the password would be sent in clear (channel"
            f" {config.security_policy}/{config.security_mode} and the server does not encrypt"
            " the user token); use security_mode SignAndEncrypt"
        )


def check_server_trusted(
    config: OpcUaSourceConfig, server_der: bytes | None, trusted: set[str]
) -> None:
    """Refuse a server certificate that is not in the trust list (unless allowed)."""
    if server_der is None:
        raise UntrustedServerCertificate(
            f"source {config.name}: {config.endpoint} sent no certificate, so its identity"
            " cannot be checked"
        )
    digest = thumbprint(server_der)
    if digest in trusted:
        return
    subject = x509.load_der_x509_certificate(server_der).subject.rfc4514_string()
    if config.allow_untrusted_server:
        log.warning(
            "source %s: accepting UNTRUSTED server certificate %s (sha256 %s) because"
            " allow_untrusted_server is on",
            config.name,
            subject,
            digest,
        )
        return
    raise UntrustedServerCertificate(
        f"source {config.name}: server certificate {subject} (sha256 {digest}) is not in"
        " trusted_certificates; verify it with the server's administrator and add the file"
        " (millwright opcua browse --save-server-cert) to trusted_certificates"
    )


def _needs_server_trust(config: OpcUaSourceConfig) -> bool:
    """Whether the server certificate protects anything: the channel or an encrypted token."""
    if config.security_policy != "None":
        return True
    return config.username is not None


async def _check_client_certificate(config: OpcUaSourceConfig) -> None:
    assert config.certificate is not None
    try:
        cert = await uacrypto.load_certificate(config.certificate)
    except (OSError, ValueError) as exc:
        raise ClientCertificateError(
            f"source {config.name}: client certificate {config.certificate} cannot be read: {exc}"
        ) from exc
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    if config.application_uri not in uris:
        raise ClientCertificateError(
            f"source {config.name}: client certificate {config.certificate} has URI"
            f" SubjectAltName {uris or 'none'}, but application_uri is {config.application_uri!r};"
            " they must match"
        )


def new_client(config: OpcUaSourceConfig, *, auto_reconnect: bool = True) -> Client:
    """An unconnected client with timeouts, identity and reconnect policy from config."""
    client = Client(
        config.endpoint,
        timeout=config.request_timeout_s,
        watchdog_intervall=config.watchdog_interval_s,
        auto_reconnect=auto_reconnect,
        reconnect_max_delay=config.reconnect_max_delay_s,
    )
    client.application_uri = config.application_uri
    client.name = f"Millwright collector ({config.name})"
    client.description = client.name
    client.session_timeout = int(config.session_timeout_s * 1000)
    return client


async def connect(config: OpcUaSourceConfig, *, auto_reconnect: bool = True) -> Client:
    """A connected client, secured as configured; errors are this package's own."""
    client = new_client(config, auto_reconnect=auto_reconnect)
    refusals: list[str] = []  # thumbprints our validator refused (to tell whose cert failed)
    try:
        endpoints = await client.connect_and_get_server_endpoints()
    except (TimeoutError, OSError, ua.UaError) as exc:
        raise OpcUaConnectionError(
            f"source {config.name}: cannot reach {config.endpoint}: {_reason(exc)}"
        ) from exc
    endpoint = select_endpoint(config, endpoints)
    check_password_protected(config, endpoint)
    server_der = (
        first_certificate(endpoint.ServerCertificate) if endpoint.ServerCertificate else None
    )
    if _needs_server_trust(config):
        trusted = load_trusted_thumbprints(config.trusted_certificates)
        check_server_trusted(config, server_der, trusted)
        client.certificate_validator = _session_validator(config, trusted, refusals)
    if config.security_policy != "None":
        await _check_client_certificate(config)
        assert config.certificate is not None and config.private_key is not None
        key_password = (
            config.private_key_password.get_secret_value() if config.private_key_password else None
        )
        try:
            await client.set_security(
                POLICIES[config.security_policy],
                str(config.certificate),
                str(config.private_key),
                key_password,
                server_certificate=server_der,
                mode=MODES[config.security_mode],
            )
        except (OSError, ValueError, TypeError) as exc:
            raise ClientCertificateError(
                f"source {config.name}: cannot load client certificate/key"
                f" ({config.certificate}, {config.private_key}): {exc}"
            ) from exc
    if config.username is not None and config.password is not None:
        client.set_user(config.username)
        client.set_password(config.password.get_secret_value())
    try:
        await client.connect()
    except BaseException as exc:
        await _quiet_disconnect(client)
        if isinstance(exc, OpcUaError | asyncio.CancelledError) or not isinstance(exc, Exception):
            raise
        raise translate_connect_error(config, exc, server_refused=bool(refusals)) from exc
    return client


def _session_validator(
    config: OpcUaSourceConfig, trusted: set[str], refusals: list[str] | None = None
) -> Any:
    """asyncua hook run on every CreateSession (reconnects included)."""

    async def validate(cert: x509.Certificate, _app: ua.ApplicationDescription) -> None:
        der = cert.public_bytes(Encoding.DER)
        if thumbprint(der) in trusted or config.allow_untrusted_server:
            return
        log.error(
            "source %s: server presented untrusted certificate %s (sha256 %s); refusing",
            config.name,
            cert.subject.rfc4514_string(),
            thumbprint(der),
        )
        if refusals is not None:
            refusals.append(thumbprint(der))
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    return validate


def translate_connect_error(
    config: OpcUaSourceConfig, exc: Exception, *, server_refused: bool = False
) -> OpcUaError:
    """asyncua/transport errors of a connect attempt → this package's errors, each one
    sentence naming the endpoint, what failed and what to do (``server_refused``: our own
    session validator refused the server's certificate)."""
    code = getattr(exc, "code", None)
    where = f"source {config.name} ({config.endpoint})"
    if code in _AUTH_CODES:
        who = f"user {config.username!r}" if config.username else "anonymous access"
        return AuthenticationFailed(
            f"{where}: the server refused {who} ({_reason(exc)}); check username and password"
        )
    if code == ua.StatusCodes.BadCertificateUntrusted and (
        config.security_policy == "None" or server_refused
    ):
        return UntrustedServerCertificate(f"{where}: server certificate refused ({_reason(exc)})")
    if code in _CERT_CODES and config.certificate is not None:
        return ClientCertificateError(
            f"{config.endpoint}: the server rejected our certificate"
            f" ({ua.StatusCode(code).name}); trust {config.certificate} on the server"
        )
    if code in _CERT_CODES:
        return ClientCertificateError(f"{where}: certificate check failed ({_reason(exc)})")
    if config.security_policy != "None" and isinstance(exc, AssertionError | NotEnoughData):
        # some servers drop the channel mid-handshake instead of answering with a status
        return ClientCertificateError(
            f"{config.endpoint}: the server closed the secure channel during the handshake"
            f" ({type(exc).__name__}), which means it rejected our certificate; trust"
            f" {config.certificate} on the server"
        )
    if code == ua.StatusCodes.BadSecurityPolicyRejected:
        return PolicyNotOffered(f"{where}: security policy rejected ({_reason(exc)})")
    return OpcUaConnectionError(f"{where}: cannot connect: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ua.UaStatusCodeError):
        return f"{exc.__class__.__name__}: {ua.StatusCode(exc.code).doc or exc}"
    if isinstance(exc, socket.gaierror | ConnectionRefusedError):
        return f"{exc.__class__.__name__}: {exc}"
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__


async def _quiet_disconnect(client: Client) -> None:
    try:
        await client.disconnect()
    except Exception:
        log.debug("disconnect after failed connect raised", exc_info=True)


async def save_server_certificate(config: OpcUaSourceConfig, path: Path) -> str:
    """Save the certificate the server advertises (to review and trust); its SHA-256."""
    client = new_client(config, auto_reconnect=False)
    try:
        endpoints = await client.connect_and_get_server_endpoints()
    except (TimeoutError, OSError, ua.UaError) as exc:
        raise OpcUaConnectionError(
            f"source {config.name}: cannot reach {config.endpoint}: {_reason(exc)}"
        ) from exc
    for endpoint in endpoints:
        if endpoint.ServerCertificate:
            der = first_certificate(endpoint.ServerCertificate)
            path.write_bytes(der)
            return thumbprint(der)
    raise OpcUaSecurityError(f"source {config.name}: {config.endpoint} has no certificate")
