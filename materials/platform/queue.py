"""The job queue: huey on SQLite by default, on Redis at scale (SUCAI_QUEUE_URL).

Tasks are registered per app in init_app (nothing at import time) and only ever enqueued
after the database transaction that made their rows has committed.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)


def make_huey(url: str, name: str) -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SqliteHuey(name, filename=url.split("///", 1)[1], results=False, timeout=30)
    if scheme in ("redis", "rediss"):
        return RedisHuey(name, url=url, results=False)
    raise ValueError(f"unsupported queue URL scheme: {scheme!r}")


def init_app(app: Flask) -> None:
    from materials.catalogue import renditions as processing
    from materials.platform.deps import get_deps

    huey = make_huey(app.config["SUCAI_QUEUE_URL"], app.config["SUCAI_QUEUE_NAME"])

    @huey.task(name="process_asset")
    def process_asset(asset_id: int) -> None:
        with app.app_context():
            processing.process_asset(get_deps(app), asset_id)

    @huey.periodic_task(crontab(minute="*/15"), name="sweep_orphans")
    def sweep_orphans() -> None:
        with app.app_context():
            removed = processing.sweep_orphans(get_deps(app))
            if removed:
                log.info("swept %d orphan files", removed)

    app.extensions["sucai.huey"] = huey
    app.extensions["sucai.tasks"] = {"process_asset": process_asset}


def get_huey(app: Flask) -> Huey:
    return app.extensions["sucai.huey"]


def enqueue(app: Flask, task: str, *args: object) -> None:
    app.extensions["sucai.tasks"][task](*args)


def consumer(app: Flask, workers: int | None = None, periodic: bool = True):  # noqa: ANN201
    """A huey consumer for this app: `.run()` in the worker process, `.start()` in tests
    (without the periodic sweep there, which would race the tests' own files)."""
    return get_huey(app).create_consumer(
        workers=workers or app.config["SUCAI_WORKERS"],
        worker_type="thread",
        periodic=periodic,
        initial_delay=0.05,
        max_delay=0.5,
        check_worker_health=True,
    )
