"""One-tap forward: what a seller's phone needs to share a material, and the forward event.

Search sorts by "most forwarded" from the index, which the indexer feeds from the change log.
A change-log row per forward would re-index a hot material on every tap (a whoosh commit costs
~100 ms), so the counter on the material is always exact, but a change-log row is written only
while the count is small and then on every REINDEX_EVERY-th forward: the index lags the true
count by less than REINDEX_EVERY, which never changes which of two materials is "more
forwarded" by much, at a tenth of the indexing work.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import update

from materials.catalogue.lifecycle import load_material, log_change
from materials.errors import NotFound
from materials.formatting import yuan_short
from materials.models import Forward, Material, User, utcnow
from materials.platform.deps import Deps
from materials.sharing import copies
from materials.sharing.cards import offered_layouts
from materials.sharing.copies import Choice

REINDEX_EVERY = 10


@dataclass(frozen=True)
class Share:
    material: Material
    code: str
    link: str
    text: str  # the body: what 复制正文 copies (title, the chosen copy, price, link)
    comment: str  # what 复制评论 copies: ops' first comment, "" when there is none
    choice: Choice
    price_cents: int  # the seller's price: the material's plus their markup
    cards: dict[str, str]  # layout -> path: square, poster, story (and moments, if offered)
    photo_cards: list[str]  # photo-1 … photo-n paths, the 9-grid
    forward_count: int


def preview(deps: Deps, seller: User, material_id: int, now: datetime) -> Share:
    """Everything to forward a live material as `seller`; records nothing (GET, HEAD, any
    prefetch or crawler)."""
    return share(deps, forwardable(deps, material_id, now), seller)


def forward(deps: Deps, seller: User, material_id: int, now: datetime) -> Share:
    """The same, and records the forward with the copy the seller chose (POST)."""
    material = forwardable(deps, material_id, now)
    shared = share(deps, material, seller)
    count = record_forward(deps, seller.id, material.id, shared.choice.used)
    return replace(shared, forward_count=count)


def forwardable(deps: Deps, material_id: int, now: datetime) -> Material:
    with deps.db.read() as s:
        material = load_material(s, material_id)
    if not material.is_live(now) or not material.photos:
        raise NotFound(f"material {material_id} not found", rule="not_found")
    return material


def share(deps: Deps, material: Material, seller: User) -> Share:
    """What forwarding `material` as `seller` hands out, with their copy and price; records
    nothing (the seller's page needs it before the tap, so that the copy happens inside the
    tap)."""
    code = seller.referral_code or ""
    link = deps.urls.referral(code, material.id)
    with deps.db.read() as s:
        chosen = copies.choice(s, material, seller.id)
    price = material.price_cents + chosen.markup_cents
    return Share(
        material=material,
        code=code,
        link=link,
        text=share_text(material.title, chosen.body, price, link),
        comment=chosen.comment,
        choice=chosen,
        price_cents=price,
        cards={name: deps.urls.card(material.id, code, name) for name in offered_layouts(deps)},
        photo_cards=[
            deps.urls.card(material.id, code, f"photo-{n}")
            for n in range(1, len(material.photos) + 1)
        ],
        forward_count=material.forward_count,
    )


def share_text(title: str, body: str, price_cents: int, link: str) -> str:
    """Title, the copy, the seller's price, then their link on its own line, ready to paste
    into WeChat. The link is always ours: a seller's own words may hold none (validation)."""
    parts = [title, body, f"💰 ¥{yuan_short(price_cents)}", f"👉 {link}"]
    return "\n".join(p for p in parts if p)


def record_forward(deps: Deps, seller_id: int, material_id: int, used: copies.Used) -> int:
    """A Forward row and the material's counter, in one transaction; returns the new count."""
    with deps.db.transaction() as s:
        s.add(
            Forward(
                seller_id=seller_id, material_id=material_id, created_at=utcnow(), **used.columns()
            )
        )
        # An atomic increment in SQL: concurrent forwards never lose a count.
        count = s.execute(
            update(Material)
            .where(Material.id == material_id)
            .values(forward_count=Material.forward_count + 1)
            .returning(Material.forward_count)
        ).one()
        if count.forward_count <= REINDEX_EVERY or count.forward_count % REINDEX_EVERY == 0:
            log_change(s, s.get(Material, material_id), "forward")
        return count.forward_count
