"""Test helpers for the OPC-UA collector: certificates made at test time and a real asyncua
server on loopback with the security, users and address space each test needs.

Certificates are self-signed RSA 2048 with the application URI as SubjectAltName (asyncua and
OPC-UA identify applications by it); private keys live only in the test's tmp directory.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ingest.opcua import uatypes
from ingest.opcua.certs import build_certificate
from millwright.core.storage import Database

NAMESPACE = "urn:millwright:test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class CertPair:
    cert: Path  # DER
    key: Path  # PEM, unencrypted
    uri: str


def make_cert(directory: Path, name: str, uri: str, *, server: bool) -> CertPair:
    """A self-signed application instance certificate and its key under ``directory``, made
    by the collector's own builder but for one side only (serverAuth or clientAuth)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = build_certificate(
        key,
        application_uri=uri,
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]),
        hostnames=["localhost", socket.gethostname()],
        issued_at=now,
        not_after=now + timedelta(days=2),
        usages=[ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    pair = CertPair(directory / f"{name}.der", directory / f"{name}.pem", uri)
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pair


class PasswordUsers(UserManager):
    """asyncua user manager accepting exactly the given username/password pairs."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = users

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is None:
            return None
        if self._users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class TestServer:
    """An asyncua server with ``machines`` folders of Double ``sensors`` under Objects/Plant.

    Node ids are ``ns=<ns>;s=<machine>.<sensor>``; browse paths ``<ns>:Plant/<ns>:<machine>/
    <ns>:<sensor>``. ``extra`` adds variables with arbitrary initial values (strings, arrays).
    """

    __test__ = False

    def __init__(
        self,
        port: int,
        machines: Sequence[str] = ("m1",),
        sensors: Sequence[str] = ("s1",),
        *,
        policies: Sequence[ua.SecurityPolicyType] = (ua.SecurityPolicyType.NoSecurity,),
        cert: CertPair | None = None,
        users: dict[str, str] | None = None,
        extra: dict[str, tuple[str, Any, ua.VariantType]] | None = None,
        trust_dir: Path | None = None,
    ) -> None:
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/test/"
        self.machines = list(machines)
        self.sensors = list(sensors)
        self._policies = list(policies)
        self._cert = cert
        self._users = users
        self._extra = extra or {}
        self._trust_dir = trust_dir  # when set: only client certificates in it are accepted
        self.server: Server | None = None
        self.ns = 2
        self.loop: asyncio.AbstractEventLoop | None = None  # set when run by ThreadedServer

    def call(self, coro: Any, timeout_s: float = 10) -> Any:
        """Run ``coro`` on the server's own loop thread (see :class:`ThreadedServer`)."""
        assert self.loop is not None, "call() needs a ThreadedServer"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    async def start(self) -> TestServer:
        server = Server(user_manager=PasswordUsers(self._users) if self._users else None)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("millwright test server")
        if self._cert is not None:
            await server.set_application_uri(self._cert.uri)
            await server.load_certificate(str(self._cert.cert))
            await server.load_private_key(str(self._cert.key))
        server.set_security_policy(self._policies)
        if self._trust_dir is not None:
            from asyncua.crypto.truststore import TrustStore
            from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

            store = TrustStore([self._trust_dir], [])
            await store.load()
            options = (
                CertificateValidatorOptions.TRUSTED_VALIDATION
                | CertificateValidatorOptions.PEER_CLIENT
            )
            server.set_certificate_validator(CertificateValidator(options, store))
        if self._users:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        self.ns = await server.register_namespace(NAMESPACE)
        plant = await server.nodes.objects.add_folder(
            uatypes.node_id("plant", self.ns), f"{self.ns}:Plant"
        )
        for machine in self.machines:
            folder = await plant.add_folder(
                uatypes.node_id(machine, self.ns), f"{self.ns}:{machine}"
            )
            for sensor in self.sensors:
                await folder.add_variable(
                    uatypes.node_id(f"{machine}.{sensor}", self.ns),
                    f"{self.ns}:{sensor}",
                    ua.Variant(0.0, ua.VariantType.Double),
                )
            for name, (owner, value, vtype) in self._extra.items():
                if owner == machine:
                    await folder.add_variable(
                        uatypes.node_id(f"{machine}.{name}", self.ns),
                        f"{self.ns}:{name}",
                        ua.Variant(value, vtype),
                    )
        await server.start()
        self.server = server
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    def node_id(self, machine: str, sensor: str) -> str:
        return f"ns={self.ns};s={machine}.{sensor}"

    async def write(
        self,
        machine: str,
        sensor: str,
        value: Any,
        ts: datetime | None,
        *,
        status: int = ua.StatusCodes.Good,
        vtype: ua.VariantType = ua.VariantType.Double,
    ) -> None:
        assert self.server is not None
        dv = ua.DataValue(
            ua.Variant(value, vtype),
            StatusCode=uatypes.status(status),
            SourceTimestamp=None if ts is None else uatypes.ua_datetime(ts),
            ServerTimestamp=uatypes.ua_datetime(datetime.now(UTC)),
        )
        await self.server.write_attribute_value(uatypes.node_id(f"{machine}.{sensor}", self.ns), dv)

    async def __aenter__(self) -> TestServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def source_config(server: TestServer, nodes: list[dict[str, Any]], **overrides: Any) -> Any:
    """An OpcUaSourceConfig for ``server`` with test-friendly (fast) pacing."""
    from ingest.opcua.config import OpcUaSourceConfig

    values: dict[str, Any] = {
        "name": "opcua-test",
        "endpoint": server.endpoint,
        "publishing_interval_ms": 50,
        "sampling_interval_ms": 0,
        "queue_size": 100,
        "request_timeout_s": 3,
        "watchdog_interval_s": 0.5,
        "reconnect_max_delay_s": 1,
        "nodes": nodes,
    }
    values.update(overrides)
    return OpcUaSourceConfig.model_validate(values)


def stored(database: Database) -> dict[tuple[str, str, datetime], tuple[float, int]]:
    """Every stored reading: (machine, sensor, ts) -> (value, quality)."""
    rows = database.execute(
        "SELECT m.name, s.name, r.ts, r.value, r.quality FROM readings r"
        " JOIN machines m ON m.id = r.machine_id JOIN sensors s ON s.id = r.sensor_id"
    )
    return {(m, s, ts): (v, q) for m, s, ts, v, q in rows}


class Running:
    """``async with Running(source):`` runs a source until the block ends, then stops it."""

    def __init__(self, source: Any, *, ready_timeout_s: float = 15) -> None:
        self.source = source
        self.stop = asyncio.Event()
        self._timeout = ready_timeout_s
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.source.run(self.stop))
        ready = asyncio.create_task(self.source.ready.wait())
        done, _ = await asyncio.wait(
            {ready, self.task}, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            self.stop.set()
            await self.task
            raise AssertionError(f"source did not become ready: {self.source.stats}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 20)


async def eventually(predicate: Any, timeout_s: float = 10, step_s: float = 0.05) -> None:
    """Wait until ``predicate()`` is true, or fail."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step_s)


class ThreadedServer:
    """A :class:`TestServer` on its own event loop thread, so one server can serve several
    tests (each test runs its client in its own ``asyncio.run``)."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> TestServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(60)
        self.server.loop = self._loop
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
