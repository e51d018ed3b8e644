"""What the three faces of the site share: live-material queries, URLs for thumbnails, cards and
share pages, money and time formatting, and the Jinja filters that expose them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from materials.catalogue.lifecycle import load_material
from materials.errors import NotFound
from materials.models import PUBLISHED, READY, Asset, Material, MaterialTag
from materials.platform.deps import Deps
from materials.sharing import stats
from materials.sharing.cards import card_path
from materials.web.security import is_stateless

FEED_SORTS = ("newest", "forwarded")
PER_PAGE = 12


def money(cents: int | None) -> str:
    if cents is None:
        return ""
    yuan, fen = divmod(cents, 100)
    return f"{yuan}" if fen == 0 else f"{yuan}.{fen:02d}"


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SUCAI_TIMEZONE"])


def local_time(when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return when.astimezone(local_zone()).strftime(fmt) if when else ""


def parse_local(value: str | None) -> datetime | None:
    """An <input type=datetime-local> value, read in the site's time zone, as UTC."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=local_zone())
    return naive.astimezone(UTC)


# ---------------------------------------------------------------- URLs


def rendition_url(material: Material, name: str = "thumb", index: int = 0) -> str | None:
    photos = material.photos
    if index >= len(photos):
        return None
    r = photos[index].rendition(name)
    return url_for("media.serve", key=r.key) if r else None


def video_urls(material: Material) -> tuple[str | None, str | None]:
    """(video, poster) of the transcoded video, when it is ready."""
    v = material.video
    if v is None:
        return None, None
    video, poster = v.rendition("video"), v.rendition("poster")
    return (
        url_for("media.serve", key=video.key) if video else None,
        url_for("media.serve", key=poster.key) if poster else None,
    )


def public_url(path: str) -> str:
    return current_app.config["SUCAI_PUBLIC_URL"] + path


def share_path(material_id: int, code: str | None = None) -> str:
    return f"/m/{material_id}" + (f"?ref={code}" if code else "")


# ---------------------------------------------------------------- live materials


def live_filter(stmt: Select, now: datetime) -> Select:
    """Only what the public may see: published, processed, inside its window."""
    return stmt.where(
        Material.state == PUBLISHED,
        Material.status == READY,
        or_(Material.publish_at.is_(None), Material.publish_at <= now),
        or_(Material.take_down_at.is_(None), Material.take_down_at > now),
    )


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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
) -> Feed:
    """A page of live materials straight from the database (also the fallback when the search
    service is not there): newest first or most forwarded first."""
    now = datetime.now(UTC)
    stmt = live_filter(select(Material), now)
    if category:
        stmt = stmt.where(Material.category == category)
    if ids is not None:
        stmt = stmt.where(Material.id.in_(ids or [-1]))
    if q:
        like = _like(q.strip())
        stmt = stmt.where(
            or_(
                Material.title.like(like, escape="\\"),
                Material.copy.like(like, escape="\\"),
                Material.brand.like(like, escape="\\"),
                Material.tag_rows.any(MaterialTag.tag.like(like.lower(), escape="\\")),
            )
        )
    order = [Material.forward_count.desc()] if sort == "forwarded" else []
    order += [Material.published_at.desc(), Material.id.desc()]
    with deps.db.read() as s:
        rows = s.scalars(
            stmt.options(
                selectinload(Material.assets).selectinload(Asset.renditions),
                selectinload(Material.tag_rows),
            )
            .order_by(*order)
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        ).all()
    return Feed(list(rows[:per_page]), page, len(rows) > per_page)


def live_categories(deps: Deps, limit: int = 12) -> list[str]:
    now = datetime.now(UTC)
    stmt = live_filter(select(Material.category, func.count()), now)
    stmt = stmt.where(Material.category != "").group_by(Material.category)
    with deps.db.read() as s:
        rows = s.execute(stmt.order_by(func.count().desc(), Material.category).limit(limit))
        return [r[0] for r in rows]


def materials_by_id(deps: Deps, ids: list[int]) -> dict[int, Material]:
    """Materials (any state) with their renditions, for thumbnails beside stats rows."""
    if not ids:
        return {}
    stmt = (
        select(Material)
        .where(Material.id.in_(ids))
        .options(selectinload(Material.assets).selectinload(Asset.renditions))
    )
    with deps.db.read() as s:
        return {m.id: m for m in s.scalars(stmt)}


STATS_RANGES = (7, 30, 90)


def stats_period(deps: Deps, days: int) -> stats.Period:
    """The last `days` local days, today included."""
    now = datetime.now(UTC)
    today = now.astimezone(local_zone()).date()
    first = today - timedelta(days=days - 1)
    return stats.parse_period(deps, first.isoformat(), today.isoformat(), now)


def chart_series(metrics: stats.Metrics) -> dict[str, int]:
    return {"forwards": metrics.forwards, "clicks": metrics.clicks_valid, "orders": metrics.orders}


def live_material(deps: Deps, material_id: int) -> Material | None:
    try:
        with deps.db.read() as s:
            material = load_material(s, material_id)
    except NotFound:
        return None
    return material if material.is_live(datetime.now(UTC)) else None


def static_url(filename: str) -> str:
    """A static file's URL with its modification time, so browsers never run stale JS."""
    folder = Path(current_app.static_folder or "static")
    try:
        version = int((folder / filename).stat().st_mtime)
    except OSError:
        version = 0
    return url_for("static", filename=filename, v=version)


def _template_context() -> dict:
    return {"stateless": is_stateless(request.path)}


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["rendition_url"] = rendition_url
    app.jinja_env.globals["card_path"] = card_path
