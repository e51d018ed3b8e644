"""Stored renders (share cards and their seller-independent bases): get one, or render it once.

A flood of identical first requests must render once. Two guards do that:

- inside a process, a lock per cache key: one thread renders, the others wait and then read;
- across processes, the `cards` row itself. Its `cache_key` is unique, so whoever inserts the
  row first holds a *claim* (a row with size 0 and no storage key yet), renders, stores the
  bytes and fills the row in. Everyone else polls the row until it is filled in. A claim whose
  holder died (older than CLAIM_STALE_SECONDS) is taken over with a compare-and-set update.

Stored objects are named by their content hash too, so even two holders racing after a
takeover never overwrite each other's object: whoever fills the row in first wins, and the
other deletes its own object.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from materials.models import Card, utcnow
from materials.platform.deps import Deps

T = TypeVar("T")
CLAIM_STALE_SECONDS = 20  # a render takes well under a second; a claim this old is abandoned
WAIT_SECONDS = 30  # give up waiting for another process's render after this long
POLL_SECONDS = 0.02
BASES_IN_MEMORY = 16  # decoded bases (3.5-6 MB each) kept per process
UNUSABLE_IN_MEMORY = 256  # stored photos found unusable for a card, by storage key


class RenderTimeout(Exception):
    """Another process holds the claim on a render and has not finished it in time."""


@dataclass(frozen=True)
class Wanted:
    """One render to get or make. `render` returns the bytes; it runs at most once here."""

    cache_key: str
    material_id: int
    kind: str  # "base" or "card": what the render counts are kept by
    key_prefix: str  # e.g. cards/12/v3/square-ab12cd: the content hash and `ext` are appended
    ext: str
    mime: str
    render: Callable[[], bytes]


class KeyedLocks:
    """A lock per key, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, list[Any]] = {}  # key -> [lock, users]

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._locks[key]


class LRU:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class CardCache:
    """Per-process state for one app: locks, decoded bases, the stored photos that make no
    card (and the rule they break), and render counts (for tests and the benchmark)."""

    locks: KeyedLocks = field(default_factory=KeyedLocks)
    bases: LRU = field(default_factory=lambda: LRU(BASES_IN_MEMORY))
    unusable: LRU = field(default_factory=lambda: LRU(UNUSABLE_IN_MEMORY))
    renders: Counter = field(default_factory=Counter)


# Keyed by the app's Database: each app (and each test's app) gets its own caches and counts.
_caches: WeakKeyDictionary = WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(deps: Deps) -> CardCache:
    with _caches_lock:
        cache = _caches.get(deps.db)
        if cache is None:
            cache = _caches[deps.db] = CardCache()
        return cache


def get_or_render(deps: Deps, wanted: Wanted) -> tuple[bytes, bool]:
    """The stored bytes for `wanted`, rendering and storing them if nobody has yet.
    Returns (bytes, rendered_here)."""
    return _awaited(deps, wanted, lambda: _attempt(deps, wanted))


def get_or_render_key(deps: Deps, wanted: Wanted) -> tuple[str, bool]:
    """The storage key of `wanted`'s stored render, rendering and storing it if nobody has
    yet; nothing is read back (a stamped video is megabytes: it is served from storage, with
    ranges). Returns (key, rendered_here)."""
    return _awaited(deps, wanted, lambda: _attempt_key(deps, wanted))


def _awaited(deps: Deps, wanted: Wanted, attempt: Callable[[], T | None]) -> T:
    with cache_for(deps).locks.hold(wanted.cache_key):
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            got = attempt()
            if got is not None:
                return got
            if time.monotonic() > deadline:
                raise RenderTimeout(f"render {wanted.cache_key} still claimed elsewhere")
            time.sleep(POLL_SECONDS)


def stored_key(deps: Deps, cache_key: str) -> str | None:
    """The storage key of a finished render kept as a local file, without reading it; None
    when it is not made yet, lives in an object store, or its file is gone (get_or_render then
    makes it again). For handing the file itself to a proxy (X-Accel-Redirect)."""
    if deps.storage.backend != "local":
        return None  # skip the lookup: an object store's keys mean nothing to a local proxy
    row = _row(deps, cache_key)
    if row is None or row.size == 0:
        return None
    try:
        deps.storage.local_file(row.key)  # a stat, so a lost file is rendered, not a 404
    except FileNotFoundError:
        return None
    return row.key


