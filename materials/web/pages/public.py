"""What anyone may open: the share page a forwarded link leads to, the iframe widget, embed.js
and oEmbed. All of it is stateless (no session read, no cookie set: see security.py) and shows
only live materials; the rest is 404."""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from markupsafe import Markup

from materials.accounts import seller_by_code
from materials.catalogue.browse import live_material
from materials.errors import NotFound, Problem
from materials.models import Material
from materials.sharing import copies
from materials.sharing.cards import layout_size
from materials.web.deps import get_deps
from materials.web.pages.linkmeta import link_meta
from materials.web.templating import rendition_url, video_urls, wechat_share

bp = Blueprint("public", __name__)
SHARE_PATH_RE = re.compile(r"^/m/([1-9][0-9]{0,17})/?$")
EMBED_WIDTH = 360  # the widget's widest (embed.css .w max-width)
# The widget is its square image (the frame's width less the 2 px border) plus fixed-height
# parts beneath: borders 2 + padding 10 + row 40 + padding 12, and for a link without a code
# the two-line title box (44 + 8) too; embed.css fixes those heights so that this holds in any
# font. Measured in Chromium by tests/web/test_browser.py.
EMBED_BELOW_IMAGE = {True: 62, False: 114}  # has a seller's code -> px beyond the width
MIN_EMBED_WIDTH = 120  # narrower, the price and the buy button no longer fit


class NotImplementedFormat(Problem):
    status = 501
    title = "Not implemented"


def _live_or_404(material_id: int) -> Material:
    material = live_material(get_deps(), material_id)
    if material is None:
        raise NotFound(f"material {material_id} is not available", rule="not_found")
    return material


def _valid_ref(code: str | None) -> str | None:
    """The code when it belongs to a seller; anything else is ignored, never echoed."""
    if not code:
        return None
    with get_deps().db.read() as s:
        return code if seller_by_code(s, code) is not None else None


def _cacheable(resp: Response, seconds: int = 60) -> Response:
    resp.headers["Cache-Control"] = f"public, max-age={seconds}"
    return resp


def buy_url(m: Material, code: str | None) -> str:
    return get_deps().urls.referral_path(code, m.id) if code else m.product_url


@bp.get("/m/<int:material_id>")
def share_page(material_id: int) -> Response:
    m = _live_or_404(material_id)
    code = _valid_ref(request.args.get("ref"))
    urls = get_deps().urls
    video, poster = video_urls(m)
    meta = link_meta(m, code)
    body = render_template(
        "public/share.html",
        m=m,
        code=code,
        meta=meta,
        photos=[i for i in range(len(m.photos)) if rendition_url(m, "display", i)],
        video=video,
        poster=poster,
        oembed_url=urls.absolute(urls.oembed(meta.url)),
        buy=buy_url(m, code),
        wechat=wechat_share(m, code),
        price_cents=copies.price_for_code(get_deps(), m, code),
    )
    return _cacheable(Response(body, mimetype="text/html"))


@bp.get("/embed/<int:material_id>")
def embed(material_id: int) -> Response:
    m = _live_or_404(material_id)
    code = _valid_ref(request.args.get("ref"))
    urls = get_deps().urls
    image = urls.card(m.id, code, "square") if code else rendition_url(m, "display")
    body = render_template(
        "public/embed.html",
        m=m,
        code=code,
        image=image,
        buy=buy_url(m, code),
        share=urls.absolute(urls.share(m.id, code)),
    )
    return _cacheable(Response(body, mimetype="text/html"))


@bp.get("/embed.js")
def embed_js() -> Response:
    resp = send_from_directory(current_app.static_folder, "embed.js", max_age=300)
    resp.headers["Content-Type"] = "text/javascript; charset=utf-8"
    # Storefronts load this from any origin; it is public code.
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


# ---------------------------------------------------------------- oEmbed


def _share_target(url: str) -> tuple[int, str | None]:
    """(material id, ref) from a Sucai share-page URL; NotFound for anything else."""
    base = urlsplit(get_deps().urls.public)
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "http://[::1": not a URL of ours either
        raise NotFound("not a Sucai share page URL", field="url", rule="not_found") from None
    match = SHARE_PATH_RE.match(parts.path)
    same_site = parts.scheme in ("http", "https") and parts.netloc.lower() == base.netloc.lower()
    if not (same_site and match and not parts.username and not parts.password):
        raise NotFound("not a Sucai share page URL", field="url", rule="not_found")
    ref = parse_qs(parts.query).get("ref", [None])[0]
    return int(match.group(1)), ref


