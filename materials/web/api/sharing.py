"""The JSON API for sharing: one-tap forward (sellers), conversions (storefronts), stats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify

from materials.formatting import iso
from materials.formatting import yuan as money
from materials.models import Material
from materials.sharing import forwarding, referrals, stats
from materials.sharing.copies import Used
from materials.sharing.stats import Metrics, Period
from materials.web.api import schemas
from materials.web.api.materials import media_url
from materials.web.api.spec import operation
from materials.web.deps import get_deps

bp = Blueprint("share_api", __name__, url_prefix="/api/v1")


# ---------------------------------------------------------------- forward


@bp.post("/materials/<int:material_id>/forward")
@operation(
    "seller",
    op_id="forwardMaterial",
    ok={201: (schemas.Share, "the forward is recorded, with the copy it was made with")},
    errors=(404,),
)
def forward(material_id: int) -> Response:
    """One-tap forward: records a forward; the body with the seller's link and price, the
    first comment, card URLs, video"""
    share = forwarding.forward(get_deps(), g.user, material_id, datetime.now(UTC))
    resp = share_response(share)
    resp.status_code = 201
    return resp


@bp.get("/materials/<int:material_id>/forward")
@operation("seller", op_id="previewForward", ok={200: schemas.Share}, errors=(404,))
def preview_forward(material_id: int) -> Response:
    """What a forward would hand out, recording nothing (a read: prefetches, crawlers and HEAD
    count nothing; POST forwards)"""
    return share_response(forwarding.preview(get_deps(), g.user, material_id, datetime.now(UTC)))


def share_response(share: forwarding.Share) -> Response:
    urls = get_deps().urls
    choice = share.choice
    body: dict[str, Any] = {
        "material_id": share.material.id,
        "title": share.material.title,
        "referral_code": share.code,
        "link": share.link,
        "body": share.text,
        "text": share.text,
        "comment": share.comment,
        "copy": copy_used(choice.used, choice.label),
        "price": money(share.price_cents),
        "cards": {
            **{name: urls.absolute(path) for name, path in share.cards.items()},
            "photos": [urls.absolute(path) for path in share.photo_cards],
        },
        "video": None,
        "poster": None,
        "forward_count": share.forward_count,
    }
    body.update(_video(share.material))
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"  # the seller's own: their code, copy and price
    return resp


def copy_used(used: Used, label: str) -> dict[str, Any]:
    return {"variant_id": used.variant_id, "own": used.own, "label": label}


def _video(material: Material) -> dict[str, str]:
    asset = material.video
    out: dict[str, str] = {}
    for name in ("video", "poster"):
        rendition = asset.rendition(name) if asset else None
        if rendition is not None:
            out[name] = media_url(rendition.key)
    return out


# ---------------------------------------------------------------- conversions


@bp.post("/conversions")
@operation(
    "storefront",
    op_id="createConversion",
    ok={
        201: (schemas.Conversion, "recorded"),
        200: (schemas.Conversion, "reported before: the first report"),
    },
    errors=(409,),
    json=schemas.OrderReport,
)
def conversions(body: schemas.OrderReport) -> Response:
    """Report an order; idempotent by order_id per storefront"""
    recorded = referrals.record_conversion(get_deps(), g.user.id, body.order())
    c = recorded.conversion
    resp = jsonify(
        {
            "id": c.id,
            "order_id": c.order_id,
            "referral_code": recorded.code,
            "material_id": c.material_id,
            "amount": money(c.amount_cents),
            "markup": money(c.markup_cents),
            "created_at": iso(c.created_at),
        }
    )
    resp.status_code = 200 if recorded.replayed else 201
    if recorded.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


# ---------------------------------------------------------------- stats


def metrics_json(m: Metrics) -> dict[str, Any]:
    return {
        "forwards": m.forwards,
        "clicks": {"raw": m.clicks_raw, "valid": m.clicks_valid},
        "orders": m.orders,
        "amount": money(m.amount_cents),
        "markup": money(m.markup_cents),
        "conversion_rate": stats.rate(m.orders, m.clicks_valid),
    }


def period_json(p: Period) -> dict[str, Any]:
    return {"from": p.first.isoformat(), "to": p.last.isoformat(), "utc_offset": _offset(p)}


def _offset(p: Period) -> str:
    minutes = int(p.offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _period(query: schemas.PeriodQuery) -> Period:
    return stats.period(get_deps(), query.from_, query.to, datetime.now(UTC))


@bp.get("/stats/seller")
@operation("seller", op_id="sellerStats", ok={200: schemas.SellerStats}, query=schemas.PeriodQuery)
def seller_stats(query: schemas.PeriodQuery) -> Response:
    """The seller's forwards, clicks (raw, valid), orders and amount, by material and by day"""
    result = stats.seller_stats(get_deps(), g.user.id, _period(query))
    return jsonify(
        {
            "seller": {"id": g.user.id, "name": g.user.name, "referral_code": g.user.referral_code},
            **period_json(result.period),
            "totals": metrics_json(result.totals),
            "by_material": [
                {"material_id": i, "title": title, **metrics_json(m)}
                for i, title, m in result.by_material
            ],
            "by_day": [{"date": d.isoformat(), **metrics_json(m)} for d, m in result.by_day],
        }
    )


@bp.get("/stats/ops")
@operation("ops", op_id="opsStats", ok={200: schemas.OpsStats}, query=schemas.OpsStatsQuery)
def ops_stats(query: schemas.OpsStatsQuery) -> Response:
    """The funnel (forwards, valid clicks, orders, rates), top materials and top sellers"""
    result = stats.ops_stats(get_deps(), _period(query), query.by, query.limit)
    funnel = result.funnel
    return jsonify(
        {
            **period_json(result.period),
            "by": result.by,
            "funnel": {
                **metrics_json(funnel),
                "click_rate": stats.rate(funnel.clicks_valid, funnel.forwards),
            },
            "top_materials": [
                {"material_id": i, "title": title, **metrics_json(m)}
                for i, title, m in result.top_materials
            ],
            "top_sellers": [
                {"seller_id": u.id, "name": u.name, "referral_code": u.referral_code}
                | metrics_json(m)
                for u, m in result.top_sellers
            ],
        }
    )
