"""Whoosh segments as numpy arrays.

whoosh's own collectors score, filter, sort and facet one document at a time in Python; with
100,000 materials a broad word matches thousands of them and that loop alone blows the latency
budget. Instead we read each segment once into arrays (dates, prices, forward counts, facet
codes, field lengths) and decode a query word's posting lists into arrays, so matching,
publish-window filtering, BM25 scoring, facet counting and sorting are a few vectorised
operations per segment.

A segment's documents never change (whoosh only marks them deleted), so its arrays are cached
by segment id and survive reader refreshes; deletions are applied as a separate mask taken from
the current reader. Reading the arrays reaches into whoosh 2.7's W3 codec (posting blocks,
column files): each such read has a slow, public fallback that the tests compare it against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh import columns
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from search.schema import PINYIN_FIELD, TEXT_FIELDS

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float32)
SCORED_FIELDS = (*TEXT_FIELDS, PINYIN_FIELD)
MISSING = -1  # an unset int/date column reads back as 2**64 - 1, i.e. -1 as int64


class Vocabulary:
    """Maps facet values (brand, category, tag) to small ints shared by all segments, so
    facet counts from different segments add up with one bincount."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code

    def get(self, value: str) -> int | None:
        return self._codes.get(value)

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class SegmentValues:
    """Everything a query needs about one segment's documents, indexed by segment docnum."""

    size: int
    created: np.ndarray
    publish: np.ndarray
    take_down: np.ndarray
    price: np.ndarray
    forwards: np.ndarray
    rating: np.ndarray  # thousandths of the 0-10 quality score
    boost: np.ndarray  # the score multiplier, in thousandths
    has_video: np.ndarray
    brand: np.ndarray  # vocabulary code, -1 = none
    category: np.ndarray
    tag_doc: np.ndarray  # one entry per (document, tag) pair, sorted by document
    tag_code: np.ndarray
    tag_start: np.ndarray  # document d's pairs are [tag_start[d], tag_start[d + 1])
    lengths: dict[str, np.ndarray] = field(default_factory=dict)
    _docs_by_tag: dict[int, np.ndarray] = field(default_factory=dict)

    def tag_docs(self, code: int) -> np.ndarray:
        """The documents carrying tag ``code`` (cached: a tag filter is used again and again)."""
        docs = self._docs_by_tag.get(code)
        if docs is None:
            docs = self._docs_by_tag[code] = self.tag_doc[self.tag_code == code]
        return docs

    def tag_codes_of(self, docs: np.ndarray) -> np.ndarray:
        """The tag codes of ``docs``, one per (document, tag) pair: gathers only their pairs,
        so counting the facets of a small result costs little."""
        starts = self.tag_start[docs]
        counts = self.tag_start[docs + 1] - starts
        firsts = np.cumsum(counts) - counts  # where each document's run begins in the output
        index = np.repeat(starts - firsts, counts) + np.arange(int(counts.sum()))
        return self.tag_code[index]


