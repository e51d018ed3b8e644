"""Short-lived credentials from outside services, one copy shared by every process and node.

WeChat's access_token and jsapi_ticket live 7200 s, their fetches are rate-limited, and fetching
a new access_token retires the previous one five minutes later: one process must fetch for all
(WeChat's own advice is a single "central" fetcher). The `service_tokens` row is that one copy.

- A value is used until its refresh time (REFRESH_FRACTION of its life). Then one process takes
  a *lease* on the row, a compare-and-set in a write transaction (BEGIN IMMEDIATE on SQLite,
  SELECT ... FOR UPDATE on PostgreSQL), fetches, and writes the new value back. Everyone else
  meanwhile keeps using the old value, still valid for the rest of its life, or, when there is
  none yet, waits for the new one.
- The fetch itself runs outside any transaction: on SQLite a transaction open across a network
  round trip would hold the whole database's write lock for it.
- A failed fetch leaves its reason on the row and a short backoff as the lease, so that while
  the service is away requests answer at once instead of each trying in turn for a timeout.
- `reject` is for a value the service has just refused (WeChat's 40001): it is fetched anew
  unless another process already replaced it, which the compare-and-set sees.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from materials.models import ServiceToken, utcnow
from materials.platform.db import Database

log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.8
# Longer than any fetch can take: a ticket fetch may fetch a token first, and retry both once
# after a 40001, each call with a timeout of a few seconds.
LEASE_SECONDS = 30
WAIT_SECONDS = 10  # how long a request waits for another process's first fetch
POLL_SECONDS = 0.05
BACKOFF_SECONDS = 5


@dataclass(frozen=True)
class Fetched:
    value: str
    expires_in: int  # seconds, as the service says


class TokenUnavailable(Exception):
    """No usable value and none to be had right now: a fetch failed moments ago (its backoff
    runs) or another process's fetch is taking too long."""

    def __init__(self, name: str, reason: str, retry_after: int) -> None:
        super().__init__(f"{name}: {reason}")
        self.reason = reason
        self.retry_after = retry_after


def get(db: Database, name: str, fetch: Callable[[], Fetched], *, reject: str | None = None) -> str:
    """The current value of `name`; fetched (by one process for all) when there is none, when
    it is due for a refresh, or when it equals `reject`. `fetch` errors propagate unchanged."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = _read(db, name)
        if row is not None and _fresh(row, utcnow(), reject):
            return row.value  # the common case: one primary-key read, no write lock
        try:
            claim = _claim(db, name, reject)
        except IntegrityError:
            continue  # another process inserted the row first: look again
        if isinstance(claim, str):
            return claim
        if isinstance(claim, datetime):
            return _fetch(db, name, fetch, claim, reject)
        if time.monotonic() > deadline:
            raise TokenUnavailable(name, "another process is still fetching", retry_after=1)
        time.sleep(POLL_SECONDS)


def _read(db: Database, name: str) -> ServiceToken | None:
    with db.read() as s:
        return s.get(ServiceToken, name)


def _fresh(row: ServiceToken, now: datetime, reject: str | None) -> bool:
    return _usable(row, now, reject) and row.refresh_at is not None and now < row.refresh_at


def _usable(row: ServiceToken, now: datetime, reject: str | None) -> bool:
    """Not yet expired, even if due for a refresh, and not refused."""
    expires = row.expires_at
    return bool(row.value) and row.value != reject and expires is not None and now < expires


def _claim(db: Database, name: str, reject: str | None) -> str | datetime | None:
    """One compare-and-set on the row: the value to use (str), our lease to fetch under
    (datetime), or None to wait for another process's fetch."""
    now = utcnow()
    with db.transaction() as s:
        row = s.get(ServiceToken, name, with_for_update=True)
        if row is None:
            row = ServiceToken(name=name, value="")
            s.add(row)  # a concurrent insert of the same name fails at commit: IntegrityError
        if _fresh(row, now, reject):
            return row.value
        if row.lease_until is not None and now < row.lease_until:
            return _while_leased(row, now, reject)
        row.lease_until, row.error = now + timedelta(seconds=LEASE_SECONDS), None
        return row.lease_until


def _while_leased(row: ServiceToken, now: datetime, reject: str | None) -> str | None:
    """Someone is fetching, or the last fetch failed and its backoff runs: the old value while
    it is still valid, else wait (a fetch under way) or give up (a backoff)."""
    if _usable(row, now, reject):
        return row.value
    if row.error:
        left = math.ceil((row.lease_until - now).total_seconds()) if row.lease_until else 1
        raise TokenUnavailable(row.name, row.error, retry_after=max(1, left))
    return None


def _fetch(
    db: Database, name: str, fetch: Callable[[], Fetched], lease: datetime, reject: str | None
) -> str:
    try:
        got = fetch()
    except Exception as exc:
        _fail(db, name, lease, exc)
        row = _read(db, name)
        if row is not None and _usable(row, utcnow(), reject):
            # A refresh ahead of expiry failed: the old value still works for a while.
            log.warning("%s: refresh failed, keeping the current value: %r", name, exc)
            return row.value
        raise
    _store(db, name, lease, got)
    return got.value


def _store(db: Database, name: str, lease: datetime, got: Fetched) -> None:
    now = utcnow()
    with db.transaction() as s:
        # Only under our own lease: if it ran out and another process took over, whichever
        # value lands is valid (WeChat keeps the previous token working for five minutes).
        s.execute(
            update(ServiceToken)
            .where(ServiceToken.name == name, ServiceToken.lease_until == lease)
            .values(
                value=got.value,
                refresh_at=now + timedelta(seconds=got.expires_in * REFRESH_FRACTION),
                expires_at=now + timedelta(seconds=got.expires_in),
                lease_until=None,
                error=None,
            )
        )


def _fail(db: Database, name: str, lease: datetime, exc: Exception) -> None:
    reason = f"{type(exc).__name__}: {exc}"[:500]
    with db.transaction() as s:
        s.execute(
            update(ServiceToken)
            .where(ServiceToken.name == name, ServiceToken.lease_until == lease)
            .values(lease_until=utcnow() + timedelta(seconds=BACKOFF_SECONDS), error=reason)
        )


def forget(db: Database, name: str) -> None:
    """Drop a value (tests, and an operator who rotated a secret)."""
    with db.transaction() as s:
        row = s.get(ServiceToken, name)
        if row is not None:
            s.delete(row)
