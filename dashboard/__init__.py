"""The Dash plant-floor dashboard: overview, machine, schedule and alert pages, sign-in.

The face: other packages import only the names in ``__all__`` (``from dashboard import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from dashboard.app import create_dashboard
    from dashboard.config import DashboardConfig

_FACE = {
    "DashboardConfig": "dashboard.config",
    "create_dashboard": "dashboard.app",
}

__all__ = [
    "DashboardConfig",
    "create_dashboard",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
