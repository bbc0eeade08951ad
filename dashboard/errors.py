"""Errors of the `dashboard` package.

    DashboardError
    ├── AccessDenied      the signed-in user lacks the role an action needs
    └── NotFound          a page asked for a machine (or alert) that does not exist

Database outages surface as `millwright.core.storage.DatabaseUnavailable`; callbacks turn them
into "keep the last data, mark it stale" rather than an error page.
"""

from __future__ import annotations


class DashboardError(Exception):
    """Base of the dashboard's own errors."""


class AccessDenied(DashboardError):
    """The user is signed in but does not hold a role the action needs."""


class NotFound(DashboardError):
    """The requested machine or record does not exist."""
