"""The table of jobs the worker runs, by name. The queue (materials/platform/queue.py) knows
none of them; `create_app` registers this table on it."""

from __future__ import annotations

import logging

from materials.catalogue import renditions
from materials.platform.deps import Deps
from materials.platform.queue import Periodic

log = logging.getLogger(__name__)


def register(deps: Deps) -> None:
    def process_asset(asset_id: int) -> None:
        renditions.process_asset(deps, asset_id)

    def sweep_orphans() -> None:
        removed = renditions.sweep_orphans(deps)
        if removed:
            log.info("swept %d orphan files", removed)

    deps.queue.register(
        {"process_asset": process_asset},
        {"sweep_orphans": Periodic(sweep_orphans, {"minute": "*/15"})},
    )
