"""What a use case needs from the outside world, built once per app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from materials.platform.db import Database
from media.storage import Storage


@dataclass(frozen=True)
class Deps:
    db: Database
    storage: Storage
    enqueue: Callable[..., None]  # enqueue(task_name, *args): only ever called after commit
    cfg: Mapping[str, Any]

    def setting(self, name: str) -> Any:
        return self.cfg[f"SUCAI_{name}"]


def get_deps(app: Flask | None = None) -> Deps:
    app = app or current_app
    deps = app.extensions.get("sucai.deps")
    if deps is None:
        from materials.platform.db import get_db
        from materials.platform.queue import enqueue
        from media.storage import get_storage

        deps = Deps(get_db(app), get_storage(app), lambda *a: enqueue(app, *a), app.config)
        app.extensions["sucai.deps"] = deps
    return deps
