"""GET /api/v1/search: what sellers type, answered from this node's index replica.

The index may lag the database by a moment, and a material can stop being live with no edit
(its window closes). So every hit is checked against the database before it is shown: one
query for the page's ids. A replica that is behind may show a page short by a hit; it never
shows a material that is not live.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from materials.catalogue.browse import live_by_id
from materials.errors import Invalid
from materials.formatting import iso
from materials.formatting import yuan as money
from materials.models import ROLES, Material
from materials.validation import parse_price
from materials.web.api.materials import media_url
from materials.web.auth import require_role
from materials.web.deps import get_deps
from materials.web.errorhandlers import problem_response
from search import Hit, SearchResult
from search.replica import IndexUnavailable

bp = Blueprint("search_api", __name__, url_prefix="/api/v1")

SORTS = ("relevance", "newest", "forwarded")
MAX_PER_PAGE = 50
MAX_DEPTH = 10_000  # the deepest hit a page may reach (SearchIndex keeps no more)
MAX_TAG_FILTERS = 10
MAX_FILTER_CHARS = 100
TRUE, FALSE = ("1", "true", "yes"), ("0", "false", "no")
_DIGITS = re.compile(r"[0-9]+")
_YUAN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


def _positive(args: MultiDict, name: str, default: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    # Length first: int() of a 5,000-digit string raises (Python's digit limit).
    if not _DIGITS.fullmatch(raw) or len(raw) > len(str(hi)) or not 1 <= int(raw) <= hi:
        raise Invalid(f"{name} must be a whole number from 1 to {hi}", field=name, rule="range")
    return int(raw)


def _price(args: MultiDict, name: str) -> int | None:
    raw = args.get(name, "").strip()
    # Plain decimals only: parse_price takes any Decimal, and "1e999999" overflows (a 500)
    # while "1e99999" costs most of a second of CPU.
    if raw and not _YUAN.fullmatch(raw):
        raise Invalid(f"{name} must be an amount like 89.90", field=name, rule="money")
    return parse_price(name, raw, required=False)


def _word(args: MultiDict, name: str) -> str | None:
    value = args.get(name, "").strip()
    if len(value) > MAX_FILTER_CHARS:
        raise Invalid(f"{name} is longer than {MAX_FILTER_CHARS}", field=name, rule="max_length")
    return value or None


def _tags(args: MultiDict) -> list[str]:
    tags = [t.strip() for t in args.getlist("tag") if t.strip()]
    if len(tags) > MAX_TAG_FILTERS:
        raise Invalid(f"at most {MAX_TAG_FILTERS} tags", field="tag", rule="max_items")
    if any(len(t) > MAX_FILTER_CHARS for t in tags):
        raise Invalid(f"a tag is longer than {MAX_FILTER_CHARS}", field="tag", rule="max_length")
    return tags


def _flag(args: MultiDict, name: str) -> bool | None:
    raw = args.get(name, "").strip().lower()
    if not raw:
        return None
    if raw not in TRUE + FALSE:
        raise Invalid(f"{name} must be true or false", field=name, rule="boolean")
    return raw in TRUE


def _choice(args: MultiDict, name: str, choices: tuple[str, ...]) -> str:
    value = args.get(name) or choices[0]
    if value not in choices:
        raise Invalid(f"{name} must be one of {', '.join(choices)}", field=name, rule="choice")
    return value


def parse_search(args: MultiDict) -> dict[str, Any]:
    """The query string as SearchIndex.search keyword arguments; 422 names a bad field."""
    price_min, price_max = _price(args, "price_min"), _price(args, "price_max")
    if price_min is not None and price_max is not None and price_max < price_min:
        raise Invalid("price_max is below price_min", field="price_max", rule="range")
    per_page = _positive(args, "per_page", 20, MAX_PER_PAGE)
    page = _positive(args, "page", 1, MAX_DEPTH)
    if page * per_page > MAX_DEPTH:
        raise Invalid(f"results stop at the {MAX_DEPTH}th hit", field="page", rule="max_depth")
    return {
        "q": args.get("q", ""),
        "tags": _tags(args),
        "brand": _word(args, "brand"),
        "category": _word(args, "category"),
        "price_min": price_min,
        "price_max": price_max,
        "has_video": _flag(args, "has_video"),
        "sort": _choice(args, "sort", SORTS),
        "page": page,
        "per_page": per_page,
    }


def _thumbnail(m: Material) -> str | None:
    photo = m.photos[0] if m.photos else None
    thumb = photo.rendition("thumb") if photo else None
    return media_url(thumb.key) if thumb else None


def hit_json(hit: Hit, m: Material) -> dict[str, Any]:
    # Fields from the database (fresh); only the highlighted text comes from the index.
    return {
        "id": m.id,
        "title": m.title,
        "price": money(m.price_cents),
        "original_price": money(m.original_price_cents),
        "brand": m.brand,
        "category": m.category,
        "tags": m.tags,
        "has_video": m.video is not None,
        "forward_count": m.forward_count,
        "published_at": iso(m.published_at),
        "thumbnail": _thumbnail(m),
        "highlight": {"title": str(hit.title), "copy": str(hit.copy)},
    }


def _counted(values: dict[str, int]) -> list[dict[str, Any]]:
    # Ties broken by value: the index breaks them by its in-process vocabulary order, which
    # differs between replicas, and two nodes must answer alike.
    ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    return [{"value": v, "count": n} for v, n in ordered]


def facets_json(facets: dict[str, dict]) -> dict[str, Any]:
    # Lists, not objects: the JSON encoder sorts object keys and would lose the count order.
    out: dict[str, Any] = {
        key: _counted(facets.get(key, {})) for key in ("tags", "brand", "category")
    }
    video = facets.get("has_video", {})
    out["has_video"] = {"true": video.get(True, 0), "false": video.get(False, 0)}
    return out


def result_json(result: SearchResult, live: dict[int, Material]) -> dict[str, Any]:
    hits = [(h, live[h.id]) for h in result.hits if h.id in live]
    dropped = len(result.hits) - len(hits)
    return {
        "items": [hit_json(h, m) for h, m in hits],
        "total": max(len(hits), result.total - dropped),
        "page": result.page,
        "per_page": result.per_page,
        "facets": facets_json(result.facets),
    }


@bp.get("/search")
@require_role(*ROLES)  # every signed-in role may search
def search() -> Response:
    params = parse_search(request.args)
    now = datetime.now(UTC)
    try:
        result = get_deps().search.search(**params, now=now)
    except IndexUnavailable as exc:
        resp = problem_response(503, "Service unavailable", str(exc), rule="index_not_ready")
        resp.headers["Retry-After"] = "5"
        return resp
    live = live_by_id(get_deps(), [h.id for h in result.hits if isinstance(h.id, int)], now)
    return jsonify(result_json(result, live))
