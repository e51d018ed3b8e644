"""The indexer: tails the database change log into this node's search index.

The database is the source of truth; the index is a replica that may lag but never loses an
update. Three decisions make that so:

**The position rides in the index commit.** The follower's position (every change-log row with
``seq <= position`` is applied) is stored as a document of the index itself, written in the same
whoosh commit as the documents it covers. Index and position therefore cannot disagree: a crash
before the commit loses both (the rows are read again), a crash after it loses neither. That
document's publish window closed in 2000, so no query ever shows it.

**Rows are applied by re-reading the material.** A batch of rows is turned into the set of
materials they touch; their *current* state is loaded and upserted (live-able) or deleted (all
else) in one commit. Applying a row twice, or out of order, gives the same index.

**Sequence gaps wait, they are not skipped.** On PostgreSQL ``seq`` comes from a sequence:
a transaction that took seq 10 may commit after the one that took seq 11, and a rolled-back one
leaves 10 missing for good. The follower applies 11 at once (freshness), remembers 10 as a gap,
looks for it on every poll, and only moves its recorded position past 10 when 10 appears or has
been missing for ``gap_grace`` seconds (a transaction open that long is taken to have rolled
back). Until then the position stays below the gap, so a restart reads 10 again. SQLite
serialises writers, so there seqs commit in order and no gaps appear.

On start the index is opened (an unreadable one is recreated) and reconciled with the database:
materials whose indexed version differs from the database's are re-applied, strays deleted; an
index with no recorded position, or one ahead of the database's log, is rebuilt. The same
reconcile runs every ``reconcile_every`` seconds as a safety net.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from materials.catalogue.ratings import Prior
from materials.indexing.documents import iter_live_docs, live_ratings, live_versions, load_docs
from materials.models import ChangeLog, utcnow
from materials.platform.db import Database
from materials.platform.deps import Deps
from search import IndexBusy, SearchIndex

log = logging.getLogger(__name__)

POSITION_ID = "_position"  # not all digits, so never a material id
CLOSED_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
BATCH_ROWS = 500
GAP_GRACE_SECONDS = 30.0
RECONCILE_SECONDS = 600.0
MAX_GAP_LOOKUP = 1000  # gaps looked up per poll (oldest first)
MAX_NEW_GAPS = 10_000  # a sequence jump wider than this is not tracked seq by seq
MAX_BACKOFF_SECONDS = 5.0


def position_doc(seq: int) -> dict:
    return {"id": POSITION_ID, "version": seq, "take_down_at": CLOSED_LONG_AGO}


def read_state(index: SearchIndex) -> tuple[int | None, dict]:
    """(recorded position or None, {material id: indexed version})."""
    versions = index.versions()
    position = versions.pop(POSITION_ID, None)
    return position, versions


def open_index(path: Path) -> tuple[SearchIndex, tuple[int | None, dict] | None]:
    """The index and its state; a fresh empty index and None when it could not be read."""
    try:
        index = SearchIndex.open_or_create(path)
        return index, read_state(index)
    except Exception as exc:  # whatever is wrong with the files, the remedy is a rebuild
        # repr now: a log record keeping the exception would keep whoosh's open files alive.
        log.warning("search index at %s is unreadable (%s): recreating it", path, repr(exc))
        return SearchIndex.recreate(path), None


def safe_point(s: Session, grace: float) -> int:
    """A seq such that every row at or below it that will ever commit has committed: the last
    row older than ``grace`` (a transaction still open after that long is taken as lost, as
    with gaps). seqs are taken in time order, so any open transaction holds a higher one."""
    cutoff = utcnow() - timedelta(seconds=grace)
    # ORDER BY ... LIMIT 1 rather than max(): both databases walk the primary key backwards
    # and stop at the first old-enough row instead of scanning the whole log.
    stmt = select(ChangeLog.seq).where(ChangeLog.created_at <= cutoff)
    return s.scalar(stmt.order_by(ChangeLog.seq.desc()).limit(1)) or 0


def log_head(s: Session) -> int:
    return s.scalar(select(func.max(ChangeLog.seq))) or 0


class Follower:
    """Applies change-log rows to one index directory. One per node; not thread-safe."""

    def __init__(
        self,
        db: Database,
        path: str | Path,
        *,
        prior: Prior,
        poll: float = 0.2,
        batch: int = BATCH_ROWS,
        gap_grace: float = GAP_GRACE_SECONDS,
        reconcile_every: float = RECONCILE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.path = Path(path)
        self.prior = prior  # of the 口碑指数 the documents carry
        self.poll = poll
        self.batch = batch
        self.gap_grace = gap_grace
        self.reconcile_every = reconcile_every
        self.clock = clock
        self.index: SearchIndex | None = None
        self.position = 0  # recorded in the index: every seq <= position is applied
        self.cursor = 0  # highest seq read so far
        self.gaps: dict[int, float] = {}  # seq missing below cursor -> when first missed
        self._next_reconcile = 0.0

    @classmethod
    def for_deps(cls, deps: Deps, **options) -> Follower:
        options.setdefault("poll", deps.settings.INDEX_POLL_MS / 1000)
        options.setdefault("prior", Prior.of(deps.settings))
        return cls(deps.db, deps.settings.INDEX_DIR, **options)

    # -- start ------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the index and bring it in line with the database."""
        self.index, state = open_index(self.path)
        position, versions = state or (None, {})
        with self.db.read() as s:
            head = log_head(s)
        if position is None or position > head:
            # No position: new, recreated, or written by something else. Ahead of the log:
            # the database was replaced. Either way the index cannot be trusted row by row.
            self.rebuild()
            return
        self.rewind(position)
        fixed = self.reconcile(versions)
        log.info(
            "search index at %s: position %d of %d, %d fixed", self.path, position, head, fixed
        )

    def rewind(self, position: int) -> None:
        """Follow from ``position``: the next steps (re)apply every row after it."""
        self.position = self.cursor = position
        self.gaps = {}
        self._next_reconcile = self.clock() + self.reconcile_every

    def rebuild(self, procs: int = 1) -> int:
        """Replace the whole index with the database's live-able materials; returns how many.

        The whoosh writer lock is held while the database is read (SearchIndex.rebuild takes
        it before consuming the documents), so a running indexer's commits land entirely
        before or after this one and are never overwritten by older state."""
        if self.index is None:
            self.index, _ = open_index(self.path)
        with self.db.read() as s:
            position = safe_point(s, self.gap_grace)
        docs = chain(iter_live_docs(self.db, self.prior), [position_doc(position)])
        count = self.index.rebuild(docs, procs=procs) - 1
        self.rewind(position)
        log.info(
            "search index at %s rebuilt: %d materials, position %d", self.path, count, position
        )
        return count

    def reconcile(self, indexed: dict | None = None) -> int:
        """Re-apply every material whose indexed version or 口碑指数 differs from the database's,
        delete strays; returns how many were fixed. Row replay after the position covers the rest
        (a change of publish window keeps the version but always leaves a row)."""
        if indexed is None:
            _, indexed = read_state(self._index())
        rated = self._index().column("rating")
        with self.db.read() as s:
            wanted = live_versions(s)
            ratings = live_ratings(s, self.prior)
        stale = {i for i, v in wanted.items() if indexed.get(i) != v}
        stale |= {i for i, r in ratings.items() if rated.get(i) != r}
        stale |= indexed.keys() - wanted.keys()
        ordered = sorted(stale, key=str)
        for i in range(0, len(ordered), self.batch):
            self._sync(ordered[i : i + self.batch])
        self._next_reconcile = self.clock() + self.reconcile_every
        return len(stale)

    def _sync(self, ids: list) -> None:
        material_ids = [i for i in ids if isinstance(i, int)]
        with self.db.read() as s:
            docs, deletes = load_docs(s, material_ids, self.prior)
        deletes |= {i for i in ids if not isinstance(i, int)}
        self._index().apply(upserts=[*docs, position_doc(self.position)], deletes=deletes)

    def _index(self) -> SearchIndex:
        if self.index is None:
            raise RuntimeError("call start() first")
        return self.index

    # -- following ----------------------------------------------------------------------------

    def step(self) -> int:
        """Apply the next batch of rows (and any gap rows that appeared) in one commit.
        Returns how many rows were applied. State moves only after the commit succeeded."""
        now = self.clock()
        with self.db.read() as s:
            fresh = self._rows(s, ChangeLog.seq > self.cursor, limit=self.batch)
            filled = self._gap_rows(s)
            docs, deletes = load_docs(s, {m for _, m in chain(fresh, filled)}, self.prior)
        cursor = max([self.cursor, *(seq for seq, _ in fresh)])
        gaps = self._next_gaps(fresh, filled, cursor, now)
        position = min(gaps) - 1 if gaps else cursor
        if fresh or filled or position != self.position:
            self._index().apply(upserts=[*docs, position_doc(position)], deletes=deletes)
        self.cursor, self.gaps, self.position = cursor, gaps, position
        return len(fresh) + len(filled)

    def _rows(self, s: Session, where, limit: int | None = None) -> list[tuple[int, int]]:
        stmt = select(ChangeLog.seq, ChangeLog.material_id).where(where).order_by(ChangeLog.seq)
        return [tuple(r) for r in s.execute(stmt.limit(limit)).all()]

    def _gap_rows(self, s: Session) -> list[tuple[int, int]]:
        if not self.gaps:
            return []
        return self._rows(s, ChangeLog.seq.in_(sorted(self.gaps)[:MAX_GAP_LOOKUP]))

    def _next_gaps(self, fresh, filled, cursor: int, now: float) -> dict[int, float]:
        found = {seq for seq, _ in filled}
        gaps = {seq: since for seq, since in self.gaps.items() if seq not in found}
        for seq, since in list(gaps.items()):
            if now - since >= self.gap_grace:
                log.info("change-log seq %d missing for %.0f s: rolled back", seq, now - since)
                del gaps[seq]
        gaps.update(dict.fromkeys(self._missing(fresh, cursor), now))
        return gaps

    def _missing(self, fresh, cursor: int) -> set[int]:
        """seqs skipped between the old cursor and the new one: not (yet) committed."""
        if cursor - self.cursor > MAX_NEW_GAPS:
            # A sequence reset or jump, not concurrency: tracking each number would cost more
            # than the rows could ever be worth; the periodic reconcile is the safety net.
            log.warning("change-log seq jumped from %d to %d", self.cursor, cursor)
            return set()
        return set(range(self.cursor + 1, cursor)) - {seq for seq, _ in fresh}

    def catch_up(self, timeout: float = 30.0) -> None:
        """Step until every visible row is applied (tests and tools). Pending gaps only hold
        back the recorded position, not what the index shows."""
        deadline = time.monotonic() + timeout
        while self.step():
            if time.monotonic() > deadline:
                raise TimeoutError(f"indexer still behind after {timeout} s")

    def run(self, stop: threading.Event) -> None:
        """Start, then follow the log until ``stop`` is set. Transient failures (database
        unreachable, the index locked by a manual rebuild) are retried with a backoff, the
        start included: an indexer started while its database is down waits for it."""
        backoff = self.poll
        while not stop.is_set():
            try:
                self.start()
                break
            except (IndexBusy, DBAPIError) as exc:
                log.warning("indexer cannot start: %s; retrying in %.1f s", str(exc), backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        backoff = self.poll
        while not stop.is_set():
            try:
                applied = self.step()
                if self.clock() >= self._next_reconcile:
                    self._periodic_reconcile()
            except (IndexBusy, DBAPIError) as exc:
                log.warning("indexer: %s; retrying in %.1f s", str(exc), backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = self.poll
            if applied < self.batch:
                stop.wait(self.poll)

    def _periodic_reconcile(self) -> None:
        try:
            _, indexed = read_state(self._index())
        except Exception as exc:  # the files went bad under us: same remedy as at start
            log.warning("search index unreadable during reconcile (%s): rebuilding", repr(exc))
            self.index = SearchIndex.recreate(self.path)
            self.rebuild()
            return
        fixed = self.reconcile(indexed)
        if fixed:
            # Usually edits that raced the check; a steady count points at lost rows.
            log.info("periodic reconcile re-applied %d materials", fixed)
