"""A dispatcher in its own process, for the kill test: ``python dispatch_worker.py URL JSON``."""

from __future__ import annotations

import sys

from alerts.config import AlertsConfig
from alerts.dispatcher import Dispatcher
from millwright.core.storage.database import Database

if __name__ == "__main__":
    database = Database(sys.argv[1], min_size=1, max_size=2)
    config = AlertsConfig.model_validate_json(sys.argv[2])
    with Dispatcher(database, config) as dispatcher:
        dispatcher.run(interval_s=0.02)
