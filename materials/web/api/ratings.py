"""The JSON API of the 口碑指数: a seller's own rating of a material's product, the product's
index, and ops' selection board (materials/catalogue/ratings.py decides)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify

from materials.catalogue import ratings
from materials.catalogue.ratings import WordOfMouth
from materials.errors import NotFound
from materials.formatting import iso
from materials.models import OPS, SELLER, Material, Rating
from materials.web.api import schemas
from materials.web.api.materials import thumbnail_url
from materials.web.api.spec import operation
from materials.web.deps import get_deps

bp = Blueprint("ratings_api", __name__, url_prefix="/api/v1")


def rating_json(material_id: int, r: Rating) -> dict[str, Any]:
    return {
        "material_id": material_id,
        **{d: getattr(r, d) for d in ratings.DIMENSIONS},
        "comment": r.comment,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
    }


def index_json(wom: WordOfMouth) -> dict[str, Any]:
    """The index and its breakdown, rounded to hundredths (what a page shows is tenths)."""
    return {
        "index": round(wom.index, 2),
        "ratings": wom.ratings,
        "breakdown": {d: round(v, 2) for d, v in wom.breakdown.items()},
        "potential": wom.potential,
    }


def _terms() -> dict[str, Any]:
    settings = get_deps().settings
    prior = ratings.Prior.of(settings)
    return {
        "threshold": ratings.THRESHOLD,
        "min_ratings": settings.POTENTIAL_MIN_RATINGS,
        "prior": {"mean": prior.mean, "weight": prior.weight},
    }


def _no_rating(material_id: int) -> NotFound:
    return NotFound(f"you have not rated material {material_id}'s product", rule="no_rating")


@bp.put("/materials/<int:material_id>/rating")
@operation(
    SELLER,
    op_id="rateMaterial",
    ok={201: (schemas.Rating, "your first rating"), 200: (schemas.Rating, "replaced yours")},
    errors=(404, 409),  # 409: a concurrent withdrawal kept removing the row (three tries)
    json=schemas.RatingBody,
)
def put_rating(material_id: int, body: schemas.RatingBody) -> Response:
    """Rate the product (产品性能, 价格接受度, 外观设计, 包装: 1-10); again replaces yours"""
    deps, now = get_deps(), datetime.now(UTC)
    created = ratings.rate(deps, g.user, material_id, body.scores(), now)
    return _own_response(material_id, now, 201 if created else 200)


def _own_response(material_id: int, now: datetime, status: int = 200) -> Response:
    mine = ratings.own_rating(get_deps(), g.user, material_id, now)
    if mine is None:
        raise _no_rating(material_id)
    resp = jsonify(rating_json(material_id, mine))
    resp.status_code = status
    return resp


@bp.get("/materials/<int:material_id>/rating")
@operation(SELLER, op_id="getRating", ok={200: schemas.Rating}, errors=(404,))
def get_rating(material_id: int) -> Response:
    """Your own rating of the material's product"""
    return _own_response(material_id, datetime.now(UTC))


@bp.delete("/materials/<int:material_id>/rating")
@operation(SELLER, op_id="deleteRating", ok={204: (None, "deleted")}, errors=(404,))
def delete_rating(material_id: int) -> Response:
    """Withdraw your rating of the material's product"""
    if not ratings.remove_rating(get_deps(), g.user, material_id, datetime.now(UTC)):
        raise _no_rating(material_id)
    return Response(status=204)


@bp.get("/materials/<int:material_id>/index")
@operation(OPS, SELLER, op_id="getWordOfMouth", ok={200: schemas.WordOfMouth}, errors=(404,))
def word_of_mouth(material_id: int) -> Response:
    """The 口碑指数 of the material's product: index, number of ratings, breakdown, 潜力"""
    seller = g.user if g.user.role == SELLER else None
    found = ratings.material_index(get_deps(), material_id, datetime.now(UTC), seller=seller)
    return jsonify({"material_id": material_id, **index_json(found.word_of_mouth), **_terms()})


def selection_item(row: ratings.BoardRow) -> dict[str, Any]:
    m: Material = row.material
    return {
        "rank": row.rank,
        "material_id": m.id,
        "title": m.title,
        "product_url": m.product_url,
        "materials": row.materials,
        "thumbnail": thumbnail_url(m),
        **index_json(row.word_of_mouth),
    }


@bp.get("/ops/selection")
@operation(OPS, op_id="opsSelection", ok={200: schemas.Selection}, query=schemas.SelectionQuery)
def selection(query: schemas.SelectionQuery) -> Response:
    """The selection board: rated products by 口碑指数, best first, with the 潜力 mark"""
    board = ratings.board(get_deps(), limit=query.limit, potential_only=query.potential)
    items = [selection_item(row) for row in board.rows]
    return jsonify({"items": items, "total": board.total, **_terms()})
