"""The design of the house, stated as rules on the import graph (docs/architecture.md).

- ``millwright.core`` (the ground floor, with ``millwright/__init__.py``) imports no stage and
  nothing from ``millwright.app``.
- Nothing but the entry points (``millwright/__main__.py``; the console script names
  ``millwright.app.cli:main``) and ``millwright.app`` itself imports ``millwright.app``.
- Data flows one way: a stage imports only stages upstream of it, and the scheduler imports
  neither ``sim`` nor ``models``.
- A stage imports another stage only through its face: ``import alerts`` or
  ``from alerts import acknowledge`` with ``acknowledge`` in ``alerts.__all__``; never
  ``alerts.service``. No file is exempt (``cli.py`` included).
- ``bench`` (the roof) may import any stage's internals; ``app`` (the composition root) too.
  Nothing imports ``bench``: the CLI loads its commands by name, only when used.

Every import counts: module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Upstream stages each stage may import (through their faces); the flow of data:
# core -> ingest/sim -> features -> models -> alerts/scheduler -> api/dashboard.
UPSTREAM: dict[str, frozenset[str]] = {
    "ingest": frozenset(),
    "sim": frozenset(),
    "features": frozenset({"ingest", "sim"}),
    "models": frozenset({"ingest", "sim", "features"}),
    "alerts": frozenset({"ingest", "sim", "features", "models"}),
    # The scheduler plans from the database's risk scores, not from the models' code, and
    # the plant simulation it used to drive for evaluation lives in bench/.
    "scheduler": frozenset({"ingest", "features"}),
    # Outcomes read every stage's tables and import none of them.
    "outcomes": frozenset(),
    "api": frozenset({"ingest", "sim", "features", "models", "alerts", "scheduler", "outcomes"}),
    "dashboard": frozenset(
        {"ingest", "sim", "features", "models", "alerts", "scheduler", "outcomes"}
    ),
    # The plant-floor edge scores and alerts with the central stages' code while the link
    # to the central database is down.
    "edge": frozenset({"ingest", "sim", "features", "models", "alerts"}),
}
STAGES = frozenset(UPSTREAM)
ROOMS = STAGES | {"millwright.core", "millwright.app", "bench"}
ENTRY_POINTS = frozenset({"millwright/__main__.py"})


@dataclass(frozen=True)
class Import:
    path: str  # relative to the repository root
    line: int
    module: str  # the imported module
    names: tuple[str, ...]  # for `from module import a, b`; empty for `import module`

    def __str__(self) -> str:
        what = (
            f"from {self.module} import {', '.join(self.names)}"
            if self.names
            else (f"import {self.module}")
        )
        return f"{self.path}:{self.line}: {what}"


def imports_of(path: Path, root: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(rel, node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = tuple(alias.name for alias in node.names)
            found.append(Import(rel, node.lineno, node.module, names))
    return found


def room_of(rel: str) -> str:
    """The room a file (or an imported module, dotted) belongs to."""
    parts = rel.removesuffix(".py").replace("/", ".").split(".")
    if parts[0] == "millwright":
        if len(parts) > 1 and parts[1] in ("core", "app"):
            return f"millwright.{parts[1]}"
        if rel in ENTRY_POINTS:
            return "entry point"
        return "millwright.core"  # millwright/__init__.py: the version, part of the ground floor
    return parts[0]


def _python_files(root: Path) -> list[Path]:
    rooms = [*STAGES, "bench", "millwright"]
    return sorted(p for room in rooms for p in (root / room).rglob("*.py"))


def violations(root: Path, faces: dict[str, frozenset[str]]) -> list[str]:
    """Every import in the packages under ``root`` that breaks a rule, as a readable line."""
    problems = []
    for path in _python_files(root):
        for imp in imports_of(path, root):
            source = room_of(imp.path)
            target = room_of(imp.module)
            if target == source or target not in ROOMS:
                continue
            if target == "bench":
                problems.append(f"{imp}: nothing imports the roof (the CLI loads it by name)")
                continue
            if target == "millwright.app":
                if source not in ("millwright.app", "entry point"):
                    problems.append(f"{imp}: only the entry points import millwright.app")
                continue
            if source == "millwright.core":
                if target in STAGES:
                    problems.append(f"{imp}: the ground floor imports no stage")
                continue
            if source in ("millwright.app", "bench", "entry point") or target == "millwright.core":
                continue
            if target not in UPSTREAM[source]:
                problems.append(f"{imp}: {source} may not import {target} (not upstream of it)")
            elif imp.module != target:
                problems.append(f"{imp}: import {target} through its face, not {imp.module}")
            else:
                outside = [n for n in imp.names if n not in faces[target]]
                if outside:
                    problems.append(f"{imp}: {', '.join(outside)} not on the face of {target}")
    return problems


def _faces() -> dict[str, frozenset[str]]:
    return {stage: frozenset(importlib.import_module(stage).__all__) for stage in STAGES}


def test_the_house_keeps_its_rules() -> None:
    problems = violations(ROOT, _faces())
    assert not problems, "\n".join(problems)


# Each of the violations main had before the house issue, as the smallest file showing it:
# the checker must refuse every one.
TODAY = {
    "core imports app": ("millwright/core/storage/database.py", "from millwright.app import x"),
    "core imports a stage": ("millwright/core/users.py", "import alerts"),
    "a stage imports app": ("ingest/cli.py", "from millwright.app.settings import load_settings"),
    "bench imports app": ("bench/cli.py", "import millwright.app.cli"),
    "past the face": ("dashboard/callbacks/alerts.py", "from alerts.service import acknowledge"),
    "name not on the face": ("dashboard/callbacks/schedule.py", "from scheduler import service"),
    "sideways, in a cli.py": ("scheduler/cli.py", "from alerts import acknowledge"),
    "downstream, in a function": ("scheduler/cli.py", "def f():\n    from api import create_app"),
    "scheduler imports models": ("scheduler/evaluation.py", "from models import latest_risks"),
    "scheduler imports sim": ("scheduler/plant.py", "import sim"),
    "a stage imports bench": ("models/cli.py", "from bench.cmapss import read_cmapss"),
    "under TYPE_CHECKING": ("api/app.py", "if TYPE_CHECKING:\n    from millwright.app import S"),
}
FACES = {stage: frozenset({"acknowledge", "create_app", "latest_risks"}) for stage in STAGES}


@pytest.mark.parametrize("case", sorted(TODAY))
def test_each_old_violation_is_refused(case: str, tmp_path: Path) -> None:
    rel, source = TODAY[case]
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(textwrap.dedent(source) + "\n")
    assert len(violations(tmp_path, FACES)) == 1, case


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("dashboard/callbacks/alerts.py", "from alerts import acknowledge"),
        ("api/plant.py", "import models"),
        ("models/scoring.py", "from millwright.core.storage import Database"),
        ("bench/plant/run.py", "from models.risk import x\nimport sim.plant"),
        ("millwright/app/web.py", "from alerts.service import acknowledge"),
        ("millwright/__main__.py", "from millwright.app.cli import main"),
        ("ingest/decoders.py", "from ingest.rows import Row"),
    ],
)
def test_what_the_design_allows(rel: str, source: str, tmp_path: Path) -> None:
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(source + "\n")
    assert violations(tmp_path, FACES) == []
