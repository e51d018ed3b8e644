"""Query execution over a snapshot of segments: match, filter, score, facet, sort.

The query is built from analysed words, never parsed: within a word its alternatives (the same
word in title, keywords and copy, or a pinyin spelling) are OR'ed, across words AND'ed. Scores
are BM25 summed over the matching fields, weighted by field (search.schema.TEXT_FIELDS).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from search import segments
from search.analysis import AnalyzedQuery, QueryWord
from search.schema import MILLI, PINYIN_BOOST, PINYIN_FIELD, TEXT_FIELDS
from search.segments import MISSING, SegmentValues, Vocabulary

K1 = 1.2
B = 0.75
SORTS = ("relevance", "newest", "forwarded", "index")
# A document's boost multiplies its text score by at most this much: a quality signal may
# reorder close matches, never lift a weak match over a much better one.
MAX_BOOST = 1.2


@dataclass(frozen=True)
class Filters:
    tags: tuple[str, ...] = ()
    brand: str | None = None
    category: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    has_video: bool | None = None


@dataclass
class Leaf:
    """One segment of a snapshot."""

    reader: object  # whoosh SegmentReader
    values: SegmentValues
    deleted: np.ndarray


@dataclass
class Ranked:
    leaf: int
    docnum: int
    score: float


@dataclass
class Outcome:
    total: int
    ranked: list[Ranked]
    facets: dict[str, dict]


class Snapshot:
    """The segments of one index generation, plus the corpus statistics BM25 needs."""

    def __init__(self, generation: tuple, reader, leaves: list[Leaf], vocab: Vocabulary) -> None:
        self.generation = generation
        self.reader = reader  # the whoosh reader owning the leaves' segment readers
        self.leaves = leaves
        self.vocab = vocab
        self.doc_count = sum(int((~leaf.deleted).sum()) for leaf in leaves)
        size = sum(leaf.values.size for leaf in leaves) or 1
        self.avg_length = {
            f: max(1.0, sum(leaf.reader.field_length(f) for leaf in leaves) / size)
            for f in segments.SCORED_FIELDS
        }

    def idf(self, fieldname: str, text: str) -> float:
        df = sum(leaf.reader.doc_frequency(fieldname, text) for leaf in self.leaves)
        n = max(self.doc_count, df)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def alternatives(word: QueryWord) -> Iterator[tuple[str, str, float]]:
    for fieldname, boost in TEXT_FIELDS.items():
        yield fieldname, word.text, boost
    if word.pinyin:
        yield PINYIN_FIELD, word.pinyin, PINYIN_BOOST


def _term_scores(snap: Snapshot, leaf: Leaf, terms, idfs) -> tuple[np.ndarray, np.ndarray]:
    """(matched mask, BM25 score) of the OR of ``terms`` in one segment."""
    size = leaf.values.size
    matched = np.zeros(size, bool)
    score = np.zeros(size, np.float32)
    for fieldname, text, boost in terms:
        ids, tf = segments.postings(leaf.reader, fieldname, text)
        if not len(ids):
            continue
        norm = 1 - B + B * leaf.values.lengths[fieldname][ids] / snap.avg_length[fieldname]
        idf = idfs[fieldname, text]
        score[ids] += boost * idf * tf * (K1 + 1) / (tf + K1 * norm)
        matched[ids] = True
    return matched, score


def _text_match(snap: Snapshot, leaf: Leaf, query: AnalyzedQuery, idfs, mask):
    score = np.zeros(leaf.values.size, np.float32)
    words_mask = mask.copy()
    for word in query.words:
        if not words_mask.any():
            break
        matched, word_score = _term_scores(snap, leaf, list(alternatives(word)), idfs)
        words_mask &= matched
        score += word_score
    if query.joined_pinyin:
        term = (PINYIN_FIELD, query.joined_pinyin, PINYIN_BOOST)
        matched, joined_score = _term_scores(snap, leaf, [term], idfs)
        words_mask |= matched & mask
        score += joined_score
    return words_mask, score


def _filter_mask(leaf: Leaf, filters: Filters, codes: dict, now: int) -> np.ndarray:
    v = leaf.values
    mask = ~leaf.deleted
    # publish_at unset reads as -1, i.e. "long ago"; take_down_at unset means "never".
    mask &= v.publish <= now
    mask &= (v.take_down == MISSING) | (v.take_down > now)
    if filters.brand is not None:
        mask &= v.brand == codes["brand"]
    if filters.category is not None:
        mask &= v.category == codes["category"]
    for code in codes["tags"]:
        has_tag = np.zeros(v.size, bool)
        has_tag[v.tag_docs(code)] = True
        mask &= has_tag
    if filters.has_video is not None:
        mask &= v.has_video == filters.has_video
    if filters.price_min is not None:
        mask &= v.price >= filters.price_min
    if filters.price_max is not None:
        mask &= (v.price != MISSING) & (v.price <= filters.price_max)
    return mask


def _filter_codes(vocab: Vocabulary, filters: Filters) -> dict | None:
    """Vocabulary codes of the filter values; None when a value is in no document at all."""
    codes = {"tags": [vocab.get(t) for t in filters.tags]}
    for key in ("brand", "category"):
        value = getattr(filters, key)
        codes[key] = None if value is None else vocab.get(value)
        if value is not None and codes[key] is None:
            return None
    return None if None in codes["tags"] else codes


def boosted(v: SegmentValues, score: np.ndarray) -> np.ndarray:
    """The text score times each document's boost, clamped to 1.0-MAX_BOOST."""
    factor = np.clip(v.boost.astype(np.float64) / MILLI, 1.0, MAX_BOOST)
    return (score * factor).astype(np.float32)


