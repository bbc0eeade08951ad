"""Fault injection against real servers: broker restart, database restart, collector SIGKILL.

Every check compares sets of (machine, sensor, ts, value): what the broker acknowledged to the
publisher must be stored exactly once; nothing else may appear.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from millwright.core.storage import Database
from millwright.core.storage.migrate import upgrade
from tests.ingest.conftest import count_readings, readings_of, source_config, wait_for
from tests.support.postgres_proc import free_port

MS = 1_714_564_800_000


def _expected(machine: str, n: int) -> set[tuple[str, str, str, float, int]]:
    from datetime import UTC, datetime

    return {
        (machine, "v", datetime.fromtimestamp((MS + i) / 1000, UTC).isoformat(), float(i), 0)
        for i in range(n)
    }


class StreamPublisher:
    """Publishes n QoS 1 messages at a steady pace from a thread, reconnecting on its own;
    remembers which ones the broker acknowledged (PUBACK)."""

    def __init__(self, host: str, port: int, topic: str, n: int, pause: float = 0.005) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"pub-{topic.replace('/', '-')}",
            protocol=mqtt.MQTTv5,
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.connect(host, port)
        self.client.loop_start()
        self.topic, self.n, self.pause = topic, n, pause
        self.infos: list[mqtt.MQTTMessageInfo] = []
        self.progress = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for i in range(self.n):
            payload = json.dumps({"ts": MS + i, "value": i})
            while True:  # while the broker is away paho refuses the publish: retry
                info = self.client.publish(self.topic, payload, qos=1)
                if info.rc == mqtt.MQTT_ERR_SUCCESS:
                    break
                time.sleep(0.05)
            self.infos.append(info)
            self.progress = i + 1
            time.sleep(self.pause)

    def acknowledged(self) -> set[int]:
        return {i for i, info in enumerate(self.infos) if info.is_published()}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_mosquitto_restart_mid_stream_loses_and_duplicates_nothing(
    private_mosquitto: Any,
    database: Database,
    runtime: Any,
    collector_factory: Any,
    unique: str,
) -> None:
    broker = private_mosquitto
    m = f"mq{unique}"
    config = source_config(
        f"s{unique}",
        "127.0.0.1",
        broker.port,
        [{"topic": f"f{unique}/{{machine}}/{{sensor}}", "format": "json"}],
    )
    collector_factory(config, runtime)
    pub = StreamPublisher("127.0.0.1", broker.port, f"f{unique}/{m}/v", 600)
    pub.thread.start()
    wait_for(lambda: pub.progress >= 250)
    broker.restart()  # SIGTERM: Mosquitto saves sessions and queued messages
    pub.thread.join(60)
    wait_for(lambda: len(pub.acknowledged()) == 600, timeout=30)
    pub.close()
    expected = _expected(m, 600)
    wait_for(lambda: readings_of(database, m) == expected, timeout=30)
    assert count_readings(database, m) == 600  # no duplicates


def test_postgres_restart_mid_stream_buffers_and_replays_exactly(
    private_postgres: Any,
    mqtt_broker: tuple[str, int],
    runtime_factory: Any,
    collector_factory: Any,
    unique: str,
) -> None:
    # The private server runs with synchronous_commit=off (fast tests), which lets a crash
    # forget transactions it already reported committed; a collector needs the real thing.
    url = private_postgres.url + "?options=-c%20synchronous_commit%3Don"
    db = Database(url, min_size=1, max_size=2, timeout=5)
    upgrade(db)
    rt = runtime_factory(url)
    m = f"pg{unique}"
    config = source_config(
        f"s{unique}",
        *mqtt_broker,
        [{"topic": f"g{unique}/{{machine}}/{{sensor}}", "format": "json"}],
    )
    collector_factory(config, rt)
    pub = StreamPublisher(*mqtt_broker, f"g{unique}/{m}/v", 600)
    pub.thread.start()
    wait_for(lambda: pub.progress >= 200)
    private_postgres.stop("immediate")
    time.sleep(2)  # the pipeline notices, buffers on disk and keeps acknowledging
    wait_for(lambda: rt.buffer.readings > 0)
    private_postgres.start()
    pub.thread.join(60)
    wait_for(lambda: len(pub.acknowledged()) == 600, timeout=30)
    pub.close()
    expected = _expected(m, 600)
    try:
        try:
            wait_for(lambda: readings_of(db, m) == expected, timeout=40)
        except AssertionError:
            got = readings_of(db, m)
            raise AssertionError(
                f"{len(got)} stored, {len(expected - got)} missing, health {rt.health()}"
            ) from None
        assert count_readings(db, m) == 600
        assert rt.metrics.value("millwright_ingest_write_failures_total") >= 1
        assert rt.metrics.value("millwright_ingest_buffer_replayed_readings_total") > 0
        wait_for(lambda: rt.buffer.readings == 0)
    finally:
        db.close()


def _write_config(
    path: Path,
    database_url: str,
    data_dir: Path,
    broker: Any,
    unique: str,
    interval_ms: int,
    metrics_port: int,
) -> None:
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'data_dir = "{data_dir}"\n'
        "[ingest.batch]\n"
        f"size = 100000\ninterval_ms = {interval_ms}\n"
        "[ingest.metrics]\n"
        f"port = {metrics_port}\n"
        "[[ingest.mqtt]]\n"
        f'name = "k{unique}"\nhost = "{broker[0]}"\nport = {broker[1]}\n'
        f'client_id = "mw-kill-{unique}"\nsession_expiry_s = 600\n'
        f'subscriptions = [{{ topic = "k{unique}/{{machine}}/{{sensor}}", format = "json" }}]\n'
    )


def _collector(config: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "millwright"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILLWRIGHT_")}
    return subprocess.Popen(
        [str(exe), "collect", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _metric(port: int, name: str) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
    except OSError:
        return -1.0
    for line in text.decode().splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_collector_killed_between_receive_and_commit_gets_everything_after_restart(
    mqtt_broker: tuple[str, int],
    database: Database,
    database_url: str,
    tmp_path: Path,
    unique: str,
) -> None:
    m = f"k{unique}m"
    config = tmp_path / "plant.toml"
    port = free_port()
    # a batch that never fills nor ages: messages are received but not committed
    _write_config(config, database_url, tmp_path / "data", mqtt_broker, unique, 60_000, port)
    proc = _collector(config)
    try:
        wait_for(lambda: _metric(port, "millwright_ingest_source_connected") == 1, timeout=30)
        time.sleep(0.3)
        pub = StreamPublisher(*mqtt_broker, f"k{unique}/{m}/v", 300, pause=0)
        pub.thread.start()
        pub.thread.join(30)
        wait_for(lambda: len(pub.acknowledged()) == 300)
        pub.close()
        wait_for(lambda: _metric(port, "millwright_ingest_messages_received_total") == 300)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert count_readings(database, m) == 0  # received, never committed, never acked
    finally:
        if proc.poll() is None:
            proc.kill()
    _write_config(config, database_url, tmp_path / "data", mqtt_broker, unique, 50, port)
    proc = _collector(config)  # same client id: the broker re-delivers the unacked messages
    try:
        wait_for(lambda: readings_of(database, m) == _expected(m, 300), timeout=40)
        assert count_readings(database, m) == 300
    finally:
        proc.terminate()
        assert proc.wait(20) == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
