"""The JSON API for the seller's own copy and price: ops' variants, first comment and markup
rule; each seller's pick and markup; storefronts reading a referral's price; which words sell."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from materials.catalogue import browse
from materials.errors import Invalid, NotFound
from materials.formatting import yuan as money
from materials.models import CopyVariant, Material
from materials.sharing import copies, stats
from materials.web.api import schemas
from materials.web.api.sharing import copy_used, metrics_json, period_json
from materials.web.api.spec import operation
from materials.web.deps import get_deps

bp = Blueprint("copy_api", __name__, url_prefix="/api/v1")


def variant_json(v: CopyVariant) -> dict[str, Any]:
    return {"id": v.id, "label": v.label, "body": v.body}


def rule_json(m: Material) -> dict[str, Any]:
    return {"allowed": m.markup_allowed, "cap": money(m.markup_cap_cents)}


def _settings_response(found: copies.CopySettings, status: int = 200) -> Response:
    m = found.material
    resp = jsonify(
        {
            "material_id": m.id,
            "copy": m.copy,
            "comment": m.comment,
            "variants": [variant_json(v) for v in found.variants],
            "markup": rule_json(m),
        }
    )
    resp.status_code = status
    return resp


# ---------------------------------------------------------------- ops


@bp.get("/materials/<int:material_id>/copy")
@operation("ops", op_id="getCopySettings", ok={200: schemas.CopySettings}, errors=(404,))
def copy_settings(material_id: int) -> Response:
    """A material's copy, its variants, first comment and markup rule"""
    return _settings_response(copies.copy_settings(get_deps(), material_id))


@bp.patch("/materials/<int:material_id>/copy")
@operation(
    "ops",
    op_id="patchCopySettings",
    ok={200: schemas.CopySettings},
    errors=(404,),
    json=schemas.CopySettingsEdit,
)
def edit_copy_settings(material_id: int, body: schemas.CopySettingsEdit) -> Response:
    """Set the first comment (评论区) and whether sellers may add a markup, up to what cap"""
    return _settings_response(copies.update_settings(get_deps(), material_id, body.changes()))


@bp.post("/materials/<int:material_id>/variants")
@operation(
    "ops",
    op_id="createVariant",
    ok={201: (schemas.CopySettings, "the variant is added")},
    errors=(404, 409),
    json=schemas.VariantCreate,
)
def create_variant(material_id: int, body: schemas.VariantCreate) -> Response:
    """Add a copy variant sellers may pick (at most 10 live per material)"""
    deps = get_deps()
    copies.add_variant(deps, material_id, body.label, body.body)
    return _settings_response(copies.copy_settings(deps, material_id), 201)


@bp.delete("/materials/<int:material_id>/variants/<int:variant_id>")
@operation("ops", op_id="retireVariant", ok={200: schemas.CopySettings}, errors=(404,))
def retire_variant(material_id: int, variant_id: int) -> Response:
    """Retire a variant: sellers who picked it forward the default copy; its stats stay"""
    deps = get_deps()
    copies.retire_variant(deps, material_id, variant_id)
    return _settings_response(copies.copy_settings(deps, material_id))


@bp.get("/stats/variants")
@operation(
    "ops",
    op_id="variantStats",
    ok={200: schemas.VariantStats},
    errors=(404,),
    query=schemas.VariantStatsQuery,
)
def variant_stats(query: schemas.VariantStatsQuery) -> Response:
    """Which words sell: a material's forwards, clicks and orders per copy variant"""
    deps = get_deps()
    period = stats.period(deps, query.from_, query.to, datetime.now(UTC))
    rows = stats.variant_stats(deps, query.material, period)
    return jsonify(
        {
            **period_json(period),
            "material_id": query.material,
            "variants": [
                {
                    **copy_used(copies.Used(r.variant_id, r.own), r.label),
                    "retired": r.retired,
                    **metrics_json(r.metrics),
                }
                for r in rows
            ],
        }
    )


# ---------------------------------------------------------------- sellers


def _live(material_id: int) -> Material:
    material = browse.live_material(get_deps(), material_id)
    if material is None:
        raise NotFound(f"material {material_id} not found", rule="not_found")
    return material


def my_copy_json(material: Material, seller_id: int) -> dict[str, Any]:
    """The seller's own choices for `material`: only ever the caller's."""
    with get_deps().db.read() as s:
        chosen = copies.choice(s, material, seller_id)
        variants = copies.live_variants(s, material.id)
    return {
        "material_id": material.id,
        "copy": copy_used(chosen.used, chosen.label),
        "body": chosen.body,
        "own_text": chosen.own_body,
        "comment": chosen.comment,
        "variants": [variant_json(v) for v in variants],
        "markup_rule": rule_json(material),
        "markup": money(chosen.markup_cents),
        "asked_markup": money(chosen.asked_markup_cents),
        "base_price": money(material.price_cents),
        "price": money(material.price_cents + chosen.markup_cents),
    }


@bp.get("/materials/<int:material_id>/my-copy")
@operation("seller", op_id="getMyCopy", ok={200: schemas.MyCopy}, errors=(404,))
def my_copy(material_id: int) -> Response:
    """The copy variants of a live material, the seller's pick or own words, and their price"""
    resp = jsonify(my_copy_json(_live(material_id), g.user.id))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.put("/materials/<int:material_id>/my-copy")
@operation(
    "seller", op_id="putMyCopy", ok={200: schemas.MyCopy}, errors=(404,), json=schemas.MyCopyEdit
)
def save_my_copy(material_id: int, body: schemas.MyCopyEdit) -> Response:
    """Pick a variant, or write your own words (no links: the service adds yours), and set a
    markup within the material's cap"""
    if not request.get_data(cache=True):
        # The whole pick is the body ({} is the default copy, no markup): none is no pick.
        raise Invalid("send the pick as a JSON object", rule="json")
    material = _live(material_id)
    copies.save_choice(get_deps(), g.user.id, material, body.variant_id, body.own_text, body.markup)
    resp = jsonify(my_copy_json(material, g.user.id))
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---------------------------------------------------------------- storefronts


@bp.get("/prices")
@operation(
    "storefront",
    op_id="referralPrice",
    ok={200: schemas.Price},
    errors=(404,),
    query=schemas.PriceQuery,
)
def price(query: schemas.PriceQuery) -> Response:
    """The price a referral's buyer pays: the material's, plus the seller's markup"""
    quote = copies.referral_price(get_deps(), query.code, query.material, datetime.now(UTC))
    return jsonify(
        {
            "referral_code": quote.code,
            "material_id": quote.material_id,
            "base_price": money(quote.base_cents),
            "markup": money(quote.markup_cents),
            "price": money(quote.base_cents + quote.markup_cents),
            "currency": "CNY",
        }
    )
