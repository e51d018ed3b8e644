"""Text analysis shared by indexing, querying and highlighting.

Chinese runs are segmented by jieba (search-engine mode when indexing, so 防晒霜 is indexed as
防晒霜 *and* 防晒, and 连衣裙 as 连衣裙, 连衣, 衣裙); Latin runs are NFKC-normalised, lower-cased
and Porter-stemmed ("Dresses" -> "dress"); a pinyin analyzer turns Chinese words into full
pinyin and initials so a seller can type ``fangshai`` or ``fss``.

We wrap jieba in our own small whoosh Tokenizer instead of using ``jieba.analyse``'s
ChineseAnalyzer: importing ``jieba.analyse`` costs ~0.43 s and ~100 MB per process (FACTS.md)
for TF-IDF/TextRank machinery we never use. The jieba dictionary is loaded lazily, once per
process, on the first text that needs it.

The analyzer objects are pickled into the whoosh TOC, so they keep no state: renaming these
classes makes existing indexes unreadable (they then raise IndexCorrupt and get rebuilt).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from whoosh.analysis import Token, Tokenizer
from whoosh.analysis.filters import STOP_WORDS as _ENGLISH_STOP_WORDS
from whoosh.lang.porter import stem as _porter_stem

# Bump when tokenisation changes: an index built by another version must be rebuilt, because
# query words would no longer line up with the indexed words.
ANALYZER_VERSION = 1

MAX_QUERY_CHARS = 256
MAX_QUERY_WORDS = 12
MAX_TOKEN_CHARS = 64

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run is either Chinese characters or other "word" characters (Latin, digits, kana...);
# punctuation, emoji, control characters and query syntax all fall between runs.
_RUNS = re.compile(rf"([{_HAN}]+)|([^\W_{_HAN}]+)")
_LATIN_PARTS = re.compile(r"[^\W\d_]+|\d+")
HAN_RE = re.compile(rf"[{_HAN}]+")
LATIN_RUN_RE = re.compile(rf"[^\W_{_HAN}]+")

# Particles and pronouns that would otherwise sit in nearly every posting list (and make an
# AND query fail for a document that phrased things without them).
CHINESE_STOP_WORDS = frozenset(
    "的 了 和 与 及 或 是 在 也 就 都 而 着 呢 吗 吧 啊 哦 呀 嘛 之 其 把 被 让 给 从 向 对 于 "
    "这 那 个 我 你 他 她 它 们 我们 你们 他们 她们 这个 那个 一个 还 又 很".split()
)
STOP_WORDS = CHINESE_STOP_WORDS | _ENGLISH_STOP_WORDS

_jieba_lock = threading.Lock()
_jieba = None


def jieba_tokenizer():
    """The process-wide jieba tokenizer, loading its dictionary on first use (~0.5 s)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.dt.initialize()
                _jieba = jieba.dt
    return _jieba


def warm_up() -> None:
    """Load the jieba dictionary and pypinyin tables now rather than on the first request."""
    jieba_tokenizer()
    _pinyin_syllables("预热")


def normalize_value(value: object) -> str:
    """Canonical form of a tag, brand or category: the form filters and facets use.

    NFKC (full-width to ASCII), lower-case, single spaces, and no commas because the tags field
    is comma-separated.
    """
    text = unicodedata.normalize("NFKC", str(value)).lower()
    text = text.replace(",", " ")
    return " ".join(text.split())


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _porter_stem(word) if word.isascii() else word


def latin_terms(raw: str, *, parts: bool) -> list[str]:
    """Terms for one Latin/digit run: the whole run, plus its letter/digit parts when indexing.

    "SPF50" indexes as spf50, spf and 50, so "spf 50" and "spf50" both find it.
    """
    word = unicodedata.normalize("NFKC", raw).lower()
    pieces = _LATIN_PARTS.findall(word)
    terms = [_stem(word) if word.isalpha() else word]
    if parts and len(pieces) > 1:
        terms.extend(_stem(p) if p.isalpha() else p for p in pieces)
    return [t for t in terms if len(t) <= MAX_TOKEN_CHARS and t not in STOP_WORDS]


def _jieba_words(han: str, search_mode: bool) -> tuple[tuple[str, int, int], ...]:
    mode = "search" if search_mode else "default"
    words = jieba_tokenizer().tokenize(han, mode=mode, HMM=False)
    return tuple(w for w in words if w[0] not in STOP_WORDS)


# Short runs are mostly tags, brands and stock phrases (限时秒杀, 手慢无, 包邮) that recur in
# thousands of materials; caching them saves a good part of jieba's time during a rebuild.
_CACHED_RUN_CHARS = 4
_jieba_words_cached = functools.lru_cache(maxsize=32768)(_jieba_words)