def _limit(name: str) -> int | None:
    """The consumer's maximum for `name`, None when not given (oEmbed: never larger)."""
    raw = request.args.get(name, "")
    if not raw:
        return None
    digits = raw.lstrip("0")
    # ASCII digits only: "²".isdigit() is True but int("²") raises. A maximum of more than
    # nine digits is larger than anything of ours anyway (and int() refuses 4,301 of them).
    if not (raw.isascii() and raw.isdigit()) or not digits:
        raise Problem(f"{name} must be a positive whole number", field=name, rule="range")
    return None if len(digits) > 9 else int(digits)


def widget_size(has_code: bool, max_width: int | None, max_height: int | None) -> tuple[int, int]:
    """(width, height) of the widget iframe within the consumer's limits: its height follows
    from its width, so a low maxheight narrows it."""
    below = EMBED_BELOW_IMAGE[has_code]
    width = min(EMBED_WIDTH, max_width or EMBED_WIDTH)
    if max_height is not None:
        width = min(width, max_height - below)
    if width < MIN_EMBED_WIDTH:
        raise NotFound(
            f"no widget fits in maxwidth {max_width} x maxheight {max_height}",
            field="maxheight" if max_height is not None else "maxwidth",
            rule="too_small",
        )
    return width, width + below


def fit_within(size: tuple[int, int], max_width: int | None, max_height: int | None):
    """`size` scaled down (never up), aspect kept, to fit the consumer's limits."""
    w, h = size
    scale = min(1.0, (max_width or w) / w, (max_height or h) / h)
    return max(1, math.floor(w * scale)), max(1, math.floor(h * scale))


def oembed_html(m: Material, code: str | None, width: int, height: int) -> Markup:
    """The iframe, every attribute escaped (the title is ops' text, the URL carries a code)."""
    urls = get_deps().urls
    src = urls.absolute(urls.embed(m.id, code))
    return Markup(
        '<iframe src="{src}" width="{w}" height="{h}" title="{title}" frameborder="0" '
        'scrolling="no" loading="lazy" referrerpolicy="strict-origin-when-cross-origin" '
        'sandbox="allow-scripts allow-same-origin allow-popups '
        'allow-popups-to-escape-sandbox"></iframe>'
    ).format(src=src, w=width, h=height, title=m.title)


@bp.get("/oembed")
def oembed() -> Response:
    fmt = request.args.get("format", "json")
    if fmt != "json":
        raise NotImplementedFormat("only format=json is supported", field="format", rule="format")
    url = request.args.get("url", "")
    if not url:
        raise Problem("url is required", field="url", rule="required")
    material_id, ref = _share_target(url)
    m = _live_or_404(material_id)
    code = _valid_ref(ref)
    max_width, max_height = _limit("maxwidth"), _limit("maxheight")
    width, height = widget_size(code is not None, max_width, max_height)
    body = {
        "version": "1.0",
        "type": "rich",
        "title": m.title,
        "provider_name": "素材库 Sucai",
        "provider_url": get_deps().urls.absolute("/"),
        "cache_age": 300,
        "html": str(oembed_html(m, code, width, height)),
        "width": width,
        "height": height,
    }
    body |= _thumbnail(m, code, max_width, max_height)
    return _cacheable(jsonify(body), 300)


def _thumbnail(m: Material, code: str | None, max_width: int | None, max_height: int | None):
    """The square card for a seller's link (1080 x 1080), else the first photo: the thumb
    rendition when the display one is larger than the limits allow. Its declared size keeps
    within maxwidth x maxheight (oEmbed 2.3.4: the thumbnail must respect them too), scaled
    down with its aspect kept."""
    urls = get_deps().urls
    if code:
        url, size = urls.card(m.id, code, "square"), layout_size("square")
    else:
        found = _photo_thumbnail(m, max_width, max_height)
        if found is None:
            return {}
        url, size = found
    width, height = fit_within(size, max_width, max_height)
    return {
        "thumbnail_url": urls.absolute(url),
        "thumbnail_width": width,
        "thumbnail_height": height,
    }


def _photo_thumbnail(m: Material, max_width: int | None, max_height: int | None):
    """(url, size) of the first photo's largest rendition within the limits, else its
    smallest (to be declared scaled down)."""
    if not m.photos:
        return None
    made = (m.photos[0].rendition(name) for name in ("display", "thumb"))
    renditions = [r for r in made if r is not None and r.width and r.height]
    fitting = [
        r
        for r in renditions
        if fit_within((r.width, r.height), max_width, max_height) == (r.width, r.height)
    ]
    chosen = (fitting or renditions[-1:] or [None])[0]
    if chosen is None:
        return None
    return get_deps().urls.media(chosen.key), (chosen.width, chosen.height)
