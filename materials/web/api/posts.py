"""The JSON API for try-out posts: sellers submit, read and rework their own; ops review them
and mark sellers trusted. Uploads take the same path as ops' (check_files, spooled files)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, url_for

from materials.catalogue import posts
from materials.catalogue.uploads import check_files
from materials.formatting import iso
from materials.models import Material
from materials.sharing import stats
from materials.web.api import schemas
from materials.web.api.materials import asset_json
from materials.web.api.sharing import metrics_json
from materials.web.api.spec import operation
from materials.web.deps import get_deps
from materials.web.uploads import spooled

bp = Blueprint("posts_api", __name__, url_prefix="/api/v1")


def post_json(
    p: Material, reach: stats.Metrics, origin: Material | None, now: datetime
) -> dict[str, Any]:
    urls = get_deps().urls
    live = p.is_live(now)
    return {
        "id": p.id,
        "title": p.title,
        "text": p.copy,
        "review": p.review,
        "reason": p.review_reason,
        "reviewed_at": iso(p.reviewed_at),
        "author": {"id": p.author.id, "name": p.author.name} if p.author else None,
        "origin": {"id": origin.id, "title": origin.title} if origin else None,
        "status": p.status,
        "error": p.error,
        "publication": {
            "state": p.publication(now),
            "live": live,
            "publish_at": iso(p.publish_at),
            "take_down_at": iso(p.take_down_at),
        },
        "version": p.version,
        "forward_count": p.forward_count,
        "reach": metrics_json(reach),
        "page": urls.absolute(urls.share(p.id)) if live else None,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "assets": [asset_json(a) for a in p.assets],
    }


def posts_json(items: list[Material]) -> list[dict[str, Any]]:
    """Each post with its origin and what other sellers' forwards of it brought."""
    deps, now = get_deps(), datetime.now(UTC)
    origins = posts.origins(deps, items)
    reach: dict[int, stats.Metrics] = {}
    for author_id in {p.author_id for p in items if p.author_id is not None}:
        mine = [p.id for p in items if p.author_id == author_id]
        reach |= stats.reach_by_others(deps, author_id, mine)
    return [
        post_json(p, reach.get(p.id, stats.Metrics()), origins.get(p.origin_material_id), now)
        for p in items
    ]


def _post_response(post_id: int, status: int = 200) -> Response:
    post = posts.get_post(get_deps(), g.user, post_id)
    resp = jsonify(posts_json([post])[0])
    resp.status_code = status
    return resp


@bp.post("/posts")
@operation(
    "seller",
    op_id="createPost",
    ok={201: (schemas.Post, "submitted: pending review, or approved for a trusted seller")},
    errors=(404, 413, 415, 429),  # 429: SUCAI_POSTS_PER_DAY, or the upload rate limit
    form=schemas.PostUpload,
)
def create(body: schemas.PostUpload) -> Response:
    """Submit a try-out post about a live material's product: text, 1-9 photos, one video"""
    deps = get_deps()
    posts.check_quota(deps, g.user)  # before any file is decoded
    files = check_files(spooled(body.photos), spooled(_given(body.video)), deps.settings)
    draft = posts.Draft(copy=body.text, title=body.title)
    created = posts.submit(deps, g.user, body.material_id, draft, files)
    resp = _post_response(created.material_id, 201)
    resp.headers["Location"] = url_for("posts_api.get", post_id=created.material_id)
    return resp


def _given(file: Any) -> list[Any]:
    return [file] if file is not None else []


@bp.get("/posts")
@operation("seller", op_id="listMyPosts", ok={200: schemas.PostList})
def index() -> Response:
    """The seller's own posts, newest first: review, reason, and what others' forwards brought"""
    return jsonify({"items": posts_json(posts.my_posts(get_deps(), g.user))})


@bp.get("/posts/<int:post_id>")
@operation("seller", "ops", op_id="getPost", ok={200: schemas.Post}, errors=(404,))
def get(post_id: int) -> Response:
    """One post (a seller sees only their own)"""
    return _post_response(post_id)


@bp.patch("/posts/<int:post_id>")
@operation(
    "seller",
    op_id="editPost",
    ok={200: schemas.Post},
    errors=(404, 409),
    json=schemas.PostEdit,
    form=schemas.PostEdit,
)
def edit(post_id: int, body: schemas.PostEdit) -> Response:
    """Rewrite a post that waits for review or was sent back for changes"""
    posts.edit(get_deps(), g.user, post_id, posts.Draft(copy=body.text, title=body.title))
    return _post_response(post_id)


@bp.post("/posts/<int:post_id>/resubmit")
@operation("seller", op_id="resubmitPost", ok={200: schemas.Post}, errors=(404, 409))
def resubmit(post_id: int) -> Response:
    """Send a post that was sent back for changes to review again"""
    posts.resubmit(get_deps(), g.user, post_id)
    return _post_response(post_id)


# ---------------------------------------------------------------- ops


@bp.get("/review")
@operation("ops", op_id="reviewQueue", ok={200: schemas.PostList}, query=schemas.ReviewQuery)
def review_queue(query: schemas.ReviewQuery) -> Response:
    """Posts in a review state (by default the queue: pending), oldest first"""
    return jsonify({"items": posts_json(posts.queue(get_deps(), query.review, query.limit))})


@bp.post("/posts/<int:post_id>/approve")
@operation("ops", op_id="approvePost", ok={200: schemas.Post}, errors=(404, 409))
def approve(post_id: int) -> Response:
    """Approve a pending post: it is published, and live once its files are processed"""
    posts.approve(get_deps(), post_id)
    return _post_response(post_id)


@bp.post("/posts/<int:post_id>/reject")
@operation(
    "ops",
    op_id="rejectPost",
    ok={200: schemas.Post},
    errors=(404, 409),
    json=schemas.ReviewDecision,
)
def reject(post_id: int, body: schemas.ReviewDecision) -> Response:
    """Reject a pending post, with the reason its author sees"""
    posts.reject(get_deps(), post_id, body.reason)
    return _post_response(post_id)


@bp.post("/posts/<int:post_id>/request-changes")
@operation(
    "ops",
    op_id="requestPostChanges",
    ok={200: schemas.Post},
    errors=(404, 409),
    json=schemas.ReviewDecision,
)
def request_changes(post_id: int, body: schemas.ReviewDecision) -> Response:
    """Send a pending post back to its author for changes, saying what to change"""
    posts.request_changes(get_deps(), post_id, body.reason)
    return _post_response(post_id)


@bp.put("/sellers/<int:seller_id>/trust")
@operation(
    "ops",
    op_id="setSellerTrust",
    ok={200: schemas.SellerTrust},
    errors=(404,),
    json=schemas.TrustChange,
)
def trust(seller_id: int, body: schemas.TrustChange) -> Response:
    """Mark a seller trusted (their posts skip the review queue), or not"""
    user = posts.set_trusted(get_deps(), seller_id, body.trusted)
    return jsonify({"id": user.id, "name": user.name, "trusted": user.trusted})
