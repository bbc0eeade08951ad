"""`millwright --version` and `--help` import no stage; the bench extra is named when missing.

Import checks, not timings: each command runs in a fresh interpreter that reports which of the
project's packages it loaded (the CPU figure is measured beside ``python -c pass`` by hand).
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from millwright import __version__
from millwright.app.cli import STAGE_COMMANDS, load_stage_command

STAGES = (
    "ingest", "sim", "features", "models", "alerts", "scheduler", "api", "dashboard", "edge",
    "bench",
)  # fmt: skip

_RUN = """
import sys
sys.argv = ["millwright", *{args!r}]
{prelude}
from millwright.app.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {stages!r})
print("LOADED=" + ",".join(loaded), file=sys.stderr)
"""

# Makes the bench extra look uninstalled: its requirement cannot be imported.
_NO_EXTRA = """
import importlib.abc
class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "psutil":
            raise ModuleNotFoundError("No module named 'psutil'", name="psutil")
sys.meta_path.insert(0, _Block())
"""


def _run(*args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = _RUN.format(args=list(args), stages=list(STAGES), prelude=prelude)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def _modules(result: subprocess.CompletedProcess[str]) -> set[str]:
    line = next(x for x in result.stderr.splitlines() if x.startswith("LOADED="))
    return {m for m in line.removeprefix("LOADED=").split(",") if m}


def _loaded(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The project packages a run imported."""
    return sorted({m.split(".")[0] for m in _modules(result)})


@pytest.mark.parametrize("args", [("--version",), ("--help",), ()])
def test_version_and_help_import_no_stage(args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert _loaded(result) == []
    if args == ("--version",):
        assert result.stdout.strip() == __version__


def test_a_stage_command_loads_only_its_stage() -> None:
    """Beyond its settings section (the root builds the settings), only `features` loads."""
    code = "import sys, millwright.app.settings; print(sorted(m for m in sys.modules"
    code += f" if m.split('.')[0] in {list(STAGES)!r}))"
    settings = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    result = _run("features", "--help")
    assert "backfill" in result.stdout
    beyond_settings = _modules(result) - set(ast.literal_eval(settings.stdout))
    assert beyond_settings and {m.split(".")[0] for m in beyond_settings} == {"features"}


def test_edge_help_loads_only_the_edge() -> None:
    result = _run("edge", "--help")
    assert "refresh" in result.stdout and "sync" in result.stdout
    assert "edge" in _loaded(result)
    assert not {"lightgbm", "dash", "ortools"} & set(result.stderr.split(","))


@pytest.mark.parametrize("command", ["bench", "eval"])
def test_bench_and_eval_name_the_extra_when_it_is_missing(command: str) -> None:
    result = _run(command, "jssp", prelude=_NO_EXTRA)
    assert "pip install 'millwright[bench]'" in result.stderr
    assert "bench" not in _loaded(result)


def test_schedule_run_works_without_the_extra() -> None:
    result = _run("schedule", "--help", prelude=_NO_EXTRA)
    assert "run" in result.stdout and "jssp" not in result.stdout


@pytest.mark.parametrize("name", sorted(STAGE_COMMANDS))
def test_the_help_table_matches_the_commands(name: str) -> None:
    command = load_stage_command(name)
    assert command.name == name
    assert command.get_short_help_str(200) == STAGE_COMMANDS[name].help


_SPIN = """
import os, sys
sys.argv = ["millwright", "--version"]
from millwright.app.cli import main
try:
    main()
except SystemExit:
    pass
print("SPIN=" + os.environ.get("GOMP_SPINCOUNT", "unset"), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("operator", "expected"),
    [({}, "10000"), ({"OMP_WAIT_POLICY": "PASSIVE"}, "unset"), ({"GOMP_SPINCOUNT": "5"}, "5")],
)
def test_openmp_threads_spin_briefly_unless_the_operator_chose(
    operator: dict[str, str], expected: str
) -> None:
    """LightGBM's threads wait with a short spin (fast on a quiet host, little waste on a busy
    one); an operator's OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    result = subprocess.run(
        [sys.executable, "-c", _SPIN], capture_output=True, text=True, env={**env, **operator}
    )
    assert f"SPIN={expected}" in result.stderr.splitlines()
