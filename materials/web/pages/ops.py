"""The ops console: material list, upload, edit, publication, bulk actions, stats.

Uploads, live status and retry go through the JSON API from the page's JavaScript (with the
session and its CSRF token); edits and publication are plain forms that land here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from materials.catalogue import browse, lifecycle
from materials.errors import Problem
from materials.formatting import parse_local
from materials.models import DRAFT, FAILED, OPS, PROCESSING, PUBLISHED, READY, TAKEN_DOWN
from materials.sharing import copies, stats
from materials.sharing.stats import Metrics
from materials.validation import (
    material_fields,
    parse_comment,
    parse_price,
    parse_variant_body,
    parse_variant_label,
    small_int,
)
from materials.web.auth import page_role
from materials.web.deps import get_deps
from materials.web.pages import charts
from materials.web.pages.args import choice_arg, days_arg, page_arg
from materials.web.pages.charts import STATS_RANGES, chart_series, stats_period
from materials.web.templating import local_time

bp = Blueprint("ops", __name__, url_prefix="/ops")
STATUS_FILTERS = {"": "全部", PROCESSING: "处理中", READY: "就绪", FAILED: "失败"}
STATE_FILTERS = {"": "全部", DRAFT: "草稿", PUBLISHED: "已发布", TAKEN_DOWN: "已下架"}
MAX_BULK = 100


@bp.get("/")
@page_role(OPS)
def index() -> str:
    status = request.args.get("status", "")
    state = request.args.get("state", "")
    q = request.args.get("q", "").strip()[:100]
    listing = browse.list_materials(
        get_deps(),
        status=status if status in STATUS_FILTERS else None,
        state=state if state in STATE_FILTERS else None,
        q=q or None,
        page=page_arg(100_000),
        per_page=30,
    )
    return render_template(
        "ops/index.html",
        listing=listing,
        status=status,
        state=state,
        q=q,
        status_filters=STATUS_FILTERS,
        state_filters=STATE_FILTERS,
        now=datetime.now(UTC),
    )


@bp.get("/new")
@page_role(OPS)
def new() -> str:
    cfg = get_deps().settings
    return render_template(
        "ops/new.html",
        max_photos=cfg.MAX_PHOTOS,
        max_photo_mb=cfg.MAX_PHOTO_BYTES // (1024 * 1024),
        max_video_mb=cfg.MAX_VIDEO_BYTES // (1024 * 1024),
    )


def _edit_page(material_id: int, form: dict | None = None, error: Problem | None = None):
    deps = get_deps()
    material = lifecycle.get_material(deps, material_id)
    now = datetime.now(UTC)
    body = render_template(
        "ops/edit.html",
        m=material,
        copy_settings=copies.copy_settings(deps, material_id),
        variant_rows=stats.variant_stats(deps, material_id, stats.period(deps, None, None, now)),
        form=form,
        error=error,
        now=datetime.now(UTC),
        publish_at=local_time(material.publish_at, "%Y-%m-%dT%H:%M"),
        take_down_at=local_time(material.take_down_at, "%Y-%m-%dT%H:%M"),
        timezone=deps.settings.TIMEZONE,
    )
    return Response(body, status=error.status if error else 200, mimetype="text/html")


@bp.get("/m/<int:material_id>")
@page_role(OPS)
def edit(material_id: int) -> Response:
    return _edit_page(material_id)


@bp.post("/m/<int:material_id>")
@page_role(OPS)
def save(material_id: int) -> Response:
    deps = get_deps()
    form = request.form.to_dict()
    form.pop("csrf_token", None)
    try:
        changes = material_fields(
            form, [form.get("tags", "")], deps.settings.MAX_TEXT_CHARS, partial=False
        )
        lifecycle.update_material(deps, material_id, changes)
    except Problem as exc:
        if exc.status == 404:
            raise
        return _edit_page(material_id, form=form, error=exc)
    flash("已保存。", "ok")
    return redirect(url_for("ops.edit", material_id=material_id), code=303)


# ---------------------------------------------------------------- copy variants, comment, markup


def _to_copy(material_id: int) -> Response:
    return redirect(url_for("ops.edit", material_id=material_id) + "#copy", code=303)


def _refused(exc: Problem) -> None:
    if exc.status == 404:
        raise exc
    flash(exc.detail, "error")


@bp.post("/m/<int:material_id>/copy")
@page_role(OPS)
def save_copy(material_id: int) -> Response:
    deps = get_deps()
    form = request.form
    try:
        changes = {
            "comment": parse_comment(form.get("comment"), deps.settings.MAX_TEXT_CHARS),
            "markup_allowed": form.get("markup_allowed") == "on",
            "markup_cap_cents": parse_price(
                "markup_cap", form.get("markup_cap") or "0", required=True
            ),
        }
        copies.update_settings(deps, material_id, changes)
        flash("已保存评论区和加价设置。", "ok")
    except Problem as exc:
        _refused(exc)
    return _to_copy(material_id)


@bp.post("/m/<int:material_id>/variants")
@page_role(OPS)
def add_variant(material_id: int) -> Response:
    deps = get_deps()
    try:
        label = parse_variant_label(request.form.get("label"))
        body = parse_variant_body(request.form.get("body"), deps.settings.MAX_TEXT_CHARS)
        copies.add_variant(deps, material_id, label, body)
        flash(f"已添加文案版本「{label}」。", "ok")
    except Problem as exc:
        _refused(exc)
    return _to_copy(material_id)


@bp.post("/m/<int:material_id>/variants/<int:variant_id>/retire")
@page_role(OPS)
def retire_variant(material_id: int, variant_id: int) -> Response:
    copies.retire_variant(get_deps(), material_id, variant_id)
    flash("已停用这个文案版本；选了它的卖家改发默认文案。", "ok")
    return _to_copy(material_id)


def _back(material_id: int) -> Response:
    target = request.form.get("back") or url_for("ops.edit", material_id=material_id)
    if not target.startswith("/ops/") or target.startswith("//"):
        target = url_for("ops.edit", material_id=material_id)
    return redirect(target, code=303)


@bp.post("/m/<int:material_id>/publish")
@page_role(OPS)
def publish(material_id: int) -> Response:
    zone = get_deps().settings.TIMEZONE
    schedule = request.form.get("mode") == "window"
    publish_at = parse_local(request.form.get("publish_at"), zone) if schedule else None
    take_down_at = parse_local(request.form.get("take_down_at"), zone) if schedule else None
    if schedule and not (publish_at or take_down_at):
        flash("请填写上架时间或下架时间（或选择立即发布）。", "error")
        return _back(material_id)
    try:
        lifecycle.publish(get_deps(), material_id, publish_at, take_down_at)
    except Problem as exc:
        if exc.status == 404:
            raise
        flash(_publish_error(exc), "error")
        return _back(material_id)
    flash("已设置发布时间。" if schedule else "已发布。", "ok")
    return _back(material_id)


def _publish_error(exc: Problem) -> str:
    if exc.rule == "failed":
        return "处理失败的素材不能发布：请先重试或替换文件。"
    if exc.rule == "window":
        return "下架时间必须晚于上架时间。"
    return exc.detail


@bp.post("/m/<int:material_id>/unpublish")
@page_role(OPS)
def unpublish(material_id: int) -> Response:
    lifecycle.unpublish(get_deps(), material_id)
    flash("已下架。", "ok")
    return _back(material_id)


@bp.post("/m/<int:material_id>/retry")
@page_role(OPS)
def retry(material_id: int) -> Response:
    try:
        lifecycle.retry(get_deps(), material_id)
        flash("已重新排队处理。", "ok")
    except Problem as exc:
        if exc.status == 404:
            raise
        flash("没有失败的文件需要重试。", "error")
    return _back(material_id)


def _selected_ids() -> list[int]:
    ids = [n for n in map(small_int, request.form.getlist("ids")) if n is not None]
    return list(dict.fromkeys(ids))[:MAX_BULK]


@bp.post("/bulk")
@page_role(OPS)
def bulk() -> Response:
    action, ids = request.form.get("action", ""), _selected_ids()
    back = redirect(_list_url(), code=303)
    if not ids:
        flash("请先勾选素材。", "error")
        return back
    handler = BULK_ACTIONS.get(action)
    if handler is None:
        flash("未知的批量操作。", "error")
        return back
    if action == "tag" and not request.form.get("tag", "").strip():
        flash("请输入要加的标签。", "error")
        return back
    done, failed = 0, []
    for material_id in ids:
        try:
            handler(material_id)
            done += 1
        except Problem as exc:
            failed.append(f"#{material_id}: {exc.detail}")
    flash(f"{BULK_NAMES[action]}：成功 {done} 个。", "ok")
    if failed:
        flash("失败：" + "；".join(failed[:5]), "error")
    return back


def _list_url() -> str:
    target = request.form.get("back", "")
    return target if target.startswith("/ops/") else url_for("ops.index")


def _bulk_tag(material_id: int) -> None:
    lifecycle.add_tag(get_deps(), material_id, request.form.get("tag", ""))


def _bulk_publish(material_id: int) -> None:
    lifecycle.publish(get_deps(), material_id)


def _bulk_unpublish(material_id: int) -> None:
    lifecycle.unpublish(get_deps(), material_id)


BULK_ACTIONS = {"tag": _bulk_tag, "publish": _bulk_publish, "unpublish": _bulk_unpublish}
BULK_NAMES = {"tag": "加标签", "publish": "发布", "unpublish": "下架"}


@bp.get("/stats")
@page_role(OPS)
def stats_page() -> str:
    deps = get_deps()
    days = days_arg()
    by = choice_arg("by", stats.RANKINGS, "forwards")
    period = stats_period(deps, days)
    result = stats.ops_stats(deps, period, by, 10)
    with deps.db.read() as s:
        per_day = stats.grouped(deps, s, "day", period)
    series = [(d, chart_series(per_day.get(d.isoformat(), Metrics()))) for d in period.days()]
    f = result.funnel
    return render_template(
        "ops/stats.html",
        days=days,
        ranges=STATS_RANGES,
        by=by,
        rankings=RANKING_NAMES,
        result=result,
        rate=stats.rate,
        chart=charts.day_chart(series, width=560, height=220),
        funnel=charts.funnel([("转发", f.forwards), ("点击", f.clicks_valid), ("订单", f.orders)]),
        thumbs=browse.materials_by_id(deps, [i for i, _, _ in result.top_materials]),
    )


RANKING_NAMES = {"forwards": "转发", "clicks": "点击", "orders": "订单数", "amount": "成交额"}
