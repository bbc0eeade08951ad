"""How every refresh callback treats a database outage: keep the last data on screen.

Raising `PreventUpdate` leaves the outputs as they were; the page's refresh stamp then stops
changing and `assets/live.js` marks the page stale after the configured limit.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dash.exceptions import PreventUpdate

from millwright.core.storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def keep_last_on_outage(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DatabaseUnavailable as exc:
            log.warning("dashboard refresh skipped, database unavailable: %s", exc)
            raise PreventUpdate from exc

    return wrapper
