"""Referral redirects with click counting, and conversions reported by storefronts.

Attribution rules: every click is logged; it is *valid* unless it is a HEAD request, a
prefetch, a bot (materials/bots.py) or a repeat of a valid click by the same visitor for the
same seller and material within the click window. Each order counts once per storefront,
however often or concurrently it is reported.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.urls import iri_to_uri

from materials.accounts import seller_by_code
from materials.errors import Conflict, Invalid, NotFound
from materials.models import Click, Conversion, Material, User, parse_id, utcnow
from materials.platform.deps import Deps
from materials.sharing import bots, copies


@dataclass(frozen=True)
class Visit:
    """What the web layer tells us about one request to /r/…: never the raw IP beyond here."""

    ip: str
    user_agent: str
    method: str
    prefetch: bool


def with_ref(product_url: str, param: str, code: str) -> str:
    """The stored URL with `param=code` set: other query parameters kept as the storefront
    wrote them (not re-encoded), an existing `param` replaced, the fragment kept. Non-ASCII
    (a Chinese path, an IDN host) is percent- or IDNA-encoded: a header must be ASCII."""
    parts = urlsplit(product_url)
    kept = [p for p in parts.query.split("&") if p and unquote_plus(p.split("=")[0]) != param]
    kept.append(f"{quote(param, safe='')}={quote(code, safe='')}")
    return iri_to_uri(urlunsplit(parts._replace(query="&".join(kept))))


def follow(deps: Deps, code: str, material_ref: str, visit: Visit, now: datetime) -> str:
    """Where /r/<code>/<material> leads (the stored product URL with the seller's code), after
    logging the click. NotFound for an unknown code or material, or one never public."""
    material_id = parse_id(material_ref)
    with deps.db.read() as s:
        material = s.get(Material, material_id) if material_id else None
        seller = seller_by_code(s, code.upper())
        if material is None or seller is None:
            raise NotFound("no such referral link", rule="not_found")
    if material.is_live(now):
        record_click(deps, seller.id, material.id, visit, now)
    elif not material.was_live(now):
        # A material the public may no longer see, but whose link was shared while it was
        # live, still leads the buyer to the product (uncounted); one never public is 404.
        raise NotFound("no such referral link", rule="not_found")
    # Only stored values reach the Location header: the product URL and the seller's own code.
    return with_ref(material.product_url, deps.settings.REF_PARAM, seller.referral_code)


def visitor_hash(secret: str, visit: Visit) -> str:
    """Who clicked, as far as deduplication needs: a keyed hash, never the IP itself."""
    message = f"click\n{visit.ip}\n{visit.user_agent}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def invalid_reason(visit: Visit) -> str | None:
    """Why this click cannot count, judged from the request alone (None: it may count)."""
    if visit.method == "HEAD":
        return "head"
    if visit.prefetch:
        return "prefetch"
    if bots.is_bot(visit.user_agent):
        return "bot"
    return None


def record_click(
    deps: Deps, seller_id: int, material_id: int, visit: Visit, now: datetime
) -> Click:
    visitor = visitor_hash(deps.settings.SECRET_KEY, visit)
    reason = invalid_reason(visit)
    window = timedelta(seconds=deps.settings.CLICK_WINDOW_SECONDS)
    with deps.db.transaction() as s:
        # Two taps at once by one visitor must not both be "first": serialize each seller's
        # clicks on the seller's row (SQLite's BEGIN IMMEDIATE already serializes writers).
        s.execute(select(User.id).where(User.id == seller_id).with_for_update(key_share=True))
        if reason is None and _valid_since(s, seller_id, material_id, visitor, now - window):
            reason = "duplicate"
        click = Click(
            seller_id=seller_id,
            material_id=material_id,
            visitor=visitor,
            valid=reason is None,
            reason=reason,
            created_at=now,
            **copies.used_at(s, seller_id, material_id, now).columns(),
        )
        s.add(click)
    return click


def _valid_since(s: Session, seller_id: int, material_id: int, visitor: str, since: datetime):
    return s.scalar(
        select(Click.id)
        .where(
            Click.seller_id == seller_id,
            Click.material_id == material_id,
            Click.visitor == visitor,
            Click.valid.is_(True),
            Click.created_at >= since,
        )
        .limit(1)
    )


# ---------------------------------------------------------------- conversions


@dataclass(frozen=True)
class Order:
    """An order as a storefront reports it (checked by the API: web/api/schemas.py)."""

    order_id: str
    code: str
    material_id: int | None
    amount_cents: int


@dataclass
class Recorded:
    conversion: Conversion
    code: str
    replayed: bool


def record_conversion(deps: Deps, storefront_id: int, order: Order) -> Recorded:
    """Insert once; a retry (or a concurrent duplicate) gets the first one back. The unique
    (storefront, order_id) constraint is what decides, not the pre-check."""
    existing = _existing(deps, storefront_id, order)
    if existing is not None:
        return existing
    seller_id = _attributable(deps, order)
    try:
        with deps.db.transaction() as s:
            conversion = Conversion(
                storefront_id=storefront_id,
                order_id=order.order_id,
                seller_id=seller_id,
                material_id=order.material_id,
                amount_cents=order.amount_cents,
                **_markup_and_copy(s, seller_id, order),
            )
            s.add(conversion)
        return Recorded(conversion, order.code, replayed=False)
    except IntegrityError:
        existing = _existing(deps, storefront_id, order)
        if existing is None:
            raise
        return existing


def _markup_and_copy(s: Session, seller_id: int, order: Order) -> dict[str, object]:
    """The seller's markup on the material now (their income from this order, at most what
    was paid: an order is one unit at the seller's price) and the copy it is attributed to.
    An order without a material has neither."""
    if order.material_id is None:
        return {}
    material = s.get(Material, order.material_id)
    markup = copies.effective_markup(material, copies.asked_markup(s, seller_id, material.id))
    used = copies.used_at(s, seller_id, material.id, utcnow())
    return {"markup_cents": min(markup, order.amount_cents), **used.columns()}


def _attributable(deps: Deps, order: Order) -> int:
    with deps.db.read() as s:
        seller = seller_by_code(s, order.code)
        if seller is None:
            raise Invalid(
                "no seller has this referral code", field="referral_code", rule="unknown_code"
            )
        if order.material_id is not None and s.get(Material, order.material_id) is None:
            raise Invalid("no such material", field="material_id", rule="unknown_material")
        return seller.id


def _existing(deps: Deps, storefront_id: int, order: Order) -> Recorded | None:
    with deps.db.read() as s:
        found = s.execute(
            select(Conversion, User.referral_code)
            .join(User, User.id == Conversion.seller_id)
            .where(Conversion.storefront_id == storefront_id, Conversion.order_id == order.order_id)
        ).first()
    if found is None:
        return None
    conversion, code = found
    if (code, conversion.material_id, conversion.amount_cents) != (
        order.code,
        order.material_id,
        order.amount_cents,
    ):
        raise Conflict(
            f"order {order.order_id!r} was reported already with other details",
            field="order_id",
            rule="order_conflict",
        )
    return Recorded(conversion, code, replayed=True)
