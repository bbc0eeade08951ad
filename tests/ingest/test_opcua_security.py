"""Security of the OPC-UA connection against asyncua's server with real certificates:
what is configured is what happens, and anything weaker is refused with a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua

from ingest.errors import IngestError
from ingest.opcua.errors import (
    AuthenticationFailed,
    InsecurePassword,
    PolicyNotOffered,
    UntrustedServerCertificate,
)
from ingest.opcua.security import connect
from tests.ingest.opcua_support import (
    CertPair,
    TestServer,
    ThreadedServer,
    free_port,
    make_cert,
    source_config,
)

CLIENT_URI = "urn:millwright:collector"
USERS = {"collector": "s3cret-pass"}
SECURE = [
    ua.SecurityPolicyType.NoSecurity,
    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ua.SecurityPolicyType.Basic256Sha256_Sign,
    ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
    ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CertPair]:
    root = tmp_path_factory.mktemp("opcua-pki")
    return {
        "server": make_cert(root / "server", "server", "urn:millwright:test-server", server=True),
        "other": make_cert(root / "other", "other", "urn:someone:else", server=True),
        "client": make_cert(root / "client", "client", CLIENT_URI, server=False),
    }


def secure_config(server: TestServer, certs: dict[str, CertPair], **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "security_policy": "Basic256Sha256",
        "security_mode": "SignAndEncrypt",
        "certificate": certs["client"].cert,
        "private_key": certs["client"].key,
        "application_uri": CLIENT_URI,
        "trusted_certificates": [certs["server"].cert.parent],
        "username": "collector",
        "password": USERS["collector"],
    }
    values.update(overrides)
    return source_config(server, [], **values)


def attempt(server: TestServer, config: Any) -> str:
    """Connect with ``config``; return the server state read over the session."""

    async def scenario() -> str:
        client = await connect(config, auto_reconnect=False)
        try:
            state = await client.nodes.server_state.read_value()
            return ua.ServerState(int(state)).name
        finally:
            await client.disconnect()

    return asyncio.run(scenario())


@pytest.fixture(scope="module")
def secure_server(certs: dict[str, CertPair]) -> Iterator[TestServer]:
    with ThreadedServer(
        TestServer(free_port(), policies=SECURE, cert=certs["server"], users=USERS)
    ) as server:
        yield server


@pytest.mark.parametrize(
    ("policy", "mode"),
    [
        ("Basic256Sha256", "SignAndEncrypt"),
        ("Aes128_Sha256_RsaOaep", "SignAndEncrypt"),
        ("Aes256_Sha256_RsaPss", "Sign"),
    ],
)
def test_right_certificate_and_password_connect(
    certs: dict[str, CertPair], secure_server: TestServer, policy: str, mode: str
) -> None:
    server = secure_server
    config = secure_config(server, certs, security_policy=policy, security_mode=mode)
    assert attempt(server, config) == "Running"


def test_wrong_password_is_refused(certs: dict[str, CertPair], secure_server: TestServer) -> None:
    server = secure_server
    config = secure_config(server, certs, password="not-the-password")
    with pytest.raises(
        AuthenticationFailed, match=r"refused user 'collector'.*BadUserAccessDenied"
    ):
        attempt(server, config)


def test_untrusted_server_certificate_is_refused_unless_allowed(
    certs: dict[str, CertPair], secure_server: TestServer
) -> None:
    server = secure_server
    config = secure_config(server, certs, trusted_certificates=[certs["other"].cert])
    with pytest.raises(UntrustedServerCertificate, match=r"CN=server \(sha256 [0-9a-f]{64}\)"):
        attempt(server, config)
    allowed = secure_config(server, certs, trusted_certificates=[], allow_untrusted_server=True)
    assert attempt(server, allowed) == "Running"


def test_policy_the_server_does_not_offer_is_refused(
    certs: dict[str, CertPair], secure_server: TestServer
) -> None:
    config = secure_config(
        secure_server, certs, security_policy="Aes128_Sha256_RsaOaep", security_mode="Sign"
    )
    with pytest.raises(
        PolicyNotOffered,
        match=r"does not offer security Aes128_Sha256_RsaOaep/Sign; it offers .*/SignAndEncrypt",
    ):
        attempt(secure_server, config)


def test_password_is_never_sent_in_clear(
    certs: dict[str, CertPair], secure_server: TestServer
) -> None:
    # A server with only policy None cannot encrypt the password: refused before sending.
    with ThreadedServer(TestServer(free_port(), users=USERS)) as plain:
        config = source_config(plain, [], username="collector", password=USERS["collector"])
        with pytest.raises(InsecurePassword, match="password would be sent in clear"):
            attempt(plain, config)
    # Policy None is fine when the server's token policy encrypts the password with its
    # (trusted) certificate.
    config = source_config(
        secure_server,
        [],
        username="collector",
        password=USERS["collector"],
        trusted_certificates=[certs["server"].cert],
    )
    assert attempt(secure_server, config) == "Running"


def test_unreachable_server_is_an_ingest_error(tmp_path: Path) -> None:
    server = TestServer(free_port())
    config = source_config(server, [])

    async def scenario() -> None:
        await connect(config, auto_reconnect=False)

    with pytest.raises(IngestError, match=f"cannot reach {server.endpoint}"):
        asyncio.run(scenario())
