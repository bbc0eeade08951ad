"""The production files hold together: the compose file validates and the image's install
step builds a distribution with every package and its data files."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def _compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed: `make test` installs it with apt-get as root")
    return found


def test_compose_file_validates() -> None:
    env = {"PATH": "/usr/bin:/bin", "POSTGRES_PASSWORD": "x" * 20, "DASHBOARD_SECRET_KEY": "y" * 64}
    result = subprocess.run(
        [_compose_binary(), "-f", str(DOCKER / "compose.yml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for service in ("timescaledb", "mosquitto", "migrate", "collector", "worker", "web"):
        assert re.search(rf"^  {service}:$", result.stdout, re.MULTILINE), service
    assert result.stdout.count("healthcheck:") >= 5


def test_compose_refuses_missing_secrets() -> None:
    result = subprocess.run(
        [_compose_binary(), "-f", str(DOCKER / "compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
        cwd="/",
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_dockerfile_copies_every_package() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for package in (
        "millwright",
        "ingest",
        "sim",
        "features",
        "models",
        "alerts",
        "scheduler",
        "api",
        "dashboard",
        "edge",
        "bench",
    ):
        assert f"COPY {package} ./{package}" in text


def test_image_install_step_builds_a_complete_wheel(tmp_path: Path) -> None:
    """The Dockerfile's `pip install .` as a wheel: every package, migration, data file."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("millwright-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for package in (
        "millwright",
        "ingest",
        "sim",
        "features",
        "models",
        "alerts",
        "scheduler",
        "api",
        "dashboard",
        "edge",
        "bench",
    ):
        assert f"{package}/__init__.py" in names
    assert "millwright/core/storage/migrations/0001_core.sql" in names
    assert "bench/data/jssp/ft10.txt" in names
    assert "sim/data/train_FD001.txt.gz" in names
    migrations = sorted(p.name for p in (ROOT / "millwright/core/storage/migrations").glob("*.sql"))
    assert all(f"millwright/core/storage/migrations/{m}" in names for m in migrations)


def test_site_config_is_valid_settings() -> None:
    from millwright.app.settings import load_settings

    settings = load_settings(DOCKER / "plant.toml")
    assert settings.ingest.mqtt[0].host == "mosquitto"
    assert settings.worker.health_port == 9109
    assert settings.ingest.metrics.port == 9108
