"""``millwright opcua cert create`` makes a certificate an asyncua server that requires
trust accepts once trusted; a server that rejects it is reported in one sentence."""

from __future__ import annotations

import asyncio
import shutil
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from typer.testing import CliRunner

from ingest.opcua.errors import ClientCertificateError
from ingest.opcua.security import connect
from millwright.app.cli import app
from tests.ingest.opcua_support import CertPair, TestServer, free_port, make_cert, source_config

SECURE = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt]


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[dict[str, Any]]:
    result = CliRunner().invoke(app, ["opcua", "cert", "create", "--dir", str(tmp_path / "pki")])
    assert result.exit_code == 0, result.output
    trust = tmp_path / "server-trusts"
    trust.mkdir()
    stranger = make_cert(tmp_path / "stranger", "stranger", "urn:someone:else", server=False)
    shutil.copy(stranger.cert, trust / "stranger.der")  # the server trusts someone else only
    yield {
        "output": result.output,
        "cert": tmp_path / "pki" / "millwright-collector.der",
        "key": tmp_path / "pki" / "millwright-collector-key.pem",
        "server": make_cert(tmp_path / "server", "server", "urn:millwright:srv", server=True),
        "trust": trust,
    }


def test_the_certificate_has_what_opc_ua_servers_check(pki: dict[str, Any]) -> None:
    cert = x509.load_der_x509_certificate(pki["cert"].read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:millwright:collector"]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert usage.key_encipherment and usage.data_encipherment and not usage.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.public_key().key_size == 2048  # type: ignore[union-attr]
    assert stat.S_IMODE(pki["key"].stat().st_mode) == 0o600
    assert f"trust {pki['cert']}" in pki["output"]
    again = CliRunner().invoke(app, ["opcua", "cert", "create", "--dir", str(pki["cert"].parent)])
    assert again.exit_code == 2 and "pass --overwrite" in again.output


def _config(server: TestServer, pki: dict[str, Any]) -> Any:
    return source_config(
        server,
        [],
        security_policy="Basic256Sha256",
        security_mode="SignAndEncrypt",
        certificate=pki["cert"],
        private_key=pki["key"],
        trusted_certificates=[pki["server"].cert],
        request_timeout_s=5,
    )


def test_an_asyncua_server_requiring_trust_rejects_then_accepts_it(pki: dict[str, Any]) -> None:
    async def attempt() -> str:
        server = TestServer(
            free_port(), ["m1"], ["s1"], policies=SECURE, cert=pki["server"], trust_dir=pki["trust"]
        )
        async with server:
            try:
                client = await connect(_config(server, pki), auto_reconnect=False)
            except ClientCertificateError as exc:
                return str(exc)
            try:
                node = client.get_node(server.node_id("m1", "s1"))
                return f"read {await node.read_value()}"
            finally:
                await client.disconnect()

    message = asyncio.run(attempt())
    port_free = message.split(":")[2].split("/")[0]
    assert message == (
        f"opc.tcp://127.0.0.1:{port_free}/test/: the server rejected our certificate"
        f" (BadCertificateUntrusted); trust {pki['cert']} on the server"
    )
    shutil.copy(pki["cert"], pki["trust"] / "millwright-collector.der")  # the admin trusts it
    assert asyncio.run(attempt()) == "read 0.0"


class RejectingProxy:
    """Forwards to a real server but answers a secure OpenSecureChannel with an ERR message
    (BadSecurityChecksFailed), which is what node-opcua does with a client certificate it
    does not trust."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe_back() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        back = asyncio.create_task(pipe_back())
        try:
            while True:
                head = await reader.readexactly(8)
                body = await reader.readexactly(struct.unpack("<I", head[4:8])[0] - 8)
                if head[:3] == b"OPN":
                    (length,) = struct.unpack("<i", body[4:8])
                    policy = body[8 : 8 + length].decode()
                    if not policy.endswith("#None"):
                        reason = b"certificate not trusted"
                        err = struct.pack(
                            "<Ii", ua.StatusCodes.BadSecurityChecksFailed, len(reason)
                        )
                        writer.write(b"ERRF" + struct.pack("<I", 8 + len(err) + len(reason)))
                        writer.write(err + reason)
                        await writer.drain()
                        return
                up_writer.write(head + body)
                await up_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            back.cancel()
            up_writer.close()
            writer.close()


def test_a_server_answering_bad_security_checks_failed_is_one_sentence(
    pki: dict[str, Any], caplog: Any
) -> None:
    server_cert: CertPair = pki["server"]

    async def attempt() -> str:
        async with TestServer(
            free_port(), ["m1"], ["s1"], policies=SECURE, cert=server_cert
        ) as real:
            proxy = RejectingProxy(real.port)
            await proxy.start()
            try:
                config = _config(real, pki).model_copy(
                    update={"endpoint": f"opc.tcp://127.0.0.1:{proxy.port}/test/"}
                )
                with pytest.raises(ClientCertificateError) as raised:
                    await connect(config, auto_reconnect=False)
                return str(raised.value)
            finally:
                await proxy.stop()

    message = asyncio.run(attempt())
    assert message.endswith(
        f": the server rejected our certificate (BadSecurityChecksFailed); trust {pki['cert']}"
        " on the server"
    )
    assert message.startswith("opc.tcp://127.0.0.1:")
