"""Data flows one way: a package never imports one downstream of it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Each package may import only the packages listed (and itself).
ALLOWED = {
    "ingest": {"millwright"},
    "sim": {"millwright"},
    "features": {"millwright"},
    "models": {"millwright", "features"},
    "alerts": {"millwright", "features", "models", "scheduler"},
    "scheduler": {"millwright", "features", "models", "sim"},  # eval plant drives the sim core
    "dashboard": {"millwright", "features", "models", "alerts", "scheduler", "outcomes"},
    "outcomes": {"millwright"},  # reads every stage's tables, imports none of them
}
PACKAGES = set(ALLOWED) | {"millwright"}
SHELL_COMPOSITION_ROOTS = {"cli.py", "settings.py", "demo", "services"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PACKAGES


def test_packages_only_import_upstream() -> None:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "cli.py":
                continue  # commands are composition roots: they wire stages together
            bad = _imports(path) - allowed - {package}
            if bad:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not problems, "\n".join(problems)


def test_storage_imports_no_stage() -> None:
    problems = []
    for path in (ROOT / "millwright" / "storage").rglob("*.py"):
        bad = _imports(path) - {"millwright"}
        if bad:
            problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not problems
