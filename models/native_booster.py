"""A LightGBM text model scored through LightGBM's own C library, without its Python package.

The edge must stay small (``millwright bench edge``), and ``import lightgbm`` loads scipy.sparse
(with numpy.testing and numpy.f2py) and narwhals whether or not they are used: about 18 MB
resident. Scoring needs none of them: the Python ``Booster`` hands a float matrix to
``LGBM_BoosterPredictForMat`` of ``lib_lightgbm`` and reads a float64 buffer back. This module
makes the same calls with the same arguments (the library shipped in the installed
``lightgbm`` wheel, found without importing the package; an empty prediction parameter
string and ``num_iteration=-1``, as ``Booster(model_str=...).predict`` passes), so its numbers
are the wrapper's numbers bit for bit. It implements what scoring uses: :meth:`predict`
(probability, raw score, leaf index, contributions) and :meth:`dump_model`.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# LightGBM's c_api.h
_PREDICT_NORMAL = 0
_PREDICT_RAW_SCORE = 1
_PREDICT_LEAF_INDEX = 2
_PREDICT_CONTRIB = 3
_DTYPE_FLOAT32 = 0
_DTYPE_FLOAT64 = 1
_ROW_MAJOR = 1
_COL_MAJOR = 0
_ALL_ITERATIONS = -1  # Booster(model_str=...) has best_iteration -1: every iteration
_PRED_PARAMETER = b""  # Booster.predict() without keyword arguments


class NativeBoosterError(RuntimeError):
    """lib_lightgbm refused a call (its own message), or the library is not installed."""


def library_path() -> Path:
    """``lib_lightgbm`` of the installed ``lightgbm`` wheel, where ``lightgbm.libpath`` looks,
    found without importing the package."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise NativeBoosterError("lightgbm is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    name = {"win32": "lib_lightgbm.dll", "darwin": "lib_lightgbm.dylib"}.get(
        sys.platform, "lib_lightgbm.so"
    )
    for candidate in (package.parent / name, package / "bin" / name, package / "lib" / name):
        if candidate.is_file():
            return candidate
    raise NativeBoosterError(f"no {name} in the lightgbm package at {package}")


_LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_char_p)


def _log_native(message: bytes) -> None:
    text = message.decode("utf-8", "replace").strip()
    if text:
        log.debug("lib_lightgbm: %s", text)


_log_callback = _LOG_CALLBACK(_log_native)  # kept alive for the library's lifetime


@cache
def _library() -> ctypes.CDLL:
    lib = ctypes.cdll.LoadLibrary(str(library_path()))
    lib.LGBM_GetLastError.restype = ctypes.c_char_p
    # LightGBM's Python package routes the library's log to its logger; when it is not loaded
    # here, route it to ours rather than to stdout.
    if sys.modules.get("lightgbm.basic") is None:
        lib.LGBM_RegisterLogCallback(_log_callback)
    return lib


def _call(status: int) -> None:
    if status != 0:
        raise NativeBoosterError(_library().LGBM_GetLastError().decode("utf-8"))


