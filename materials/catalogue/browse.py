"""Reading the catalogue: the ops listing, the live feed and the live materials a page or a
search hit shows, favourites. Writes live in lifecycle.py; "live" itself in models.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from materials.catalogue.lifecycle import load_material
from materials.errors import NotFound
from materials.models import Asset, Favorite, Material, MaterialTag
from materials.platform.deps import Deps

FEED_SORTS = ("newest", "forwarded")
PER_PAGE = 12
MAX_FAVORITES = 200


def contains(column: ColumnElement, text: str) -> ColumnElement[bool]:
    """`column` contains `text` literally: LIKE with its wildcards escaped. A NUL is dropped:
    no stored text holds one (the field rules refuse it) and PostgreSQL refuses it in a query."""
    text = text.replace("\x00", "")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def _with_media(stmt: Select, tags: bool = True) -> Select:
    options = [selectinload(Material.assets).selectinload(Asset.renditions)]
    if tags:
        options.append(selectinload(Material.tag_rows))
    return stmt.options(*options)


@dataclass
class Page:
    items: list[Material]
    total: int
    page: int
    per_page: int


def list_materials(
    deps: Deps,
    *,
    status: str | None = None,
    state: str | None = None,
    q: str | None = None,
    tag: str | None = None,
    brand: str | None = None,
    category: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    stmt = select(Material)
    if status:
        stmt = stmt.where(Material.status == status)
    if state:
        stmt = stmt.where(Material.state == state)
    if brand:
        stmt = stmt.where(Material.brand == brand)
    if category:
        stmt = stmt.where(Material.category == category)
    if tag:
        stmt = stmt.where(Material.tag_rows.any(MaterialTag.tag == tag.lower()))
    if q:
        stmt = stmt.where(or_(contains(Material.title, q), contains(Material.copy, q)))
    with deps.db.read() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        items = s.scalars(
            _with_media(stmt)
            .order_by(Material.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
    return Page(list(items), total, page, per_page)


@dataclass
class Feed:
    items: list[Material]
    page: int
    has_more: bool


def live_feed(
    deps: Deps,
    *,
    sort: str = "newest",
    category: str | None = None,
    q: str | None = None,
    ids: list[int] | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    first: ColumnElement | None = None,
) -> Feed:
    """A page of live materials straight from the database (also the fallback when the search
    service is not there): newest first or most forwarded first, or by `first` (an ordering
    the caller brings, e.g. ratings.index_order()) then newest."""
    stmt = select(Material).where(Material.is_live(datetime.now(UTC)))
    if category:
        stmt = stmt.where(Material.category == category)
    if ids is not None:
        stmt = stmt.where(Material.id.in_(ids or [-1]))
    if q:
        q = q.strip()
        stmt = stmt.where(
            or_(
                contains(Material.title, q),
                contains(Material.copy, q),
                contains(Material.brand, q),
                Material.tag_rows.any(contains(MaterialTag.tag, q.lower())),
            )
        )
    order = [Material.forward_count.desc()] if sort == "forwarded" else []
    order += [first] if first is not None else []
    order += [Material.published_at.desc(), Material.id.desc()]
    with deps.db.read() as s:
        rows = s.scalars(
            _with_media(stmt).order_by(*order).offset((page - 1) * per_page).limit(per_page + 1)
        ).all()
    return Feed(list(rows[:per_page]), page, len(rows) > per_page)


def live_categories(deps: Deps, limit: int = 12) -> list[str]:
    stmt = select(Material.category, func.count()).where(Material.is_live(datetime.now(UTC)))
    stmt = stmt.where(Material.category != "").group_by(Material.category)
    with deps.db.read() as s:
        rows = s.execute(stmt.order_by(func.count().desc(), Material.category).limit(limit))
        return [r[0] for r in rows]


def materials_by_id(deps: Deps, ids: Iterable[int]) -> dict[int, Material]:
    """Materials (any state) with their renditions, for thumbnails beside stats rows."""
    ids = list(ids)
    if not ids:
        return {}
    stmt = _with_media(select(Material).where(Material.id.in_(ids)), tags=False)
    with deps.db.read() as s:
        return {m.id: m for m in s.scalars(stmt)}


def live_by_id(deps: Deps, ids: Iterable[int], now: datetime) -> dict[int, Material]:
    """The materials among `ids` that are live at `now` (search hits are re-checked here: the
    index may lag, and a window closes with no edit)."""
    ids = list(ids)
    if not ids:
        return {}
    stmt = _with_media(select(Material).where(Material.id.in_(ids), Material.is_live(now)))
    with deps.db.read() as s:
        return {m.id: m for m in s.scalars(stmt)}


def live_material(deps: Deps, material_id: int) -> Material | None:
    try:
        with deps.db.read() as s:
            material = load_material(s, material_id)
    except NotFound:
        return None
    return material if material.is_live(datetime.now(UTC)) else None


# ---------------------------------------------------------------- favourites


def is_favorite(deps: Deps, user_id: int, material_id: int) -> bool:
    with deps.db.read() as s:
        found = s.scalar(
            select(Favorite.id).where(
                Favorite.user_id == user_id, Favorite.material_id == material_id
            )
        )
        return found is not None


def toggle_favorite(deps: Deps, user_id: int, material_id: int) -> bool:
    """Adds or removes the favourite; returns whether it is one now."""
    try:
        with deps.db.transaction() as s:
            row = s.scalar(
                select(Favorite).where(
                    Favorite.user_id == user_id, Favorite.material_id == material_id
                )
            )
            if row is not None:
                s.delete(row)
                return False
            s.add(Favorite(user_id=user_id, material_id=material_id, created_at=datetime.now(UTC)))
            return True
    except IntegrityError:  # the same tap twice at once: it is a favorite either way
        return True


def favorite_feed(deps: Deps, user_id: int) -> Feed:
    """The user's live favourites, most recently added first."""
    with deps.db.read() as s:
        ids = list(
            s.scalars(
                select(Favorite.material_id)
                .where(Favorite.user_id == user_id)
                .order_by(Favorite.created_at.desc())
                .limit(MAX_FAVORITES)
            )
        )
    feed = live_feed(deps, ids=ids, per_page=MAX_FAVORITES)
    order = {mid: i for i, mid in enumerate(ids)}
    feed.items.sort(key=lambda m: order[m.id])
    return feed
