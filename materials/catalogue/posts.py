"""Try-out posts (试用体验): a seller's own photos and words about a live material's product.

A post IS a material (author_id = the seller, origin_material_id = the product's material),
made by the same upload as ops' (lifecycle.create_material: files checked by content, stored,
processed by the worker) and, once approved, published through the same lifecycle: so it is
forwarded, searched, edited and taken down exactly like any other material. Until then it is a
draft, which nothing public shows. Its `review` says where it stands:

    pending --approve--> approved (published)
    pending --reject(reason)--> rejected
    pending --request_changes(reason)--> changes_requested --edit, resubmit--> pending

A trusted seller's post is approved as it is submitted (and again when resubmitted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from materials.catalogue import browse, lifecycle
from materials.catalogue.lifecycle import Created, load_material
from materials.catalogue.uploads import IncomingFile
from materials.errors import Conflict, NotFound, TooMany
from materials.models import (
    APPROVED,
    CHANGES_REQUESTED,
    MAX_ID,
    OPS,
    PENDING,
    REJECTED,
    SELLER,
    Material,
    User,
    utcnow,
)
from materials.platform.deps import Deps
from materials.validation import MAX_TAGS, TITLE_CHARS, clean_text, parse_tags

POST_TAG = "试用体验"
REASON_CHARS = 500
TITLE_SUFFIX = " · 试用体验"


@dataclass(frozen=True)
class Draft:
    """What the seller writes: the text (as ops copy), and a title, which may be left out."""

    copy: str
    title: str = ""


def parse_text(value: Any, max_chars: int) -> str:
    """A post's text: the rules and limit of ops' copy (SUCAI_MAX_TEXT_CHARS), not empty."""
    return clean_text("text", value, max_chars=max_chars, required=True, multiline=True)


def parse_title(value: Any) -> str:
    """A post's own title: may be left out (then the product's, marked 试用体验)."""
    return clean_text("title", value, max_chars=TITLE_CHARS)


def parse_reason(value: Any) -> str:
    return clean_text("reason", value, max_chars=REASON_CHARS, required=True, multiline=True)


# ---------------------------------------------------------------- submit


def submit(
    deps: Deps, seller: User, origin_id: int, draft: Draft, files: list[IncomingFile]
) -> Created:
    """A new post about the product of live material `origin_id`, from files already checked."""
    origin = browse.live_material(deps, origin_id)
    if origin is None:
        raise NotFound(f"material {origin_id} not found", field="material_id", rule="not_found")
    check_quota(deps, seller)  # before storing anything; again in the transaction
    fields = _fields(origin, draft) | {
        "author_id": seller.id,
        "origin_material_id": origin.origin_material_id or origin.id,
        "review": PENDING,
    }
    created = lifecycle.create_material(
        deps, seller, fields, files, guard=lambda s: _hold_quota(deps, s, seller.id)
    )
    if seller.trusted:
        _approve(deps, created.material_id, now=utcnow())
    return created


def _fields(origin: Material, draft: Draft) -> dict[str, Any]:
    """The product's facts come from its material; the words and photos are the seller's."""
    title = draft.title or (origin.title[: TITLE_CHARS - len(TITLE_SUFFIX)] + TITLE_SUFFIX)
    return {
        "title": title,
        "copy": draft.copy,
        "price_cents": origin.price_cents,
        "original_price_cents": origin.original_price_cents,
        "product_url": origin.product_url,
        "brand": origin.brand,
        "category": origin.category,
        "tags": parse_tags([*origin.tags[: MAX_TAGS - 1], POST_TAG]),
    }


def day_start(deps: Deps, now: datetime) -> datetime:
    """The start (UTC) of `now`'s calendar day in SUCAI_TIMEZONE."""
    zone = ZoneInfo(deps.settings.TIMEZONE)
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(), zone).astimezone(UTC)


def _posted_today(deps: Deps, s: Session, seller_id: int, now: datetime) -> int:
    stmt = select(func.count(Material.id)).where(
        Material.author_id == seller_id, Material.created_at >= day_start(deps, now)
    )
    return s.scalar(stmt) or 0


def _refuse_over_quota(deps: Deps, count: int, now: datetime) -> None:
    cap = deps.settings.POSTS_PER_DAY
    if count >= cap:
        tomorrow = day_start(deps, now) + timedelta(days=1)
        raise TooMany(
            f"{count} posts today; the limit is {cap} a day",
            retry_after=int((tomorrow - now).total_seconds()) + 1,
            rule="daily_posts",
        )


def check_quota(deps: Deps, seller: User) -> None:
    now = utcnow()
    with deps.db.read() as s:
        _refuse_over_quota(deps, _posted_today(deps, s, seller.id, now), now)


