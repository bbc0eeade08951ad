"""``millwright opcua cert create``: the collector's OPC-UA application instance certificate.

OPC-UA servers identify a client by its application instance certificate (Part 6 §6.2.2):
X.509 v3, RSA (2048 bits for the Basic256Sha256 and Aes* policies), signed with SHA-256,
whose SubjectAltName carries the client's *application URI* — which must equal the
``ApplicationUri`` the client announces (``application_uri`` in the config) — plus the host
names it runs on; key usage digitalSignature, nonRepudiation, keyEncipherment and
dataEncipherment; extended key usage clientAuth (and serverAuth, which several servers also
insist on); not a CA. Self-signed: the server's administrator trusts it by copying the
certificate file into the server's trusted-certificates folder (or accepting it from the
server's "rejected" list).

The key is written PEM, unencrypted, readable by its owner only (0600); the certificate DER
(what servers' trust folders expect) and PEM beside it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CLIENT_USAGES", "ClientCertificate", "build_certificate", "create_client_certificate"]

DEFAULT_URI = "urn:millwright:collector"


@dataclass(frozen=True)
class ClientCertificate:
    """Where the certificate and key were written, and what they say."""

    certificate: Path  # DER: what the server must trust
    certificate_pem: Path
    private_key: Path
    application_uri: str
    sha256: str
    not_after: datetime


CLIENT_USAGES = (ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH)


def build_certificate(
    key: rsa.RSAPrivateKey,
    *,
    application_uri: str,
    subject: x509.Name,
    hostnames: Sequence[str],
    issued_at: datetime,
    not_after: datetime,
    usages: Sequence[x509.ObjectIdentifier] = CLIENT_USAGES,
) -> x509.Certificate:
    """A self-signed application instance certificate for ``key`` (no I/O): what this
    module's docstring lists, the application URI and ``hostnames`` as SubjectAltName.

    ``usages`` is the extended key usage: the collector's clientAuth plus serverAuth by
    default; tests make server-only and client-only certificates with the same builder.
    """
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued_at - timedelta(minutes=5))  # tolerate small clock differences
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(application_uri)]
                + [x509.DNSName(h) for h in hostnames if h]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def create_client_certificate(
    directory: Path,
    *,
    application_uri: str = DEFAULT_URI,
    name: str = "millwright-collector",
    organization: str = "Millwright",
    hostnames: list[str] | None = None,
    days: int = 3650,
    overwrite: bool = False,
) -> ClientCertificate:
    """Make a self-signed client certificate and key under ``directory``."""
    if not application_uri or ":" not in application_uri:
        raise ValueError(f"application URI {application_uri!r} must be a URI, e.g. {DEFAULT_URI}.")
    if days < 1:
        raise ValueError("a certificate must be valid for at least one day.")
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{name}.der"
    pem_path = directory / f"{name}.pem"
    key_path = directory / f"{name}-key.pem"
    existing = [p for p in (cert_path, pem_path, key_path) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{existing[0]} exists; pass --overwrite to replace it (servers that trust the old"
            " certificate will then reject the new one until it is trusted too)."
        )
    hosts = hostnames if hostnames is not None else sorted({socket.gethostname(), "localhost"})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    not_after = now + timedelta(days=days)
    certificate = build_certificate(
        key,
        application_uri=application_uri,
        subject=x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            ]
        ),
        hostnames=hosts,
        issued_at=now,
        not_after=not_after,
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    cert_path.write_bytes(der)
    pem_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_bytes)
    os.chmod(key_path, 0o600)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return ClientCertificate(
        cert_path, pem_path, key_path, application_uri, digest.finalize().hex(), not_after
    )
