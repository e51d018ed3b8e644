"""The seller's own copy and price: ops' copy variants and first comment (评论区), each seller's
pick (a variant, or their own words) and markup (店主加价), and which copy an event was made
with.

Attribution. A forward records the copy the seller had chosen when they forwarded. A click on
/r/<code>/<material> and an order carry no marker of their own: the referral link is the same
for every variant, because it is printed inside every card's QR code, whose size budget (QR
version 3, README "Cards") has no room for one, and a card is drawn once per seller, not per
variant. So a click or an order is attributed to the copy of that seller's latest forward of
that material at or before it (their current choice if they never forwarded it): the wording
that was out there most recently. A seller who switches variants mid-campaign moves later
clicks on the older post to the newer wording; the rule is simple, stable under concurrency
(each event reads committed forwards only) and the same on both backends.

A markup is the seller's, but ops cap it per material; what applies is decided here alone
(`effective_markup`), at the moment it is read, so a cap lowered or switched off later takes
effect at once on every card, page, price answer and new order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from materials.accounts import seller_by_code
from materials.errors import Conflict, Invalid, NotFound
from materials.formatting import yuan
from materials.models import MAX_ID, CopyVariant, Forward, Material, SellerCopy, utcnow
from materials.platform.deps import Deps

MAX_VARIANTS = 10  # live variants per material: a seller's picker, not a library
DEFAULT_LABEL = "默认文案"
OWN_LABEL = "我的文案"


@dataclass(frozen=True)
class Used:
    """Which copy an event was made with: an ops variant, the seller's own, or the default."""

    variant_id: int | None = None
    own: bool = False

    def columns(self) -> dict[str, object]:
        return {"variant_id": self.variant_id, "own_copy": self.own}


@dataclass(frozen=True)
class Choice:
    """What a seller forwards of one material: the body (before the service adds the title,
    price and link), the copy it came from, the first comment, and their markup."""

    used: Used
    label: str
    body: str
    own_body: str | None  # the seller's own words, kept even while they use a variant
    comment: str
    markup_cents: int  # effective: within the material's current cap
    asked_markup_cents: int  # what the seller set


def effective_markup(material: Material, asked_cents: int) -> int:
    """The markup that applies: none unless ops allow it, and never above their cap."""
    if not material.markup_allowed:
        return 0
    return max(0, min(asked_cents, material.markup_cap_cents))


def seller_price(material: Material, asked_cents: int) -> int:
    return material.price_cents + effective_markup(material, asked_cents)


def price_for_code(deps: Deps, material: Material, code: str | None) -> int:
    """What a buyer who came by `code`'s link pays (the material's price without a seller)."""
    if not code:
        return material.price_cents
    with deps.db.read() as s:
        seller = seller_by_code(s, code.upper())
        asked = asked_markup(s, seller.id, material.id) if seller else 0
    return seller_price(material, asked)


@dataclass(frozen=True)
class Quote:
    code: str
    material_id: int
    base_cents: int
    markup_cents: int


def referral_price(deps: Deps, code: str, material_id: int, now: datetime) -> Quote:
    """A referral's price for a storefront; NotFound for an unknown seller or material, or
    one never public (as the referral link itself: its links may still be out there)."""
    with deps.db.read() as s:
        material = s.get(Material, material_id) if 0 < material_id <= MAX_ID else None
        seller = seller_by_code(s, code.upper())
        if material is None or seller is None:
            raise NotFound("no such referral", rule="not_found")
        if not (material.is_live(now) or material.was_live(now)):
            raise NotFound("no such referral", rule="not_found")
        markup = effective_markup(material, asked_markup(s, seller.id, material.id))
    return Quote(seller.referral_code or "", material.id, material.price_cents, markup)


# ---------------------------------------------------------------- reading


def live_variants(s: Session, material_id: int) -> list[CopyVariant]:
    stmt = (
        select(CopyVariant)
        .where(CopyVariant.material_id == material_id, CopyVariant.retired_at.is_(None))
        .order_by(CopyVariant.id)
    )
    return list(s.scalars(stmt))


def saved(s: Session, seller_id: int, material_id: int) -> SellerCopy | None:
    return s.scalar(
        select(SellerCopy).where(
            SellerCopy.seller_id == seller_id, SellerCopy.material_id == material_id
        )
    )


def asked_markup(s: Session, seller_id: int, material_id: int) -> int:
    row = saved(s, seller_id, material_id)
    return row.markup_cents if row else 0


def choice(s: Session, material: Material, seller_id: int | None) -> Choice:
    """The seller's current choice for `material` (the default for no seller). A retired
    variant falls back to the default copy."""
    row = saved(s, seller_id, material.id) if seller_id else None
    asked = row.markup_cents if row else 0
    common = {
        "comment": material.comment,
        "markup_cents": effective_markup(material, asked),
        "asked_markup_cents": asked,
        "own_body": row.own_body if row else None,
    }
    if row is not None and row.variant_id is None and row.own_body:
        return Choice(Used(own=True), OWN_LABEL, row.own_body, **common)
    variant = s.get(CopyVariant, row.variant_id) if row and row.variant_id else None
    if variant is not None and variant.retired_at is None:
        return Choice(Used(variant.id), variant.label, variant.body, **common)
    return Choice(Used(), DEFAULT_LABEL, material.copy, **common)