def _sort_keys(v: SegmentValues, docs, score, sort: str, browsing: bool):
    if sort == "forwarded":
        return v.forwards[docs], v.created[docs]
    if sort == "index":
        return v.rating[docs], v.created[docs]
    if sort == "newest" or browsing:
        return v.created[docs], docs.astype(np.int64)
    return score[docs], v.created[docs]


def top_k(primary: np.ndarray, secondary: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest (primary, secondary) pairs, best first. Exact with ties."""
    n = len(primary)
    if n > k:
        kth = np.partition(primary, n - k)[n - k]
        candidates = np.flatnonzero(primary >= kth)
    else:
        candidates = np.arange(n)
    order = np.lexsort((-secondary[candidates], -primary[candidates]))[:k]
    return candidates[order]


class Facets:
    def __init__(self, vocab: Vocabulary) -> None:
        n = len(vocab)
        self.vocab = vocab
        self.counts = {"tags": np.zeros(n, np.int64), "brand": np.zeros(n, np.int64)}
        self.counts["category"] = np.zeros(n, np.int64)
        self.video = 0
        self.total = 0

    def add(self, v: SegmentValues, docs: np.ndarray) -> None:
        n = len(self.vocab)
        for key, codes in (("brand", v.brand[docs]), ("category", v.category[docs])):
            self.counts[key] += np.bincount(codes[codes >= 0], minlength=n)[:n]
        self.counts["tags"] += np.bincount(v.tag_codes_of(docs), minlength=n)[:n]
        self.video += int(np.count_nonzero(v.has_video[docs]))
        self.total += len(docs)

    def as_dict(self, limit: int) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for key, counts in self.counts.items():
            nonzero = np.flatnonzero(counts)
            best = nonzero[np.lexsort((nonzero, -counts[nonzero]))][:limit]
            out[key] = {self.vocab.values[c]: int(counts[c]) for c in best}
        out["has_video"] = {True: self.video, False: self.total - self.video}
        return out


def execute(
    snap, query: AnalyzedQuery, filters: Filters, *, now: int, sort: str, k: int, facet_limit: int
) -> Outcome:
    """Run a query over every segment of ``snap``; ``k`` is how many ranked hits to keep."""
    facets = Facets(snap.vocab)
    codes = _filter_codes(snap.vocab, filters)
    if codes is None:
        return Outcome(0, [], facets.as_dict(facet_limit))
    idfs = _IdfCache(snap)
    browsing = not query.words
    keys = []
    for i, leaf in enumerate(snap.leaves):
        mask = _filter_mask(leaf, filters, codes, now)
        score = None
        if not browsing and mask.any():
            mask, score = _text_match(snap, leaf, query, idfs, mask)
            score = boosted(leaf.values, score)
        docs = np.flatnonzero(mask)
        if not len(docs):
            continue
        facets.add(leaf.values, docs)
        score = score if score is not None else np.zeros(leaf.values.size, np.float32)
        primary, secondary = _sort_keys(leaf.values, docs, score, sort, browsing)
        best = top_k(primary, secondary, k)
        keys.append(
            (primary[best], secondary[best], np.full(len(best), i), docs[best], score[docs[best]])
        )
    return Outcome(facets.total, _merge(keys, k), facets.as_dict(facet_limit))


def _merge(keys, k: int) -> list[Ranked]:
    if not keys:
        return []
    columns = (np.concatenate(parts) for parts in zip(*keys, strict=True))
    primary, secondary, leaf, docnum, score = columns
    best = top_k(primary, secondary, k)
    return [Ranked(int(leaf[j]), int(docnum[j]), float(score[j])) for j in best]


class _IdfCache(dict):
    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def __missing__(self, key):
        value = self[key] = self.snap.idf(*key)
        return value
