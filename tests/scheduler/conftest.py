"""Fixtures of the scheduler tests (real CP-SAT everywhere; no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scheduler.helpers import JSSP_DIR


@pytest.fixture
def jssp_dir() -> Path:
    assert JSSP_DIR.is_dir(), f"JSSP instances expected in {JSSP_DIR}"
    return JSSP_DIR
