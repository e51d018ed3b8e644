"""Durable jobs: the database, not the queue, is the record of the renditions owed.

An asset in `processing` is owed its renditions. The queue only delivers the news, and is not
trusted to keep it: huey deletes a task when a worker takes it, so a worker killed mid-job loses
the task, and a web worker killed between its commit and its enqueue never sends one. So:

- A job first **claims** its asset: a compare-and-set that sets `lease_until` (a lease
  ahead) only if nobody holds a live lease. A duplicate delivery, or a second worker, finds the
  lease held (or the asset finished) and does nothing. While it works, a heartbeat thread
  renews the lease every third of it, so a ten-minute transcode keeps its lease but a
  killed worker's lease runs out soon after it died.
- The **reaper** (`requeue_stuck`, run by every worker process every few seconds and when it
  starts) hands the queue again every asset whose lease ran out (its worker died, or a
  transient failure's backoff is over) and every one that was never leased although it was
  queued more than a grace period ago (the enqueue was lost). Its own update is a
  compare-and-set too, so two reapers never enqueue the same asset twice.
- A **transient** failure (storage or database unreachable) is not a verdict: the lease is set
  to now + a backoff with jitter, and the reaper or a delayed task tries again; only after
  MAX_ATTEMPTS it becomes `failed`, marked retryable. A permanent failure (a file that cannot
  be decoded) fails at once, not retryable.

The three times are settings (SUCAI_JOB_LEASE_SECONDS 30, SUCAI_REAP_SECONDS 15,
SUCAI_ENQUEUE_GRACE_SECONDS 60): a killed worker's job runs again within lease + reap (45 s); a
lost enqueue is found within grace + reap (75 s), photos and videos alike, since the heartbeat
(not the lease length) covers long transcodes.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from materials.models import PROCESSING, Asset, utcnow
from materials.platform.db import UNAVAILABLE
from materials.platform.deps import Deps
from media.storage import StorageError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 300.0
REAP_BATCH = 500

# Errors that say "a dependency is briefly away", not "this file is bad".
TRANSIENT = (StorageError, *UNAVAILABLE, ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


@dataclass(frozen=True)
class Claimed:
    """What a job needs of the asset it now holds."""

    asset_id: int
    kind: str
    key: str
    mime: str
    duration: float | None
    attempts: int  # this one included


def _claimable(now: datetime):  # noqa: ANN202 - a SQL condition
    return and_(
        Asset.status == PROCESSING, or_(Asset.lease_until.is_(None), Asset.lease_until < now)
    )


def claim(deps: Deps, asset_id: int) -> Claimed | None:
    """Take the asset's lease, or None when it is done, gone, or held by a live worker."""
    now = utcnow()
    with deps.db.transaction() as s:
        taken = s.execute(
            update(Asset)
            .where(Asset.id == asset_id, _claimable(now))
            .values(
                lease_until=now + timedelta(seconds=deps.settings.JOB_LEASE_SECONDS),
                attempts=Asset.attempts + 1,
            )
        )
        if taken.rowcount != 1:
            return None
        a = s.get(Asset, asset_id)
        return Claimed(a.id, a.kind, a.key, a.mime, a.duration, a.attempts)


def renew(deps: Deps, asset_id: int) -> bool:
    """Extend a held lease; False when the asset is no longer ours to hold (finished by a
    duplicate, retried, deleted)."""
    with deps.db.transaction() as s:
        done = s.execute(
            update(Asset)
            .where(Asset.id == asset_id, Asset.status == PROCESSING)
            .values(lease_until=utcnow() + timedelta(seconds=deps.settings.JOB_LEASE_SECONDS))
        )
        return done.rowcount == 1


@contextmanager
def heartbeat(deps: Deps, asset_id: int) -> Iterator[None]:
    """Renews the lease in a thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(deps.settings.JOB_LEASE_SECONDS / 3):
            try:
                renew(deps, asset_id)
            except Exception as exc:  # the database blinked: the next beat tries again
                log.warning("asset %s: lease renewal failed: %r", asset_id, exc)

    thread = threading.Thread(target=beat, name=f"lease-{asset_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts` + 1: exponential, capped, with full jitter so a
    storage outage does not bring every job back in the same second."""
    ceiling = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 16))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrets


def postpone(deps: Deps, asset_id: int, delay: float) -> None:
    """Give the lease back for `delay` seconds: the reaper (or a delayed task) comes back."""
    with deps.db.transaction() as s:
        s.execute(
            update(Asset)
            .where(Asset.id == asset_id, Asset.status == PROCESSING)
            .values(lease_until=utcnow() + timedelta(seconds=delay))
        )


def requeue_stuck(deps: Deps, now: datetime | None = None) -> list[int]:
    """Enqueue every asset owed work that no live worker holds; returns their ids."""
    now = now or utcnow()
    stuck = or_(
        Asset.lease_until < now,
        and_(
            Asset.lease_until.is_(None),
            or_(
                Asset.queued_at.is_(None),
                Asset.queued_at < now - timedelta(seconds=deps.settings.ENQUEUE_GRACE_SECONDS),
            ),
        ),
    )
    with deps.db.transaction() as s:
        ids = list(
            s.scalars(
                select(Asset.id)
                .where(Asset.status == PROCESSING, stuck)
                .order_by(Asset.id)
                .limit(REAP_BATCH)
            )
        )
        if not ids:
            return []
        # Back to "queued": lease cleared so the delivery can claim it; the same condition
        # in the update, so a concurrent reaper that got there first wins and we skip.
        s.execute(
            update(Asset)
            .where(Asset.id.in_(ids), Asset.status == PROCESSING, stuck)
            .values(queued_at=now, lease_until=None)
        )
    for asset_id in ids:
        deps.queue.enqueue("process_asset", asset_id)
    if ids:
        log.info("re-queued %d assets owed renditions: %s", len(ids), ids[:20])
    return ids


class Reaper:
    """Runs `requeue_stuck` now and every SUCAI_REAP_SECONDS in a thread of the worker process.
    Never lets an error end it: a database or queue that is down is tried again next round."""

    def __init__(self, deps: Deps, every: float | None = None) -> None:
        self.deps, self.every = deps, every or deps.settings.REAP_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reaper", daemon=True)

    def start(self) -> Reaper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            try:
                requeue_stuck(self.deps)
            except Exception as exc:
                log.warning("reaper: %r; trying again in %.0f s", exc, self.every)
            if self._stop.wait(self.every):
                return
