"""Username/password and TLS against a Mosquitto of the test's own (started here)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.mqtt import MqttCollector
from tests.ingest.conftest import readings_of, source_config, wait_for
from tests.support.postgres_proc import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class SecureBroker:
    """Mosquitto with a password file on one port and TLS (self-signed CA) on another."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mw-mqtt-sec-"))
        self.root.chmod(0o777)
        self.port, self.tls_port = free_port(), free_port()
        subprocess.run(
            ["mosquitto_passwd", "-b", "-c", str(self.root / "passwd"), "plant", "s3cret"],
            check=True,
            capture_output=True,
        )
        (self.root / "passwd").chmod(0o644)
        self._certs()
        (self.root / "m.conf").write_text(
            "per_listener_settings true\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {self.root}/passwd\n"
            f"listener {self.tls_port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {self.root}/passwd\n"
            f"cafile {self.root}/ca.pem\ncertfile {self.root}/server.pem\n"
            f"keyfile {self.root}/server.key\nuser root\n"
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.root / "m.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        for port in (self.port, self.tls_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def _certs(self) -> None:
        r = self.root

        def run(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=r)

        run(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=mw-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        )
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        )
        (r / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        run(
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        )
        for name in ("server.key", "server.pem", "ca.pem"):
            (r / name).chmod(0o644)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def secure_broker() -> Iterator[SecureBroker]:
    broker = SecureBroker()
    yield broker
    broker.close()


def test_wrong_password_is_refused_with_a_clear_error(
    secure_broker: SecureBroker, runtime: Any, unique: str
) -> None:
    config = source_config(
        f"s{unique}",
        "127.0.0.1",
        secure_broker.port,
        [{"topic": "x/{machine}/{sensor}"}],
        username="plant",
        password="wrong",
    )
    collector = MqttCollector(config, runtime.pipeline, runtime.metrics)
    collector.start()
    try:
        error = wait_for(lambda: collector.health()["last_error"], timeout=10)
        assert "refused" in error and not collector.health()["connected"]
    finally:
        collector.stop()


def test_password_over_tls_connects_and_collects(
    secure_broker: SecureBroker,
    database: Any,
    runtime: Any,
    collector_factory: Any,
    unique: str,
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    m = f"tls{unique}"
    config = source_config(
        f"s{unique}",
        "127.0.0.1",
        secure_broker.tls_port,
        [{"topic": f"t{unique}/{{machine}}/{{sensor}}", "format": "number"}],
        username="plant",
        password="s3cret",
        tls={"ca_file": str(secure_broker.root / "ca.pem")},
    )
    collector_factory(config, runtime)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.username_pw_set("plant", "s3cret")
    pub.tls_set(ca_certs=str(secure_broker.root / "ca.pem"))
    pub.connect("127.0.0.1", secure_broker.tls_port)
    pub.loop_start()
    try:
        pub.publish(f"t{unique}/{m}/temp", b"42", qos=1).wait_for_publish(10)
        rows = wait_for(lambda: readings_of(database, m))
        assert [(r[0], r[1], r[3], r[4]) for r in rows] == [(m, "temp", 42.0, 8)]
    finally:
        pub.disconnect()
        pub.loop_stop()
