"""The job queue: huey on SQLite by default, on Redis at scale (SUCAI_QUEUE_URL).

The queue knows no job: it is given a table of handlers (`materials/jobs.py`) and runs them by
name. huey itself is made on first use, so constructing a Queue touches no file and no server.
Jobs are only ever enqueued after the database transaction that made their rows has committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from huey import Huey, RedisHuey, SqliteHuey, crontab


@dataclass(frozen=True)
class Periodic:
    """A job huey runs on a schedule in the worker (crontab fields, e.g. minute="*/15")."""

    handler: Callable[[], None]
    schedule: Mapping[str, str]


def make_huey(url: str, name: str) -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SqliteHuey(name, filename=url.split("///", 1)[1], results=False, timeout=30)
    if scheme in ("redis", "rediss"):
        return RedisHuey(name, url=url, results=False)
    raise ValueError(f"unsupported queue URL scheme: {scheme!r}")


class Queue:
    def __init__(self, url: str, name: str) -> None:
        if urlsplit(url).scheme not in ("sqlite", "redis", "rediss"):
            raise ValueError(f"unsupported queue URL: {url!r}")
        self.url, self.name = url, name
        self._handlers: dict[str, Callable[..., None]] = {}
        self._periodic: dict[str, Periodic] = {}
        self._huey: Huey | None = None
        self._tasks: dict[str, Callable[..., object]] = {}
        self._lock = threading.Lock()

    def register(
        self,
        handlers: Mapping[str, Callable[..., None]],
        periodic: Mapping[str, Periodic] | None = None,
    ) -> None:
        if self._huey is not None:
            raise RuntimeError("register every job before the queue is first used")
        self._handlers.update(handlers)
        self._periodic.update(periodic or {})

    @property
    def huey(self) -> Huey:
        with self._lock:
            if self._huey is None:
                self._huey = self._make()
            return self._huey

    def _make(self) -> Huey:
        huey = make_huey(self.url, self.name)
        for name, handler in self._handlers.items():
            self._tasks[name] = huey.task(name=name)(handler)
        for name, job in self._periodic.items():
            huey.periodic_task(crontab(**job.schedule), name=name)(job.handler)
        return huey

    def enqueue(self, job: str, *args: object) -> None:
        self.huey  # noqa: B018 - makes huey (and the tasks) on first use
        self._tasks[job](*args)

    def ping(self) -> None:
        """Raises unless the queue's store answers (a Redis PING, an SQLite read)."""
        self.huey.pending_count()

    def consumer(self, workers: int, periodic: bool = True):  # noqa: ANN201
        """A huey consumer: `.run()` in the worker process, `.start()` in tests (without the
        periodic jobs there, which would race the tests' own files)."""
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=periodic,
            initial_delay=0.05,
            max_delay=0.5,
            check_worker_health=True,
        )
