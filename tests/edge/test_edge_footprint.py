"""What the edge process loads: a regression guard for its resident memory (``bench edge``).

The modules are checked in a fresh interpreter that imports what ``millwright edge run`` has
imported when its loop starts; a module that creeps back into that set costs every edge host
its resident size, which no timing test would notice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from edge.lean import KEPT_OUT

ROOT = Path(__file__).resolve().parents[2]

# LightGBM's Python package and scipy (the edge scores through lib_lightgbm); httpx until the
# first webhook of an outage, and its command line (click, rich, pygments) never
NEVER = (*KEPT_OUT, "scipy", "lightgbm", "narwhals", "rich", "click", "pygments")

_CODE = textwrap.dedent(
    """
    import json, sys
    from edge.lean import keep_out
    keep_out()  # as millwright.app.cli.main does for `edge run`
    import millwright.app.cli, edge.cli, edge.service, edge.window, edge.scoring
    from alerts import AlertsConfig
    from edge.alerting import EdgeSender
    from edge.cache import EdgeCache
    from edge.config import EdgeConfig
    from ingest import IngestConfig
    from models import ModelsConfig

    def loaded():
        return sorted({m for m, v in sys.modules.items() if v is not None})

    at_start = loaded()
    sender = EdgeSender(EdgeCache(sys.argv[1]), AlertsConfig())
    sender._client()  # what the first webhook of an outage makes
    sender.close()
    print(json.dumps({"start": at_start, "webhooks": loaded()}))
    """
)


def _tops(modules: list[str], wanted: tuple[str, ...]) -> list[str]:
    return sorted({m for m in modules if m in wanted or m.split(".")[0] in wanted})


def test_the_edge_process_loads_no_webhook_client_until_it_sends_and_no_heavy_library(
    tmp_path: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _CODE, str(tmp_path / "edge.sqlite")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert _tops(doc["start"], (*NEVER, "httpx")) == []
    # the first webhook loads httpx, still without its command line
    assert "httpx" in doc["webhooks"]
    assert _tops(doc["webhooks"], NEVER) == []