class NativeBooster:
    """One booster loaded from LightGBM's text format; freed with the object."""

    def __init__(self, model_str: str) -> None:
        lib = _library()
        self._handle: ctypes.c_void_p | None = ctypes.c_void_p()
        iterations = ctypes.c_int(0)
        _call(
            lib.LGBM_BoosterLoadModelFromString(
                ctypes.c_char_p(model_str.encode("utf-8")),
                ctypes.byref(iterations),
                ctypes.byref(self._handle),
            )
        )
        self.num_iterations = iterations.value

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            _library().LGBM_BoosterFree(handle)
        self._handle = None

    def predict(
        self,
        matrix: np.ndarray,
        *,
        raw_score: bool = False,
        pred_leaf: bool = False,
        pred_contrib: bool = False,
    ) -> np.ndarray:
        """What ``lightgbm.Booster.predict`` returns for a 2-D float array: one value per row,
        or (rows, trees) leaf indices (int32), or (rows, features + 1) contributions."""
        if matrix.ndim != 2:
            raise ValueError("a booster predicts a 2-D matrix")
        kind = _PREDICT_NORMAL
        if raw_score:
            kind = _PREDICT_RAW_SCORE
        if pred_leaf:
            kind = _PREDICT_LEAF_INDEX
        if pred_contrib:
            kind = _PREDICT_CONTRIB
        # as lightgbm.basic._np2d_to_np1d: float32/float64 kept, anything else float32; the
        # memory order kept (copies only when needed)
        dtype = matrix.dtype if matrix.dtype in (np.float32, np.float64) else np.float32
        if matrix.flags["F_CONTIGUOUS"]:
            data, layout = np.asarray(matrix, dtype=dtype, order="F").ravel(order="F"), _COL_MAJOR
        else:
            data, layout = np.asarray(matrix, dtype=dtype, order="C").ravel(order="C"), _ROW_MAJOR
        pointer_type = ctypes.c_float if data.dtype == np.float32 else ctypes.c_double
        data_type = _DTYPE_FLOAT32 if data.dtype == np.float32 else _DTYPE_FLOAT64
        rows, cols = matrix.shape
        lib = _library()
        expected = ctypes.c_int64(0)
        _call(
            lib.LGBM_BoosterCalcNumPredict(
                self._handle,
                ctypes.c_int(rows),
                ctypes.c_int(kind),
                ctypes.c_int(0),
                ctypes.c_int(_ALL_ITERATIONS),
                ctypes.byref(expected),
            )
        )
        out = np.empty(expected.value, dtype=np.float64)
        written = ctypes.c_int64(0)
        _call(
            lib.LGBM_BoosterPredictForMat(
                self._handle,
                data.ctypes.data_as(ctypes.POINTER(pointer_type)),
                ctypes.c_int(data_type),
                ctypes.c_int32(rows),
                ctypes.c_int32(cols),
                ctypes.c_int(layout),
                ctypes.c_int(kind),
                ctypes.c_int(0),
                ctypes.c_int(_ALL_ITERATIONS),
                ctypes.c_char_p(_PRED_PARAMETER),
                ctypes.byref(written),
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            )
        )
        if written.value != expected.value:
            raise NativeBoosterError(f"{written.value} predictions, expected {expected.value}")
        if pred_leaf:
            return out.astype(np.int32).reshape(rows, -1)
        if pred_contrib or (rows and out.size != rows):
            return out.reshape(rows, -1)
        return out

    def current_iteration(self) -> int:
        """Boosting iterations in the model (``lightgbm.Booster.current_iteration``)."""
        out = ctypes.c_int(0)
        _call(_library().LGBM_BoosterGetCurrentIteration(self._handle, ctypes.byref(out)))
        return out.value

    def dump_model(
        self, num_iteration: int | None = None, start_iteration: int = 0
    ) -> dict[str, Any]:
        """The model as LightGBM's JSON dump (split importance), as
        ``lightgbm.Booster.dump_model(num_iteration, start_iteration)`` returns it apart from
        ``pandas_categorical``: ``num_iteration`` from ``start_iteration`` (None: all)."""
        lib = _library()
        size = 1 << 20
        for _ in range(2):
            buffer = ctypes.create_string_buffer(size)
            needed = ctypes.c_int64(0)
            _call(
                lib.LGBM_BoosterDumpModel(
                    self._handle,
                    ctypes.c_int(start_iteration),
                    ctypes.c_int(_ALL_ITERATIONS if num_iteration is None else num_iteration),
                    ctypes.c_int(0),  # importance type: split
                    ctypes.c_int64(size),
                    ctypes.byref(needed),
                    ctypes.c_char_p(ctypes.addressof(buffer)),
                )
            )
            if needed.value <= size:
                doc: dict[str, Any] = json.loads(buffer.value.decode("utf-8"))
                return doc
            size = needed.value
        raise NativeBoosterError("LightGBM's model dump kept growing")
