"""What the application needs from the outside world, built once in `create_app`.

`Deps` is made by `build` from the settings and stored on the Flask app; the domain takes it
as an argument and never reaches into Flask for it. Building it does no I/O: no connection,
no bucket check, no queue file; each service connects on first use, so a process starts (and
says what is down) while a dependency is briefly unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from materials.platform.db import Database
from materials.platform.queue import Queue
from materials.urls import Urls
from media.storage import Storage, from_url
from search.replica import Replica


class Settings(Mapping[str, Any]):
    """The settings as `create_app` read them, by name: `settings.MAX_PHOTOS`. Read-only."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True)
class Deps:
    settings: Settings
    db: Database
    storage: Storage
    queue: Queue  # queue.enqueue(job, *args): only ever called after the commit
    search: Replica  # this node's index, read-only
    urls: Urls


def build(values: Mapping[str, Any]) -> Deps:
    settings = Settings(values)
    return Deps(
        settings=settings,
        db=Database(settings.DATABASE_URL),
        storage=from_url(settings.STORAGE_URL),
        queue=Queue(settings.QUEUE_URL, settings.QUEUE_NAME),
        search=Replica(settings.INDEX_DIR),
        urls=Urls(settings.PUBLIC_URL),
    )


def init_app(app: Any, deps: Deps) -> None:
    """Keeps `deps` on the (Flask) app; the web layer reads it back per request."""
    app.extensions["sucai"] = deps


def get_deps(app: Any) -> Deps:
    return app.extensions["sucai"]
