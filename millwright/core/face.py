"""Package faces that import on first use (PEP 562).

A stage's ``__init__`` names what other packages may use and where it lives; the module
behind a name is imported the first time the name is read. Importing a stage (or one of its
``config`` modules, as the composed settings do) therefore costs nothing until its face is
used, so ``millwright --help`` stays cheap while ``from alerts import acknowledge`` still
works. Resolved names are cached in the package namespace, so ``vars(package)`` shows the
face once it is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose face maps name -> module."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
