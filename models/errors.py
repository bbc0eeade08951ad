"""Errors raised by the `models` package.

    ModelsError
    ├── ModelInputError        a features frame or label vector the models cannot use
    ├── NotFittedError         predicting with an estimator that was never fitted
    └── CmapssFormatError      a C-MAPSS file not in NASA's 26-column format

``NotFittedError`` also derives from scikit-learn's, so sklearn tooling recognises it.
"""

from __future__ import annotations

try:  # a scoring-only process (the edge) may run without scikit-learn
    from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
except ImportError:  # pragma: no cover - sklearn's own bases, without sklearn

    class _SklearnNotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        pass


class ModelsError(Exception):
    """Base of every error raised by `models`."""


class ModelInputError(ModelsError, ValueError):
    """Features or labels are malformed; the message says which and what is expected."""


class NotFittedError(ModelsError, _SklearnNotFittedError):
    """The estimator must be fitted before it can predict."""


class CmapssFormatError(ModelsError, ValueError):
    """A C-MAPSS file does not have NASA's layout (unit, cycle, 3 settings, 21 sensors)."""
