"""Full-text search over published materials: whoosh on local disk, jieba for Chinese.

The public surface is SearchIndex (open, write, search), its result types and errors.
Nothing here touches Flask or the database: callers hand in plain material dicts.
"""

from search.index import Hit, IndexBusy, IndexCorrupt, SearchIndex, SearchResult

__all__ = ["Hit", "IndexBusy", "IndexCorrupt", "SearchIndex", "SearchResult"]
