"""Try-out posts as pages: the seller writes one from a material's page and follows their posts
(/h5/…); ops review them at /ops/review. Plain forms that land here and call the same domain
functions (and the same upload checks) as the API."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from materials.catalogue import browse, posts
from materials.catalogue.uploads import check_files
from materials.errors import Problem
from materials.models import CHANGES_REQUESTED, OPS, PENDING, REVIEWS, SELLER
from materials.sharing import stats
from materials.web.auth import page_role
from materials.web.deps import get_deps
from materials.web.pages.args import choice_arg
from materials.web.uploads import spooled

seller_bp = Blueprint("seller_posts", __name__, url_prefix="/h5")
ops_bp = Blueprint("review", __name__, url_prefix="/ops/review")

REVIEW_NAMES = {
    PENDING: "待审核",
    "approved": "已通过",
    "rejected": "未通过",
    CHANGES_REQUESTED: "待修改",
}
# Why a form came back, in the seller's words (the problem's own detail is shown beside it).
RULE_MESSAGES = {
    "daily_posts": "今天的试用体验已达上限，明天再来吧。",
    "max_items": "最多 9 张照片、1 个视频。",
    "required": "请填写体验内容并至少选 1 张照片。",
    "max_length": "内容太长了。",
    "max_bytes": "文件太大了。",
    "type": "只支持 JPEG、PNG、WebP 照片和 MP4、MOV、WebM 视频。",
}


def _problem_page(template: str, exc: Problem, **context) -> Response:
    message = RULE_MESSAGES.get(exc.rule, "提交的内容有误。")
    body = render_template(template, error=exc, message=message, **context)
    resp = Response(body, status=exc.status, mimetype="text/html")
    if getattr(exc, "retry_after", None):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


# ---------------------------------------------------------------- the seller


def _typed() -> dict[str, str]:
    """What the seller typed, to check and, when refused, to show again."""
    return {"title": request.form.get("title", ""), "text": request.form.get("text", "")}


def _draft(form: dict[str, str]) -> posts.Draft:
    cap = get_deps().settings.MAX_TEXT_CHARS
    return posts.Draft(
        copy=posts.parse_text(form["text"], cap), title=posts.parse_title(form["title"])
    )


def _origin(material_id: int):
    origin = browse.live_material(get_deps(), material_id)
    if origin is None:
        abort(404)
    return origin


def _limits() -> dict:
    cfg = get_deps().settings
    return {"max_photos": cfg.MAX_PHOTOS, "max_chars": cfg.MAX_TEXT_CHARS}


@seller_bp.get("/m/<int:material_id>/post")
@page_role(SELLER)
def new(material_id: int) -> str:
    return render_template(
        "seller/post_new.html", origin=_origin(material_id), form={}, **_limits()
    )


@seller_bp.post("/m/<int:material_id>/post")
@page_role(SELLER)
def submit(material_id: int) -> Response:
    deps = get_deps()
    origin = _origin(material_id)
    form = _typed()
    try:
        posts.check_quota(deps, g.user)
        draft = _draft(form)
        photos = spooled(request.files.getlist("photos"))
        files = check_files(photos, spooled(request.files.getlist("video")), deps.settings)
        created = posts.submit(deps, g.user, origin.id, draft, files)
    except Problem as exc:
        if exc.status == 404:
            raise
        return _problem_page("seller/post_new.html", exc, origin=origin, form=form, **_limits())
    flash("已提交，审核通过后所有店主都能转发。" if not g.user.trusted else "已发布。", "ok")
    return redirect(url_for("seller_posts.mine", _anchor=f"post-{created.material_id}"), code=303)


@seller_bp.get("/posts")
@page_role(SELLER)
def mine() -> str:
    deps = get_deps()
    items = posts.my_posts(deps, g.user)
    return render_template(
        "seller/posts.html",
        items=items,
        now=datetime.now(UTC),
        names=REVIEW_NAMES,
        origins=posts.origins(deps, items),
        reach=stats.reach_by_others(deps, g.user.id, [p.id for p in items]),
    )


def _own_post(post_id: int):
    post = posts.get_post(get_deps(), g.user, post_id)  # NotFound unless it is theirs
    return post


@seller_bp.get("/posts/<int:post_id>")
@page_role(SELLER)
def edit(post_id: int) -> str:
    post = _own_post(post_id)
    form = {"title": post.title, "text": post.copy}
    return render_template("seller/post_edit.html", post=post, form=form, names=REVIEW_NAMES)


@seller_bp.post("/posts/<int:post_id>")
@page_role(SELLER)
def save(post_id: int) -> Response:
    deps = get_deps()
    post = _own_post(post_id)
    form = _typed()
    try:
        posts.edit(deps, g.user, post_id, _draft(form))
        if request.form.get("resubmit") and post.review == CHANGES_REQUESTED:
            posts.resubmit(deps, g.user, post_id)
    except Problem as exc:
        if exc.status == 404:
            raise
        return _problem_page("seller/post_edit.html", exc, post=post, form=form, names=REVIEW_NAMES)
    flash("已重新提交审核。" if request.form.get("resubmit") else "已保存。", "ok")
    return redirect(url_for("seller_posts.mine", _anchor=f"post-{post_id}"), code=303)


# ---------------------------------------------------------------- ops


@ops_bp.get("/")
@page_role(OPS)
def queue() -> str:
    deps = get_deps()
    review = choice_arg("review", REVIEW_NAMES, PENDING)
    items = posts.queue(deps, review)
    return render_template(
        "ops/review.html",
        items=items,
        review=review,
        names=REVIEW_NAMES,
        reviews=REVIEWS,
        origins=posts.origins(deps, items),
    )


def _back() -> Response:
    return redirect(url_for("review.queue", review=request.form.get("back") or PENDING), code=303)


def _decided(action, post_id: int, done: str) -> Response:  # noqa: ANN001
    try:
        action(post_id)
        flash(done, "ok")
    except Problem as exc:
        if exc.status == 404:
            raise
        flash(_review_error(exc), "error")
    return _back()


REVIEW_ERRORS = {
    "review_state": "这条试用体验已经审核过了。",
    "required": "请写明原因，店主会看到。",
    "failed": "文件处理失败，不能通过：请让店主重新提交。",
}


def _review_error(exc: Problem) -> str:
    return REVIEW_ERRORS.get(exc.rule, exc.detail)


@ops_bp.post("/<int:post_id>/approve")
@page_role(OPS)
def approve(post_id: int) -> Response:
    return _decided(lambda i: posts.approve(get_deps(), i), post_id, "已通过并发布。")


def _reason() -> str:
    return posts.parse_reason(request.form.get("reason", ""))


@ops_bp.post("/<int:post_id>/reject")
@page_role(OPS)
def reject(post_id: int) -> Response:
    return _decided(lambda i: posts.reject(get_deps(), i, _reason()), post_id, "已拒绝。")


@ops_bp.post("/<int:post_id>/request-changes")
@page_role(OPS)
def request_changes(post_id: int) -> Response:
    done = "已退回修改。"
    return _decided(lambda i: posts.request_changes(get_deps(), i, _reason()), post_id, done)


@ops_bp.post("/sellers/<int:seller_id>/trust")
@page_role(OPS)
def trust(seller_id: int) -> Response:
    on = request.form.get("trusted") == "1"
    user = posts.set_trusted(get_deps(), seller_id, on)
    flash(f"已{'设为' if on else '取消'}免审店主：{user.name}。", "ok")
    return _back()
