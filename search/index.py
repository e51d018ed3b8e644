"""SearchIndex: the whoosh index of published materials in one directory.

Writers (the indexer) call ``apply``/``upsert``/``delete``/``rebuild``; readers (web workers)
call ``search``. Many processes may open the same directory: whoosh's write lock serialises
writers, readers see each commit on their next search.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import struct
import threading
import time
import traceback
import warnings
import zlib
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.reading import EmptyReader
from whoosh.util.times import datetime_to_long

from search import engine, segments
from search.analysis import ANALYZER_VERSION, analyze_query, normalize_value
from search.engine import Filters, Leaf, Snapshot
from search.highlight import highlight
from search.schema import SCHEMA_VERSION, Codec, as_utc_naive, build_schema, to_fields

META_FILE = "meta.json"
_INDEX_NAME = "MAIN"  # whoosh's default index name: files _MAIN_<gen>.toc, MAIN_<id>.seg
_WRITE_LOCK = "WRITELOCK"
MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # deepest hit a page may reach
COPY_SNIPPET_CHARS = 120
FACET_LIMIT = 50
# What reading a damaged segment raises from deep inside whoosh.
_DECODE_ERRORS = (EOFError, zlib.error, struct.error, pickle.UnpicklingError, IndexError)


class IndexCorrupt(Exception):
    """The index directory cannot be read (damaged, or written by another schema/analyzer
    version). Rebuild it: ``SearchIndex.recreate(path)`` then ``rebuild(...)``."""


class IndexBusy(TimeoutError):
    """Another process held the write lock longer than the writer timeout."""


@dataclass(frozen=True)
class Hit:
    id: int
    score: float
    title: Markup  # highlighted, escaped HTML
    copy: Markup  # a highlighted window of the copy


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    # {"tags": {value: count}, "brand": {...}, "category": {...}, "has_video": {True: n, False: m}}
    facets: dict[str, dict] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20


def _retry(fn, attempts: int = 10, delay: float = 0.05):
    """Call ``fn``, retrying FileNotFoundError: a reader that lists the directory while another
    process commits can look for a file the commit just replaced (FACTS.md)."""
    for attempt in range(attempts):
        try:
            return fn()
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay)


def _doc_id(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class SearchIndex:
    """Thread-safe: one instance per process is meant to be shared by all request threads."""

    def __init__(self, path: Path, ix, *, writer_timeout: float) -> None:
        self.path = path
        self._ix = ix
        self._writer_timeout = writer_timeout
        # One lock around snapshot refresh and query execution. Queries are pure-Python/numpy
        # CPU work under the GIL, so the lock costs no parallelism, and whoosh's segment files
        # are read with seek()+read() on shared handles, which threads must not interleave.
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._values: dict[str, segments.SegmentValues] = {}
        self._vocab = segments.Vocabulary()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open_or_create(cls, path, *, writer_timeout: float = 60.0) -> SearchIndex:
        """Open the index in ``path``, creating an empty one if there is none.

        Raises IndexCorrupt if the directory holds an index that cannot be read or was written
        by another schema or analyzer version.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if not any(path.glob(f"_{_INDEX_NAME}_*.toc")):
            return cls._create(path, writer_timeout)
        _check_meta(path)
        try:
            with _whoosh_leaks_silenced():
                ix = _retry(lambda: whoosh_index.open_dir(str(path)))
                _retry(lambda: ix.reader().close())
        except Exception as exc:  # anything at all: the caller's remedy is the same
            raise _corrupt(path, exc) from None
        return cls(path, ix, writer_timeout=writer_timeout)

    @classmethod
    def recreate(cls, path, *, writer_timeout: float = 60.0) -> SearchIndex:
        """Delete whatever is in ``path`` (a corrupt or outdated index) and create an empty one.

        Holds whoosh's write lock meanwhile (and keeps its file: a writer in another process
        may be waiting on it), so it never pulls files from under a commit.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        lock = FileStorage(str(path)).lock(f"{_INDEX_NAME}_{_WRITE_LOCK}")
        deadline = time.monotonic() + writer_timeout
        while not lock.acquire():
            if time.monotonic() > deadline:
                raise IndexBusy(f"search index at {path} is locked by another writer")
            time.sleep(0.1)
        try:
            for child in path.iterdir():
                if child.is_file() and child.name != f"{_INDEX_NAME}_{_WRITE_LOCK}":
                    child.unlink()
            return cls._create(path, writer_timeout)
        finally:
            lock.release()

    @classmethod
    def _create(cls, path: Path, writer_timeout: float) -> SearchIndex:
        leftovers = [p.name for p in path.iterdir() if p.name != META_FILE]
        if any(name.endswith((".seg", ".pst", ".trm")) for name in leftovers):
            raise IndexCorrupt(f"search index at {path} has segment files but no table of contents")
        _write_meta(path, {})
        ix = whoosh_index.create_in(str(path), build_schema())
        return cls(path, ix, writer_timeout=writer_timeout)

    def close(self) -> None:
        with self._lock:
            if self._snapshot is not None:
                self._snapshot_reader_close(self._snapshot)
                self._snapshot = None

    # -- meta ------------------------------------------------------------------------------

    def meta(self) -> dict:
        """The small JSON document stored beside the index (versions plus caller keys)."""
        return json.loads((self.path / META_FILE).read_text())

    def set_meta(self, **values) -> None:
        """Merge ``values`` into the meta document (written atomically)."""
        meta = self.meta()
        meta.update(values)
        _write_meta(self.path, meta)

    # -- writing ---------------------------------------------------------------------------

    def upsert(self, docs: Iterable[dict]) -> None:
        """Add or replace materials, in one commit."""
        self.apply(upserts=docs)

    def delete(self, ids: Iterable) -> int:
        """Remove materials by id, in one commit. Returns how many were in the index."""
        return self.apply(deletes=ids)

    def apply(self, upserts: Iterable[dict] = (), deletes: Iterable = ()) -> int:
        """Delete ``deletes`` then upsert ``upserts`` in ONE commit; returns the deleted count.

        Within ``upserts`` the last document for an id wins.
        """
        prepared = {str(doc["id"]): to_fields(doc) for doc in upserts}
        delete_ids = {str(i) for i in deletes}
        if not prepared and not delete_ids:
            return 0
        writer = self._writer()
        try:
            deleted = sum(writer.delete_by_term("id", i) for i in sorted(delete_ids))
            for fields in prepared.values():
                writer.update_document(**fields)
            if prepared or deleted:
                writer.commit()
            else:
                writer.cancel()
        except BaseException:
            _abandon(writer)
            raise
        return deleted

    def rebuild(self, docs: Iterable[dict], *, procs: int = 1, limitmb: int = 512) -> int:
        """Replace the whole index with ``docs`` in one commit; readers see the old index
        until it lands. ``procs`` > 1 analyses in that many forked processes (use it from a
        CLI process, not a threaded web worker). Returns the number of documents written."""
        options = {"limitmb": limitmb}
        if procs > 1:
            # multisegment: each process commits its own segment instead of the parent
            # re-merging every posting into one (which was most of a naive build's time).
            options.update(procs=procs, multisegment=True, batchsize=256)
        writer = self._writer(**options)
        seen: set[str] = set()
        try:
            for doc in docs:
                fields = to_fields(doc)
                if fields["id"] not in seen:
                    seen.add(fields["id"])
                    writer.add_document(**fields)
            writer.commit(mergetype=writing.CLEAR)
        except BaseException:
            _abandon(writer)
            raise
        return len(seen)

    def clear(self) -> None:
        """Remove every document (one commit)."""
        self.rebuild(())

    def optimize(self) -> None:
        """Merge all segments into one (slow; for a quiet moment after a rebuild)."""
        writer = self._writer()
        try:
            writer.commit(optimize=True)
        except BaseException:
            _abandon(writer)
            raise

    def _writer(self, **options):
        try:
            return self._ix.writer(timeout=self._writer_timeout, codec=Codec(), **options)
        except whoosh_index.LockError as exc:
            raise IndexBusy(f"search index at {self.path} is locked by another writer") from exc

    # -- reading ---------------------------------------------------------------------------

    def search(
        self,
        q: str = "",
        *,
        tags: Iterable[str] = (),
        brand: str | None = None,
        category: str | None = None,
        price_min: int | None = None,
        price_max: int | None = None,
        has_video: bool | None = None,
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 20,
        now: datetime,
    ) -> SearchResult:
        """Materials matching ``q`` (any string; empty browses) and the filters, visible at
        ``now`` (naive datetimes are taken as UTC), with facet counts over all of them."""
        if sort not in engine.SORTS:
            raise ValueError(f"sort must be one of {engine.SORTS}, not {sort!r}")
        page = max(1, int(page))
        per_page = min(MAX_PER_PAGE, max(1, int(per_page)))
        filters = Filters(
            tags=tuple(dict.fromkeys(v for v in map(normalize_value, tags) if v)),
            brand=normalize_value(brand) if brand is not None else None,
            category=normalize_value(category) if category is not None else None,
            price_min=price_min,
            price_max=price_max,
            has_video=has_video,
        )
        query = analyze_query(q)
        k = min(page * per_page, MAX_RESULT_WINDOW)
        now_long = datetime_to_long(as_utc_naive(now))
        with self._lock:
            snap = self._current()
            try:
                outcome = engine.execute(
                    snap, query, filters, now=now_long, sort=sort, k=k, facet_limit=FACET_LIMIT
                )
                ranked = outcome.ranked[(page - 1) * per_page :]
                terms = {w.text for w in query.words}
                hits = [self._hit(snap, r, terms) for r in ranked]
            except _DECODE_ERRORS as exc:
                raise _corrupt(self.path, exc) from None
        return SearchResult(outcome.total, hits, outcome.facets, page, per_page)

    def _hit(self, snap: Snapshot, ranked: engine.Ranked, terms: set[str]) -> Hit:
        stored = snap.leaves[ranked.leaf].reader.stored_fields(ranked.docnum)
        return Hit(
            id=_doc_id(stored["id"]),
            score=ranked.score,
            title=highlight(stored.get("title", ""), terms),
            copy=highlight(stored.get("copy", ""), terms, width=COPY_SNIPPET_CHARS),
        )

    def doc_count(self) -> int:
        """Documents in the index (including those outside their publish window)."""
        with self._lock:
            return self._current().doc_count

    def versions(self) -> dict:
        """{id: version} of every document, to reconcile the index against the database."""
        return self.column("version")

    def column(self, fieldname: str) -> dict:
        """{id: value} of an int column (version, rating, forward_count…) of every document."""
        out = {}
        with self._lock:
            for leaf in self._current().leaves:
                values = segments.int_column(leaf.reader, fieldname)
                ids = leaf.reader.column_reader("id")
                for docnum in range(leaf.values.size):
                    if not leaf.deleted[docnum]:
                        out[_doc_id(ids[docnum])] = int(values[docnum])
        return out

    def refresh(self) -> None:
        """Pick up other processes' commits now (searches do this themselves)."""
        with self._lock:
            self._current()

    def _current(self) -> Snapshot:
        # whoosh's Searcher.refresh() is not usable here: in whoosh-reloaded 2.7.5 it reuses
        # segment readers with their old deletion sets and keeps merged-away segments, so an
        # updated document shows up twice. We open a fresh reader per generation and keep the
        # expensive part, the per-segment arrays, in our own cache keyed by segment id.
        try:
            generation = _retry(self._toc_identity)
            snap = self._snapshot
            if snap is not None and snap.generation == generation:
                return snap
            with _whoosh_leaks_silenced():
                new = _retry(lambda: self._open_snapshot(generation))
        except _DECODE_ERRORS + (OSError, whoosh_index.IndexError) as exc:
            raise _corrupt(self.path, exc) from None
        if snap is not None:
            self._snapshot_reader_close(snap)
        self._snapshot = new
        return new

    def _toc_identity(self) -> tuple[int, int, int]:
        """The latest commit: its generation, plus the TOC file's inode and mtime, because
        ``recreate`` in another process restarts generations from 0 and a bare number could
        then name a different index than the one we have open."""
        # Not ix.latest_generation(): that regex-matches every file name on each call.
        prefix, suffix = f"_{_INDEX_NAME}_", ".toc"
        generations = [
            int(name[len(prefix) : -len(suffix)])
            for name in os.listdir(self.path)
            if name.startswith(prefix) and name.endswith(suffix)
        ]
        if not generations:
            raise FileNotFoundError(f"no table of contents in {self.path}")
        generation = max(generations)
        stat = os.stat(self.path / TOC._filename(_INDEX_NAME, generation))
        return generation, stat.st_ino, stat.st_mtime_ns

    def _open_snapshot(self, generation: tuple) -> Snapshot:
        # Labelled with the generation seen *before* opening: if a commit lands in between,
        # the next search reopens once more instead of keeping a stale label.
        reader = self._ix.reader()
        try:
            leaves, live = [], {}
            for segreader, _offset in _leaf_readers(reader):
                segid = segreader.segment().segment_id()
                values = self._values.get(segid)
                if values is None:
                    values = segments.load(segreader, self._vocab)
                live[segid] = values
                leaves.append(Leaf(segreader, values, segments.deleted_mask(segreader)))
        except BaseException:
            reader.close()
            raise
        self._values = live
        return Snapshot(generation, reader, leaves, self._vocab)

    @staticmethod
    def _snapshot_reader_close(snap: Snapshot) -> None:
        try:
            snap.reader.close()
        except Exception:  # an already-closed or half-opened reader: nothing left to free
            pass