def _attempt(deps: Deps, wanted: Wanted) -> tuple[bytes, bool] | None:
    """One look at the row: read it, claim it, take it over, or None to wait and look again."""
    row = _row(deps, wanted.cache_key)
    if row is None:
        return _produce(deps, wanted) if _claim(deps, wanted) else None
    if row.size > 0:
        data = _read(deps, row)
        return None if data is None else (data, False)
    if _is_stale(row) and _take_over(deps, row):
        return _produce(deps, wanted)
    return None


def _attempt_key(deps: Deps, wanted: Wanted) -> tuple[str, bool] | None:
    """_attempt, answering the stored object's key (checked to exist) instead of its bytes."""
    row = _row(deps, wanted.cache_key)
    if row is None:
        return _produce_key(deps, wanted) if _claim(deps, wanted) else None
    if row.size > 0:
        return (row.key, False) if _still_stored(deps, row) else None
    if _is_stale(row) and _take_over(deps, row):
        return _produce_key(deps, wanted)
    return None


def _produce_key(deps: Deps, wanted: Wanted) -> tuple[str, bool] | None:
    data, here = _produce(deps, wanted)
    if here:
        row = _row(deps, wanted.cache_key)
        return (row.key, True) if row is not None and row.size > 0 else None
    return None  # someone else's finished meanwhile: look at the row again


def _still_stored(deps: Deps, row: Card) -> bool:
    """Whether the row's object exists; a lost one drops the row, to be rendered again."""
    if deps.storage.exists(row.key):
        return True
    with deps.db.transaction() as s:
        s.execute(delete(Card).where(Card.id == row.id, Card.key == row.key))
    return False


def _row(deps: Deps, cache_key: str) -> Card | None:
    with deps.db.read() as s:
        return s.scalar(select(Card).where(Card.cache_key == cache_key))


def _read(deps: Deps, row: Card) -> bytes | None:
    """The stored bytes; None (and the row dropped, to render again) if the object is gone."""
    try:
        return deps.storage.get_bytes(row.key)
    except FileNotFoundError:
        with deps.db.transaction() as s:
            s.execute(delete(Card).where(Card.id == row.id, Card.key == row.key))
        return None


def _claim(deps: Deps, wanted: Wanted) -> bool:
    try:
        with deps.db.transaction() as s:
            s.add(
                Card(
                    cache_key=wanted.cache_key,
                    material_id=wanted.material_id,
                    backend=deps.storage.backend,
                    key="",
                    size=0,
                )
            )
    except IntegrityError:
        return False  # someone else claimed it first (or the material is gone)
    return True


def _is_stale(row: Card) -> bool:
    return row.created_at < utcnow() - timedelta(seconds=CLAIM_STALE_SECONDS)


def _take_over(deps: Deps, row: Card) -> bool:
    with deps.db.transaction() as s:
        taken = s.execute(
            update(Card)
            .where(Card.id == row.id, Card.size == 0, Card.created_at == row.created_at)
            .values(created_at=utcnow())
        )
        return taken.rowcount == 1


def _produce(deps: Deps, wanted: Wanted) -> tuple[bytes, bool]:
    try:
        data = wanted.render()
        cache_for(deps).renders[wanted.kind] += 1
        key = f"{wanted.key_prefix}-{hashlib.sha256(data).hexdigest()[:12]}.{wanted.ext}"
        deps.storage.put_bytes(key, data, wanted.mime)
    except BaseException:
        _release(deps, wanted.cache_key)
        raise
    if _fill_in(deps, wanted.cache_key, key, len(data)):
        return data, True
    # Our claim was taken over and finished by someone else meanwhile: theirs is the card.
    deps.storage.delete(key)
    row = _row(deps, wanted.cache_key)
    stored = _read(deps, row) if row is not None and row.size > 0 else None
    return (stored, False) if stored is not None else (data, True)


def _fill_in(deps: Deps, cache_key: str, key: str, size: int) -> bool:
    with deps.db.transaction() as s:
        done = s.execute(
            update(Card)
            .where(Card.cache_key == cache_key, Card.size == 0)
            .values(key=key, size=size, created_at=utcnow())
        )
        return done.rowcount == 1


def _release(deps: Deps, cache_key: str) -> None:
    """A failed render gives its claim back, so the next request tries again at once."""
    try:
        with deps.db.transaction() as s:
            s.execute(delete(Card).where(Card.cache_key == cache_key, Card.size == 0))
    except Exception:  # noqa: S110 - the claim goes stale and is taken over anyway
        pass
