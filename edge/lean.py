"""Keep the edge process small: libraries it never needs are refused before anything loads.

The full product is often installed on the edge host too, and some libraries import heavy
optional companions when they find them: pandas 3 loads pyarrow (~35 MB resident), LightGBM
loads scikit-learn and its scipy parts (~70 MB). The edge scores with pandas' numpy columns
and LightGBM's booster alone, so it refuses those (and the dashboard, planning and training
stacks) for its own process: an import of one raises ``ImportError``, which those libraries
treat as "not installed" (httpx then goes without its command line, which its webhooks never
use). Measured by ``millwright bench edge``.
"""

from __future__ import annotations

import sys

KEPT_OUT = (
    "pyarrow",
    "sklearn",
    "dash",
    "ortools",
    "fastapi",
    "dask",
    "onnxmltools",
    "skl2onnx",
    "httpx._main",  # httpx's command line: click, rich and pygments (~4 MB) for no webhook
)


def keep_out(modules: tuple[str, ...] = KEPT_OUT) -> list[str]:
    """Refuse ``modules`` in this process; returns those already imported (too late)."""
    late = [m for m in modules if sys.modules.get(m) is not None]
    for name in modules:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]
    return late


def release_memory() -> None:
    """Hand the heap freed by a scoring pass back to the system (glibc ``malloc_trim``).

    A scoring pass builds a readings frame and feature blocks for a chunk of machines and
    frees them; without this the allocator keeps the high-water mark resident between
    passes. A no-op where the C library has no ``malloc_trim``."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim(0)
