"""Errors raised by the `features` package.

    FeaturesError
    ├── UnknownVersionError     a feature version that was never registered in the database
    ├── VersionConflictError    a version whose stored names differ from the definition's
    └── NoSensorsError          no sensor to build features from (none registered or pinned)

Database failures surface as :class:`millwright.core.storage.DatabaseUnavailable`; psycopg errors
of the feature tables are translated to :class:`FeaturesError` at the store boundary.
"""

from __future__ import annotations


class FeaturesError(Exception):
    """Base of every error raised by `features`."""


class UnknownVersionError(FeaturesError, LookupError):
    """The feature version is not in ``feature_versions``; run the feature job first."""


class VersionConflictError(FeaturesError):
    """The same version string is stored with other feature names (a hash collision or a
    changed formula without a FORMULA_REVISION bump)."""


class NoSensorsError(FeaturesError):
    """There is no sensor to compute features from."""
