"""`schemathesis run --checks all` against the served API comes out clean (bounded examples).

This is the command a reviewer runs by hand, with every phase (examples, coverage, fuzzing,
stateful) and every check, including the method/Allow-header, data acceptance and
authentication checks; a fixed seed and a small example budget keep it bounded for CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from millwright.core.storage.database import Database
from tests.api.test_api_schemathesis import TOKEN, _serve_seeded
from tests.conftest import truncate_all

CONFIG = Path(__file__).with_name("schemathesis.toml")
ROOT = Path(__file__).resolve().parents[2]
# Deeper runs on demand: MILLWRIGHT_SCHEMATHESIS_EXAMPLES=100 MILLWRIGHT_SCHEMATHESIS_SEED=...
MAX_EXAMPLES = int(os.environ.get("MILLWRIGHT_SCHEMATHESIS_EXAMPLES", "8"))
SEED = os.environ.get("MILLWRIGHT_SCHEMATHESIS_SEED", "17")


@pytest.fixture
def served(database_url: str) -> Iterator[str]:
    truncate_all(database_url)
    database = Database(database_url, min_size=1, max_size=4)
    try:
        yield from _serve_seeded(database)
    finally:
        database.close()


def test_schemathesis_all_checks_are_clean(served: str, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{served}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {TOKEN['admin']}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--request-timeout",
        "30",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
    }
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env, check=False
    )
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
