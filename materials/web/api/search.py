"""GET /api/v1/search: what sellers type, answered from this node's index replica.

The index may lag the database by a moment, and a material can stop being live with no edit
(its window closes). So every hit is checked against the database before it is shown: one
query for the page's ids. A replica that is behind may show a page short by a hit; it never
shows a material that is not live.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from materials.catalogue import ratings
from materials.catalogue.browse import live_by_id
from materials.catalogue.ratings import WordOfMouth
from materials.formatting import iso
from materials.formatting import yuan as money
from materials.models import ROLES, Material
from materials.web.api import schemas
from materials.web.api.materials import thumbnail_url
from materials.web.api.spec import operation
from materials.web.deps import get_deps
from materials.web.errorhandlers import problem_response
from search import Hit, SearchResult
from search.replica import IndexUnavailable

bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


def hit_json(hit: Hit, m: Material, wom: WordOfMouth) -> dict[str, Any]:
    # Fields from the database (fresh); only the highlighted text comes from the index.
    return {
        "id": m.id,
        "title": m.title,
        "index": round(wom.index, 2),
        "ratings": wom.ratings,
        "price": money(m.price_cents),
        "original_price": money(m.original_price_cents),
        "brand": m.brand,
        "category": m.category,
        "tags": m.tags,
        "has_video": m.video is not None,
        "forward_count": m.forward_count,
        "author": m.author_name or None,
        "published_at": iso(m.published_at),
        "thumbnail": thumbnail_url(m),
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


def result_json(
    result: SearchResult, live: dict[int, Material], indexes: dict[int, WordOfMouth]
) -> dict[str, Any]:
    hits = [(h, live[h.id]) for h in result.hits if h.id in live]
    dropped = len(result.hits) - len(hits)
    return {
        "items": [hit_json(h, m, indexes[m.id]) for h, m in hits],
        "total": max(len(hits), result.total - dropped),
        "page": result.page,
        "per_page": result.per_page,
        "facets": facets_json(result.facets),
    }


@bp.get("/search")
@operation(
    *ROLES,  # every signed-in role may search
    op_id="searchMaterials",
    ok={200: schemas.SearchPage},
    errors=(503,),
    query=schemas.SearchQuery,
)
def search(query: schemas.SearchQuery) -> Response:
    """Search live materials: Chinese words, pinyin, English; filters, facets, sort

    relevance: BM25 over title, keywords and copy, times the product's 口碑指数 boost (1.0 at
    an index of 5.0 or below, rising to 1.2 at 10); index: the 口碑指数, best first."""
    now = datetime.now(UTC)
    try:
        result = get_deps().search.search(**query.params(), now=now)
    except IndexUnavailable as exc:
        resp = problem_response(503, "Service unavailable", str(exc), rule="index_not_ready")
        resp.headers["Retry-After"] = "5"
        return resp
    live = live_by_id(get_deps(), [h.id for h in result.hits if isinstance(h.id, int)], now)
    indexes = ratings.indexes_of(get_deps(), live.values())
    return jsonify(result_json(result, live, indexes))
