"""Calls to a rate-limited outside API, paced for every process and node together.

Each call reserves the next start time in the `rate_slots` row for its API (a compare-and-set
in a write transaction: BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on PostgreSQL), one
1/N s after the previous reservation, then sleeps until then. Starts are thus spaced evenly, at
most N in any second, however many processes ask; the wait itself happens outside the
transaction. A call that would wait longer than `max_wait` is refused instead of queued, so a
burst turns into quick 503s rather than requests hanging for minutes.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from materials.models import RateSlot, utcnow
from materials.platform.db import Database


class TooBusy(Exception):
    def __init__(self, name: str, retry_after: int) -> None:
        super().__init__(f"{name}: the next free slot is {retry_after} s away")
        self.retry_after = retry_after


def pace(db: Database, name: str, per_second: float, max_wait: float) -> None:
    """Wait for this call's turn among all of `name`'s calls; TooBusy if that is too far."""
    wait = _reserve(db, name, per_second, max_wait)
    if wait > 0:
        time.sleep(wait)


def _reserve(db: Database, name: str, per_second: float, max_wait: float) -> float:
    for _attempt in range(3):
        try:
            return _reserve_once(db, name, per_second, max_wait)
        except IntegrityError:
            continue  # another process made the row first: reserve again on it
    raise TooBusy(name, 1)


def _reserve_once(db: Database, name: str, per_second: float, max_wait: float) -> float:
    with db.transaction() as s:
        now = utcnow()
        row = s.get(RateSlot, name, with_for_update=True)
        if row is None:
            row = RateSlot(name=name, next_at=now)
            s.add(row)
        start = max(now, row.next_at)
        wait = (start - now).total_seconds()
        if wait > max_wait:
            raise TooBusy(name, max(1, math.ceil(wait)))
        row.next_at = start + timedelta(seconds=1 / per_second)
        return wait
