"""Fixtures of the bench tests: the JSSP instances shipped with the bench data."""

from __future__ import annotations

from pathlib import Path

import pytest

JSSP_DIR = Path(__file__).resolve().parents[2] / "bench" / "data" / "jssp"


@pytest.fixture
def jssp_dir() -> Path:
    assert JSSP_DIR.is_dir(), f"JSSP instances expected in {JSSP_DIR}"
    return JSSP_DIR