def _segment(han: str, search_mode: bool) -> tuple[tuple[str, int, int], ...]:
    """jieba's (word, start, end) for a run of Chinese characters, stop words removed."""
    if len(han) <= _CACHED_RUN_CHARS:
        return _jieba_words_cached(han, search_mode)
    return _jieba_words(han, search_mode)


def iter_terms(text: str, *, search_mode: bool = True) -> Iterator[tuple[str, int, int]]:
    """(term, startchar, endchar) for every indexable word of ``text``.

    ``search_mode`` adds jieba's sub-words (防晒 inside 防晒霜) and Latin letter/digit parts;
    queries use the coarse mode so that each query word must match as a whole.
    HMM is off on both sides: its "new word" guesses depend on the surrounding text, so the same
    unknown name could be cut differently in a document and in a query.
    """
    for match in _RUNS.finditer(text):
        han, latin = match.groups()
        base = match.start()
        if latin:
            for term in latin_terms(latin, parts=search_mode):
                yield term, base, match.end()
            continue
        for word, start, end in _segment(han, search_mode):
            yield word, base + start, base + end


class ChineseTokenizer(Tokenizer):
    """whoosh analyzer for title/copy/keywords: search-mode jieba plus stemmed Latin words."""

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        search_mode = mode != "query"
        for pos, (term, start, end) in enumerate(iter_terms(value, search_mode=search_mode)):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


@functools.lru_cache(maxsize=65536)
def _pinyin_syllables(word: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(word))


def pinyin_terms(text: str) -> list[str]:
    """Full pinyin and initials of every Chinese word in ``text``, plus initials of short runs.

    防晒霜 -> fangshaishuang, fss, fangshai, fs; 优衣库 -> youyiku, yyk. Single characters are
    skipped: "gao" or "g" would match half the catalogue, and they are a quarter of the
    postings written for a material.
    """
    terms: dict[str, None] = {}
    for match in _RUNS.finditer(text):
        han = match.group(1)
        if not han or len(han) < 2:
            continue
        words = {w for w, _, _ in _segment(han, True) if len(w) > 1}
        for word in words:
            syllables = _pinyin_syllables(word)
            terms["".join(syllables)] = None
            terms["".join(s[:1] for s in syllables)] = None
        if len(han) <= 6 and han not in words:  # brand names jieba does not know: 优衣库
            syllables = _pinyin_syllables(han)
            terms["".join(syllables)] = None
            terms["".join(s[:1] for s in syllables)] = None
    return [t for t in terms if t.isascii() and t.isalnum()]


class PinyinTokenizer(Tokenizer):
    """whoosh analyzer for the pinyin field: Chinese text in, pinyin terms out."""

    def __call__(self, value, positions=False, chars=False, mode="", **kwargs):
        token = Token(positions, chars, mode=mode, **kwargs)
        for pos, term in enumerate(pinyin_terms(value)):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = pos
            if chars:
                token.startchar = token.endchar = 0
            yield token


@dataclass(frozen=True)
class QueryWord:
    """One word a seller typed: ``text`` is matched in the text fields, ``pinyin`` (for Latin
    input only) in the pinyin field."""

    text: str
    pinyin: str | None = None


@dataclass(frozen=True)
class AnalyzedQuery:
    words: tuple[QueryWord, ...]
    # "fang shai shuang" typed with spaces is also tried as one pinyin word.
    joined_pinyin: str | None = None


def clean_query(text: object) -> str:
    """The part of an arbitrary user string we analyse: a bounded, printable prefix."""
    text = str(text or "")[: MAX_QUERY_CHARS * 4]
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:MAX_QUERY_CHARS]


def analyze_query(text: object) -> AnalyzedQuery:
    """Split what a seller typed into words. No syntax: every string is a valid query."""
    text = clean_query(text)
    words: dict[QueryWord, None] = {}
    for match in _RUNS.finditer(text):
        han, latin = match.groups()
        if latin:
            raw = unicodedata.normalize("NFKC", latin).lower()
            for term in latin_terms(latin, parts=False):
                pinyin = raw if raw.isascii() and raw.isalnum() else None
                words[QueryWord(term, pinyin)] = None
        else:
            for term, _, _ in iter_terms(han, search_mode=False):
                words[QueryWord(term)] = None
    found = tuple(words)[:MAX_QUERY_WORDS]
    joined = None
    if len(found) > 1 and all(w.pinyin for w in found):
        joined = "".join(w.pinyin for w in found)[:MAX_TOKEN_CHARS]
    return AnalyzedQuery(found, joined)