def postings(reader, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
    """(docnums, weights) of one term in one segment, deleted documents included."""
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    if isinstance(matcher, FilterMatcher):
        # The deletion filter: we mask deletions ourselves. It has already moved its child
        # past the leading deleted documents, so rewind.
        matcher = matcher.child
        matcher.reset()
    if type(matcher) is W3LeafMatcher:
        return _w3_postings(matcher)
    return postings_slow(matcher)


def postings_slow(matcher) -> tuple[np.ndarray, np.ndarray]:
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return np.array(ids, np.int64), np.array(weights, np.float32)


def _w3_postings(m: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
    # A W3 block is a zlib'd pickle of (delta-encoded ids, weights, values); the first delta of
    # each block is relative to 0, so we rebase it on the previous block's last id and let one
    # cumsum decode the whole list.
    deltas, weights = [], []
    prev_max = 0
    while True:
        m._read_data()
        block_ids, block_weights = m._data[0], m._data[1]
        n = m._blocklength
        first = np.array(block_ids, np.int64)
        first[0] -= prev_max
        deltas.append(first)
        if block_weights is None:
            weights.append(np.ones(n, np.float32))
        elif isinstance(block_weights, float):
            weights.append(np.full(n, block_weights, np.float32))
        else:
            weights.append(np.array(block_weights, np.float32))
        prev_max = m._maxid
        if m._lastblock:
            break
        m._goto(m._nextoffset)
    return np.cumsum(np.concatenate(deltas)), np.concatenate(weights)


def _fixed_column(creader, size: int, dtype: str) -> np.ndarray | None:
    if not isinstance(creader, columns.FixedBytesColumn.Reader):
        return None
    count = min(creader._count, size)
    raw = creader._dbfile.get(creader._basepos, count * creader._fixedlen)
    out = np.empty(size, dtype)
    out[:count] = np.frombuffer(raw, dtype=dtype, count=count)
    out[count:] = np.frombuffer(creader._defaultbytes, dtype=dtype)[0]
    return out


def int_column(reader, fieldname: str) -> np.ndarray:
    """A NUMERIC/DATETIME column as int64 (unset values read as MISSING)."""
    size = reader.doc_count_all()
    creader = reader.column_reader(fieldname, translate=False)
    arr = _fixed_column(creader, size, ">u8")
    if arr is None:
        arr = np.fromiter(creader, dtype=np.uint64, count=size)
    return arr.astype(np.uint64).view(np.int64)


def field_lengths(reader, fieldname: str) -> np.ndarray:
    """Per-document token counts of a scored field (whoosh keeps them as one byte each)."""
    size = reader.doc_count_all()
    perdoc = getattr(reader, "_perdoc", None)
    creader = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN) if perdoc else None
    if creader is None:
        return np.array([reader.doc_field_length(d, fieldname) for d in range(size)], np.float32)
    raw = _fixed_column(creader, size, "u1")
    return _LENGTH_OF_BYTE[raw]


def _codes(reader, fieldname: str, vocab: Vocabulary) -> np.ndarray:
    out = np.full(reader.doc_count_all(), -1, np.int32)
    for text in reader.lexicon(fieldname):
        ids, _ = postings(reader, fieldname, text)
        out[ids] = vocab.code(text.decode("utf-8"))
    return out


def _tag_pairs(reader, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(doc, code) pairs sorted by doc, and each doc's first pair: the tags field inverted."""
    docs, codes = [np.empty(0, np.int64)], [np.empty(0, np.int32)]
    for text in reader.lexicon("tags"):
        ids, _ = postings(reader, "tags", text)
        docs.append(ids)
        codes.append(np.full(len(ids), vocab.code(text.decode("utf-8")), np.int32))
    doc, code = np.concatenate(docs), np.concatenate(codes)
    order = np.argsort(doc, kind="stable")
    per_doc = np.bincount(doc, minlength=reader.doc_count_all())
    start = np.concatenate(([0], np.cumsum(per_doc)))
    return doc[order], code[order], start


def load(reader, vocab: Vocabulary) -> SegmentValues:
    """Read one segment (a whoosh SegmentReader) into arrays."""
    size = reader.doc_count_all()
    has_video = np.zeros(size, bool)
    has_video[postings(reader, "has_video", True)[0]] = True
    tag_doc, tag_code, tag_start = _tag_pairs(reader, vocab)
    return SegmentValues(
        size=size,
        created=int_column(reader, "created_at"),
        publish=int_column(reader, "publish_at"),
        take_down=int_column(reader, "take_down_at"),
        price=int_column(reader, "price_cents"),
        forwards=int_column(reader, "forward_count"),
        rating=int_column(reader, "rating"),
        boost=int_column(reader, "boost"),
        has_video=has_video,
        brand=_codes(reader, "brand", vocab),
        category=_codes(reader, "category", vocab),
        tag_doc=tag_doc,
        tag_code=tag_code,
        tag_start=tag_start,
        lengths={f: field_lengths(reader, f) for f in SCORED_FIELDS},
    )


def deleted_mask(reader) -> np.ndarray:
    mask = np.zeros(reader.doc_count_all(), bool)
    if reader.has_deletions():
        mask[list(reader.deleted_docs_set)] = True
    return mask
