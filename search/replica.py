"""The web process's read-only view of this node's search index.

One SearchIndex per process, shared by its request threads; SearchIndex.search picks up each
commit of the indexer by itself. The web process never writes: it does not even create an empty
index when there is none (the indexer does), it answers "not ready" instead.
"""

from __future__ import annotations

import threading
from pathlib import Path

from whoosh import index as whoosh_index

from search import IndexCorrupt, SearchIndex, SearchResult


class IndexUnavailable(Exception):
    """There is no readable index yet (the indexer has not built it, or is rebuilding it)."""


def _exists(path: Path) -> bool:
    """whoosh's exists_in raises (its own IndexError) on a damaged table of contents: to a web
    worker that is an index not there yet, which the indexer will rebuild."""
    try:
        return whoosh_index.exists_in(str(path))
    except (whoosh_index.IndexError, OSError, EOFError, ValueError):
        return False


class Replica:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._index: SearchIndex | None = None

    def ready(self) -> bool:
        """Whether an index is there to read (the indexer builds it)."""
        return _exists(self.path)

    def search(self, q: str = "", **options) -> SearchResult:
        # Two tries: an IndexCorrupt may just mean the indexer recreated the directory under
        # the open index; a fresh open then reads the new one.
        for _ in range(2):
            index = self._open()
            try:
                return index.search(q, **options)
            except IndexCorrupt:
                self._drop(index)
        raise IndexUnavailable(f"the search index at {self.path} cannot be read")

    def _open(self) -> SearchIndex:
        with self._lock:
            if self._index is None:
                # exists_in first: open_or_create would otherwise create (write) an index.
                if not _exists(self.path):
                    raise IndexUnavailable("the search index has not been built yet")
                try:
                    self._index = SearchIndex.open_or_create(self.path)
                except IndexCorrupt as exc:
                    raise IndexUnavailable(str(exc)) from exc
            return self._index

    def _drop(self, index: SearchIndex) -> None:
        with self._lock:
            if self._index is index:
                self._index = None
        index.close()
