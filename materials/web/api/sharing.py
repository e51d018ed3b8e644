"""The JSON API for sharing: one-tap forward (sellers), conversions (storefronts), stats."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from materials.errors import Invalid
from materials.formatting import iso
from materials.formatting import yuan as money
from materials.models import Material
from materials.sharing import forwarding, referrals, stats
from materials.sharing.stats import Metrics, Period
from materials.web.api.materials import media_url
from materials.web.auth import require_role
from materials.web.deps import get_deps

bp = Blueprint("share_api", __name__, url_prefix="/api/v1")
MAX_TOP = 100


# ---------------------------------------------------------------- forward


@bp.get("/materials/<int:material_id>/forward")
@require_role("seller")
def forward(material_id: int) -> Response:
    deps = get_deps()
    share = forwarding.forward(deps, g.user, material_id, datetime.now(UTC))
    urls = deps.urls
    body: dict[str, Any] = {
        "material_id": share.material.id,
        "title": share.material.title,
        "referral_code": share.code,
        "link": share.link,
        "text": share.text,
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
    resp.headers["Cache-Control"] = "no-store"  # every call is a forward event
    return resp


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
@require_role("storefront")
def conversions() -> Response:
    if request.mimetype != "application/json":
        raise Invalid("send the order as application/json", rule="content_type")
    order = referrals.parse_order(request.get_json(silent=True))
    recorded = referrals.record_conversion(get_deps(), g.user.id, order)
    c = recorded.conversion
    resp = jsonify(
        {
            "id": c.id,
            "order_id": c.order_id,
            "referral_code": recorded.code,
            "material_id": c.material_id,
            "amount": money(c.amount_cents),
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
        "conversion_rate": stats.rate(m.orders, m.clicks_valid),
    }


def period_json(p: Period) -> dict[str, Any]:
    return {"from": p.first.isoformat(), "to": p.last.isoformat(), "utc_offset": _offset(p)}


def _offset(p: Period) -> str:
    minutes = int(p.offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _period() -> Period:
    args = request.args
    return stats.parse_period(get_deps(), args.get("from"), args.get("to"), datetime.now(UTC))


@bp.get("/stats/seller")
@require_role("seller")
def seller_stats() -> Response:
    result = stats.seller_stats(get_deps(), g.user.id, _period())
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


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = request.args.get(name, default)
    if value not in choices:
        raise Invalid(f"{name} must be one of {', '.join(choices)}", field=name, rule="choice")
    return value


def _limit() -> int:
    raw = request.args.get("limit", "10")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 3 or not 1 <= int(raw) <= MAX_TOP:
        raise Invalid(
            f"limit must be a whole number from 1 to {MAX_TOP}", field="limit", rule="range"
        )
    return int(raw)


@bp.get("/stats/ops")
@require_role("ops")
def ops_stats() -> Response:
    by = _choice("by", "orders", tuple(stats.RANKINGS))
    result = stats.ops_stats(get_deps(), _period(), by, _limit())
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