def _hold_quota(deps: Deps, s: Session, seller_id: int) -> None:
    """The cap as it holds at commit: the seller's row is locked first (on SQLite the write
    transaction is already exclusive), so two uploads at once are counted one after the other."""
    s.scalar(select(User.id).where(User.id == seller_id).with_for_update())
    now = utcnow()
    _refuse_over_quota(deps, _posted_today(deps, s, seller_id, now), now)


# ---------------------------------------------------------------- read


def get_post(deps: Deps, user: User, post_id: int) -> Material:
    """A post its author or ops may read; anyone else's (or no post) is 404."""
    with deps.db.read() as s:
        post = load_material(s, post_id)
    if not post.is_post or (user.role != OPS and post.author_id != user.id):
        raise NotFound(f"post {post_id} not found", rule="not_found")
    return post


def my_posts(deps: Deps, seller: User, limit: int = 200) -> list[Material]:
    return _posts(deps, Material.author_id == seller.id, limit)


def queue(deps: Deps, review: str = PENDING, limit: int = 100) -> list[Material]:
    """Posts in `review` (the queue: pending), oldest first."""
    return _posts(deps, Material.review == review, limit, oldest_first=True)


def _posts(deps: Deps, where: Any, limit: int, oldest_first: bool = False) -> list[Material]:
    order = Material.id.asc() if oldest_first else Material.id.desc()
    stmt = select(Material).where(where, Material.review.is_not(None)).order_by(order)
    with deps.db.read() as s:
        ids = list(s.scalars(stmt.with_only_columns(Material.id).limit(limit)))
    found = browse.materials_by_id(deps, ids)
    return [found[i] for i in ids if i in found]


def origins(deps: Deps, posts: list[Material]) -> dict[int, Material]:
    return browse.materials_by_id(deps, {p.origin_material_id for p in posts} - {None})


# ---------------------------------------------------------------- the author's changes


def edit(deps: Deps, seller: User, post_id: int, draft: Draft) -> None:
    """The author rewrites a post that waits or was sent back (a new version, as any edit)."""
    with deps.db.transaction() as s:
        post = _own(s, seller, post_id)
        _expect(post, (PENDING, CHANGES_REQUESTED), "edit")
        changes: dict[str, Any] = {"copy": draft.copy}
        if draft.title:
            changes["title"] = draft.title
        lifecycle.edit_loaded(s, post, changes)


def resubmit(deps: Deps, seller: User, post_id: int) -> None:
    with deps.db.transaction() as s:
        post = _own(s, seller, post_id)
        _expect(post, (CHANGES_REQUESTED,), "resubmit")
        post.review, post.updated_at = PENDING, utcnow()
    if seller.trusted:
        _approve(deps, post_id, now=utcnow())


def _own(s: Session, seller: User, post_id: int) -> Material:
    try:
        post = load_material(s, post_id, lock=True)
    except NotFound:
        post = None
    if post is None or not post.is_post or post.author_id != seller.id:
        raise NotFound(f"post {post_id} not found", rule="not_found")
    return post


def _expect(post: Material, states: tuple[str, ...], action: str) -> None:
    if post.review not in states:
        raise Conflict(
            f"cannot {action} a post that is {post.review} (only {' or '.join(states)})",
            rule="review_state",
        )


# ---------------------------------------------------------------- ops' review


def approve(deps: Deps, post_id: int) -> None:
    """Approved and published at once: live as soon as its files are processed."""
    _approve(deps, post_id, now=utcnow(), expect=True)


def _approve(deps: Deps, post_id: int, now: datetime, expect: bool = False) -> None:
    with deps.db.transaction() as s:
        post = _post(s, post_id)
        if expect:
            _expect(post, (PENDING,), "approve")
        post.review, post.review_reason, post.reviewed_at = APPROVED, None, now
        lifecycle.publish_loaded(s, post, None, None)


def reject(deps: Deps, post_id: int, reason: str) -> None:
    _decide(deps, post_id, REJECTED, reason)


def request_changes(deps: Deps, post_id: int, reason: str) -> None:
    _decide(deps, post_id, CHANGES_REQUESTED, reason)


def _decide(deps: Deps, post_id: int, review: str, reason: str) -> None:
    with deps.db.transaction() as s:
        post = _post(s, post_id)
        _expect(post, (PENDING,), "review")
        post.review, post.review_reason, post.reviewed_at = review, reason, utcnow()
        post.updated_at = utcnow()


def _post(s: Session, post_id: int) -> Material:
    post = load_material(s, post_id, lock=True)
    if not post.is_post:
        raise NotFound(f"post {post_id} not found", rule="not_found")
    return post


def set_trusted(deps: Deps, seller_id: int, trusted: bool) -> User:
    with deps.db.transaction() as s:
        user = s.get(User, seller_id) if 0 < seller_id <= MAX_ID else None
        if user is None or user.role != SELLER:
            raise NotFound(f"seller {seller_id} not found", rule="not_found")
        user.trusted = trusted
        s.flush()
        s.expunge(user)
        return user
