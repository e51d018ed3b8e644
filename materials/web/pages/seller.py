"""The seller H5 (mobile first): feed, search, material page with the one-tap forward,
favorites, my stats. Sellers only ever see live materials."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from materials.catalogue import browse
from materials.catalogue.browse import FEED_SORTS, live_categories, live_feed
from materials.errors import NotFound
from materials.models import SELLER, Material
from materials.sharing import cards, copies, forwarding, stats
from materials.sharing.cardstore import RenderTimeout
from materials.web.auth import page_role
from materials.web.deps import get_deps
from materials.web.pages import charts
from materials.web.pages.args import choice_arg, days_arg, page_arg
from materials.web.pages.charts import STATS_RANGES, chart_series, stats_period
from materials.web.templating import video_urls, wechat_share

bp = Blueprint("seller", __name__, url_prefix="/h5")
TABS = {"newest": "最新", "forwarded": "转发最多", "category": "分类"}
SEARCH_SORTS = {"relevance": "相关", "newest": "最新", "forwarded": "转发最多"}


def _items_response(template: str, feed, next_url: str | None, **context) -> Response | str:
    """The whole page, or (for infinite scroll) just the next items."""
    if request.args.get("fragment") == "1":
        return render_template(
            "seller/_items.html", items=feed.items, next_url=next_url, fragment=True
        )
    return render_template(template, feed=feed, next_url=next_url, **context)


@bp.get("/")
@page_role(SELLER)
def feed() -> Response | str:
    deps = get_deps()
    tab = choice_arg("tab", TABS, "newest")
    categories = live_categories(deps)
    category = request.args.get("category") or (categories[0] if categories else None)
    category = category if tab == "category" else None
    sort = tab if tab in FEED_SORTS else "newest"
    page = live_feed(deps, sort=sort, category=category, page=page_arg(1000))
    next_url = (
        url_for("seller.feed", tab=tab, category=category, page=page.page + 1)
        if page.has_more
        else None
    )
    return _items_response(
        "seller/feed.html",
        page,
        next_url,
        tab=tab,
        tabs=TABS,
        categories=categories,
        category=category,
    )


@bp.get("/search")
@page_role(SELLER)
def search() -> Response | str:
    """Without JavaScript (or without the search service) this searches the database; the
    page's script uses /api/v1/search for pinyin, relevance and facets when it is there."""
    deps = get_deps()
    q = request.args.get("q", "").strip()[:100]
    category = request.args.get("category", "").strip()[:100]
    sort = choice_arg("sort", SEARCH_SORTS, "relevance")
    feed = None
    next_url = None
    if q or category:
        feed = live_feed(
            deps,
            q=q or None,
            category=category or None,
            sort="forwarded" if sort == "forwarded" else "newest",
            page=page_arg(1000),
        )
        if feed.has_more:
            next_url = url_for(
                "seller.search", q=q, category=category, sort=sort, page=feed.page + 1
            )
    return _items_response(
        "seller/search.html",
        feed,
        next_url,
        q=q,
        category=category,
        sort=sort,
        sorts=SEARCH_SORTS,
        categories=live_categories(deps, limit=30),
    )


def _live_or_404(material_id: int) -> Material:
    material = browse.live_material(get_deps(), material_id)
    if material is None:
        abort(404)
    return material


def forward_payload(share: forwarding.Share) -> dict:
    """What one tap forwards, as POST /api/v1/materials/<id>/forward answers it (the same
    body, comment, link and cards), built here without recording a forward: the page needs it
    before the tap so that the copy happens synchronously inside it."""
    video, poster = video_urls(share.material)
    return {
        "text": share.text,
        "comment": share.comment,
        "link": share.link,
        "cards": share.photo_cards,
        "video": video,
        "poster": poster,
    }


def in_wechat() -> bool:
    """WeChat's in-app browser, where sellers mostly are: it blocks downloads (the ZIP) and has
    no Web Share with files, but long-press on a real <img> offers 保存图片 / 发送给朋友. Decided
    here so the page comes right the first time; seller-forward.js checks again as a fallback."""
    return "micromessenger" in request.headers.get("User-Agent", "").lower()


@bp.get("/m/<int:material_id>")
@page_role(SELLER)
def material(material_id: int) -> Response:
    m = _live_or_404(material_id)
    deps = get_deps()
    code = g.user.referral_code
    share = forwarding.share(deps, m, g.user)
    video, poster = video_urls(m)
    page = url_for("seller.material", material_id=m.id)
    with deps.db.read() as s:
        variants = copies.live_variants(s, m.id)
    resp = make_response(
        render_template(
            "seller/material.html",
            m=m,
            code=code,
            payload=forward_payload(share),
            share=share,
            variants=variants,
            video=video,
            poster=poster,
            favorite=browse.is_favorite(get_deps(), g.user.id, m.id),
            in_wechat=in_wechat(),
            page_link=get_deps().urls.absolute(page),
            wechat=wechat_share(m, code),
        )
    )
    resp.vary.add("User-Agent")  # the forward flow differs inside WeChat
    return resp


@bp.get("/m/<int:material_id>/cards.zip")
@page_role(SELLER)
def cards_zip(material_id: int) -> Response:
    """Every card in one download, for browsers without the Web Share API."""
    m = _live_or_404(material_id)
    code = g.user.referral_code
    share = forwarding.share(get_deps(), m, g.user)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for n, data in enumerate(_card_bytes(m, code), start=1):
            zf.writestr(f"{m.id}-{n}.jpg", data)
        zf.writestr("文案.txt", share.text)
        if share.comment:
            zf.writestr("评论.txt", share.comment)
    resp = Response(buf.getvalue(), mimetype="application/zip")
    resp.headers["Content-Disposition"] = f'attachment; filename="sucai-{m.id}-{code}.zip"'
    return resp


def _card_bytes(m: Material, code: str) -> list[bytes]:
    """The stamped 9-grid cards, from the card store (rendered once, then reused)."""
    deps, now = get_deps(), datetime.now(UTC)
    out = []
    for n in range(1, len(m.photos) + 1):
        try:
            spec = cards.resolve(deps, str(m.id), code, f"photo-{n}", now)
            out.append(cards.card_bytes(deps, spec))
        except (NotFound, RenderTimeout):
            abort(503)
    return out


@bp.post("/m/<int:material_id>/favorite")
@page_role(SELLER)
def favorite(material_id: int) -> Response:
    _live_or_404(material_id)
    on = browse.toggle_favorite(get_deps(), g.user.id, material_id)
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"favorite": on})
    return redirect(url_for("seller.material", material_id=material_id), code=303)


@bp.get("/favorites")
@page_role(SELLER)
def favorites() -> str:
    return render_template(
        "seller/favorites.html", feed=browse.favorite_feed(get_deps(), g.user.id)
    )


@bp.get("/stats")
@page_role(SELLER)
def stats_page() -> str:
    deps = get_deps()
    days = days_arg()
    result = stats.seller_stats(deps, g.user.id, stats_period(deps, days))
    series = [(d, chart_series(m)) for d, m in result.by_day]
    return render_template(
        "seller/stats.html",
        user=g.user,
        days=days,
        ranges=STATS_RANGES,
        result=result,
        chart=charts.day_chart(series, width=360, height=180),
        thumbs=browse.materials_by_id(deps, [i for i, _, _ in result.by_material[:50]]),
    )