def used_at(s: Session, seller_id: int, material_id: int, when: datetime) -> Used:
    """The copy a click or an order at `when` is attributed to (see the module docstring)."""
    last = s.execute(
        select(Forward.variant_id, Forward.own_copy)
        .where(
            Forward.seller_id == seller_id,
            Forward.material_id == material_id,
            Forward.created_at <= when,
        )
        .order_by(Forward.created_at.desc(), Forward.id.desc())
        .limit(1)
    ).first()
    if last is not None:
        return Used(last.variant_id, bool(last.own_copy))
    material = s.get(Material, material_id)
    return choice(s, material, seller_id).used if material else Used()


def _material(s: Session, material_id: int, *, lock: bool = False) -> Material:
    stmt = select(Material).where(Material.id == material_id)
    material = s.scalar(stmt.with_for_update() if lock else stmt) if material_id <= MAX_ID else None
    if material is None:
        raise NotFound(f"material {material_id} not found", rule="not_found")
    return material


# ---------------------------------------------------------------- ops


@dataclass(frozen=True)
class CopySettings:
    material: Material
    variants: list[CopyVariant]


def copy_settings(deps: Deps, material_id: int) -> CopySettings:
    with deps.db.read() as s:
        material = _material(s, material_id)
        return CopySettings(material, live_variants(s, material_id))


def update_settings(deps: Deps, material_id: int, changes: dict[str, object]) -> CopySettings:
    """Ops' first comment and markup rule (`comment`, `markup_allowed`, `markup_cap_cents`).
    Neither is drawn on the base of a card, so the material keeps its version: each seller's
    card names its price in its own cache key (cards.py)."""
    with deps.db.transaction() as s:
        material = _material(s, material_id, lock=True)
        for name, value in changes.items():
            setattr(material, name, value)
        material.updated_at = utcnow()
    return copy_settings(deps, material_id)


def add_variant(deps: Deps, material_id: int, label: str, body: str) -> CopyVariant:
    with deps.db.transaction() as s:
        _material(s, material_id, lock=True)  # serialises the count below per material
        count = s.scalar(
            select(func.count())
            .select_from(CopyVariant)
            .where(CopyVariant.material_id == material_id, CopyVariant.retired_at.is_(None))
        )
        if count >= MAX_VARIANTS:
            raise Conflict(
                f"a material has at most {MAX_VARIANTS} copy variants: retire one first",
                rule="max_variants",
            )
        variant = CopyVariant(material_id=material_id, label=label, body=body)
        s.add(variant)
        s.flush()
        return variant


def retire_variant(deps: Deps, material_id: int, variant_id: int) -> None:
    """Sellers who picked it forward the default copy from now on; its stats stay."""
    if not 0 < variant_id <= MAX_ID:
        raise NotFound(f"material {material_id} has no copy variant {variant_id}", rule="not_found")
    with deps.db.transaction() as s:
        done = s.execute(
            update(CopyVariant)
            .where(
                CopyVariant.id == variant_id,
                CopyVariant.material_id == material_id,
                CopyVariant.retired_at.is_(None),
            )
            .values(retired_at=utcnow())
        )
        if done.rowcount != 1:
            raise NotFound(
                f"material {material_id} has no copy variant {variant_id}", rule="not_found"
            )


# ---------------------------------------------------------------- sellers


def save_choice(
    deps: Deps,
    seller_id: int,
    material: Material,
    variant_id: int | None,
    own_body: str | None,
    markup_cents: int,
) -> None:
    """Save a seller's pick: a variant of this material, or their own words (when `own_body`
    and no variant), or neither (the default copy); and their markup, within the cap."""
    with deps.db.read() as s:
        _check_variant(s, material.id, variant_id)
    _check_markup(material, markup_cents)
    values = {
        "variant_id": variant_id,
        "own_body": own_body,
        "markup_cents": markup_cents,
        "updated_at": utcnow(),
    }
    try:
        _upsert(deps, seller_id, material.id, values)
    except IntegrityError:  # a concurrent first save by the same seller: theirs is there now
        _upsert(deps, seller_id, material.id, values)


def _upsert(deps: Deps, seller_id: int, material_id: int, values: dict[str, object]) -> None:
    with deps.db.transaction() as s:
        row = saved(s, seller_id, material_id)
        if row is None:
            s.add(SellerCopy(seller_id=seller_id, material_id=material_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)


def _check_variant(s: Session, material_id: int, variant_id: int | None) -> None:
    if variant_id is None:
        return
    variant = s.get(CopyVariant, variant_id)
    if variant is None or variant.material_id != material_id:
        raise Invalid(
            f"variant {variant_id} is not a copy variant of material {material_id}",
            field="variant_id",
            rule="other_material",
        )
    if variant.retired_at is not None:
        raise Invalid(f"variant {variant_id} was retired", field="variant_id", rule="retired")


def _check_markup(material: Material, markup_cents: int) -> None:
    if markup_cents and not material.markup_allowed:
        raise Invalid(f"material {material.id} takes no markup", field="markup", rule="markup_off")
    if markup_cents > material.markup_cap_cents and material.markup_allowed:
        raise Invalid(
            f"the markup may be at most {yuan(material.markup_cap_cents)} yuan",
            field="markup",
            rule="above_cap",
        )