def _abandon(writer) -> None:
    """Cancel a writer whose work or commit failed, and make sure its lock is released: a
    commit that fails halfway never reaches the code that releases it, and every later write
    would then wait for a lock nobody is going to free."""
    try:
        writer.cancel()
    except Exception:  # already half-closed by the failure; the lock is what matters
        lock = getattr(writer, "writelock", None)
        if lock is not None and getattr(lock, "fd", None) is not None:
            lock.release()


@contextmanager
def _whoosh_leaks_silenced():
    """whoosh leaves the files of a segment it failed to open unclosed (and its reader()
    retries ten times, leaking ten). Free them while opening, with their ResourceWarning
    silenced, instead of letting them warn at some random later moment (and fail a
    ``-W error`` test run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        except BaseException:
            gc.collect()
            raise


def _corrupt(path: Path, exc: BaseException) -> IndexCorrupt:
    """The IndexCorrupt to raise for ``exc``; drops ``exc``'s traceback, which may hold the
    last of whoosh's half-opened files (see _whoosh_leaks_silenced)."""
    error = IndexCorrupt(f"search index at {path} is unreadable: {exc!r}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        traceback.clear_frames(exc.__traceback__)
        exc.__traceback__ = None
        gc.collect()
    return error


def _leaf_readers(reader) -> list:
    if isinstance(reader, EmptyReader):  # an index with no segments
        return []
    return list(reader.leaf_readers())


def _write_meta(path: Path, meta: dict) -> None:
    meta = {**meta, "schema_version": SCHEMA_VERSION, "analyzer_version": ANALYZER_VERSION}
    meta.setdefault("created_at", datetime.now(UTC).isoformat())
    tmp = path / f".{META_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    os.replace(tmp, path / META_FILE)


def _check_meta(path: Path) -> None:
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"search index at {path} has no readable {META_FILE}") from exc
    found = (meta.get("schema_version"), meta.get("analyzer_version"))
    if found != (SCHEMA_VERSION, ANALYZER_VERSION):
        raise IndexCorrupt(
            f"search index at {path} was built with schema/analyzer {found}, "
            f"this code needs {(SCHEMA_VERSION, ANALYZER_VERSION)}: rebuild it"
        )
