"""The whoosh schema and the mapping from a material dict to whoosh fields."""

from __future__ import annotations

from datetime import UTC, datetime

from whoosh import fields
from whoosh.codec.whoosh3 import W3Codec

from search.analysis import ChineseTokenizer, PinyinTokenizer, normalize_value

# Bump when fields change; an index written with another version is rebuilt, not read.
SCHEMA_VERSION = 2

# Scoring weights per text field (see search.engine): a word in the title says more about a
# material than the same word somewhere in a 300-character copy.
TEXT_FIELDS = {"title": 3.0, "keywords": 2.0, "copy": 1.0}
PINYIN_FIELD = "pinyin"
PINYIN_BOOST = 1.5
MILLI = 1000  # rating and boost are stored as whole thousandths


class ColumnOnly:
    """Mixin: keep the sortable column, skip the inverted index.

    A DATETIME/NUMERIC field indexes 8 trie terms per value so that range queries work. We
    never run whoosh range queries (publish windows, price ranges and sorts read the columns as
    arrays, see search.segments), and those terms would roughly double the postings written for
    a typical material.
    """

    indexed = False


class DateColumn(ColumnOnly, fields.DATETIME):
    pass


class IntColumn(ColumnOnly, fields.NUMERIC):
    pass


class Codec(W3Codec):
    """whoosh's W3 codec without per-posting length statistics.

    For each posting written, W3 looks the document's field length up through a column reader
    (a stat, a seek and a read) to keep min/max lengths per block, which only whoosh's own
    block-skipping scorer reads. We score from whole posting lists (search.engine), and that
    lookup was ~40% of a commit. Per-document lengths are still stored (BM25 uses them).
    Segments keep a reference to their codec, so this class must stay importable.
    """

    length_stats = False

    def __init__(self, blocklimit: int = 1024, compression: int = 3, inlinelimit: int = 1):
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)


def build_schema() -> fields.Schema:
    chinese = ChineseTokenizer()
    return fields.Schema(
        id=fields.ID(unique=True, stored=True, sortable=True),
        title=fields.TEXT(analyzer=chinese, stored=True, phrase=False),
        copy=fields.TEXT(analyzer=chinese, stored=True, phrase=False),
        # brand, category and tags again, as words, so free text finds them
        keywords=fields.TEXT(analyzer=chinese, phrase=False),
        pinyin=fields.TEXT(analyzer=PinyinTokenizer(), phrase=False),
        # exact values for filters and facets (normalize_value)
        tags=fields.KEYWORD(commas=True, scorable=False),
        brand=fields.ID(),
        category=fields.ID(),
        has_video=fields.BOOLEAN(),
        # Unsigned: whoosh writes a signed field's column default unshifted (a bug), and the
        # column default of an unsigned field (2**64 - 1) reads back as -1 = "missing".
        price_cents=IntColumn(int, 64, signed=False, sortable=True),
        forward_count=IntColumn(int, 64, signed=False, sortable=True, default=0),
        version=IntColumn(int, 64, signed=False, sortable=True, default=0),
        # A quality score on a 0-10 scale (Sucai's 口碑指数), in thousandths: the "index" sort.
        rating=IntColumn(int, 64, signed=False, sortable=True, default=0),
        # What a text match's score is multiplied by, in thousandths (1000 = none); read
        # clamped to 1.0-MAX_BOOST (search.engine), whatever a document says.
        boost=IntColumn(int, 64, signed=False, sortable=True, default=MILLI),
        created_at=DateColumn(sortable=True),
        publish_at=DateColumn(sortable=True),
        take_down_at=DateColumn(sortable=True),
    )


def as_utc_naive(value: datetime | None) -> datetime | None:
    """whoosh stores naive datetimes; we store UTC. Naive input is taken to be UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _values(doc: dict, key: str) -> list[str]:
    raw = doc.get(key) or ()
    if isinstance(raw, str):
        raw = [raw]
    seen = dict.fromkeys(normalize_value(v) for v in raw)
    return [v for v in seen if v]


def milli(value, default: float = 0.0) -> int:
    """A rating or boost as the index keeps it: whole thousandths."""
    value = default if value is None else float(value)
    return max(0, round(value * MILLI))


def to_fields(doc: dict) -> dict:
    """whoosh ``add_document`` keyword arguments for one material dict."""
    title = str(doc.get("title") or "")
    brand = _values(doc, "brand")
    category = _values(doc, "category")
    tags = _values(doc, "tags")
    words = " ".join(brand + category + tags)
    out = {
        "id": str(doc["id"]),
        "title": title,
        "copy": str(doc.get("copy") or ""),
        "keywords": words,
        "pinyin": f"{title} {words}",
        "tags": ",".join(tags),
        "has_video": bool(doc.get("has_video")),
        "forward_count": max(0, int(doc.get("forward_count") or 0)),
        "version": max(0, int(doc.get("version") or 0)),
        "rating": milli(doc.get("rating_index")),
        "boost": milli(doc.get("boost"), 1.0),
        "created_at": as_utc_naive(doc.get("created_at")) or datetime(1970, 1, 1),
        "publish_at": as_utc_naive(doc.get("publish_at")),
        "take_down_at": as_utc_naive(doc.get("take_down_at")),
    }
    if brand:
        out["brand"] = brand[0]
    if category:
        out["category"] = category[0]
    if doc.get("price_cents") is not None:
        out["price_cents"] = max(0, int(doc["price_cents"]))
    return {k: v for k, v in out.items() if v not in (None, "")}
