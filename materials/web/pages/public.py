"""What anyone may open: the share page a forwarded link leads to, the iframe widget, embed.js
and oEmbed. All of it is stateless (no session read, no cookie set: see security.py) and shows
only live materials; the rest is 404."""

from __future__ import annotations

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
from materials.web.deps import get_deps
from materials.web.templating import rendition_url, video_urls, wechat_share

bp = Blueprint("public", __name__)
SHARE_PATH_RE = re.compile(r"^/m/([1-9][0-9]{0,17})/?$")
EMBED_WIDTH, EMBED_HEIGHT = 360, 560


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
    display = rendition_url(m, "display")
    og_image = urls.absolute(urls.card(m.id, code, "square")) if code else None
    if og_image is None and display:
        og_image = urls.absolute(display)
    canonical = urls.absolute(urls.share(m.id, code))
    body = render_template(
        "public/share.html",
        m=m,
        code=code,
        photos=[rendition_url(m, "display", i) for i in range(len(m.photos))],
        video=video,
        poster=poster,
        og_image=og_image,
        canonical=canonical,
        oembed_url=urls.absolute(urls.oembed(canonical)),
        buy=buy_url(m, code),
        wechat=wechat_share(m, code),
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


def _dimension(name: str, default: int) -> int:
    """Our size, shrunk to the consumer's maximum (oEmbed: never larger than asked)."""
    raw = request.args.get(name, "")
    if not raw:
        return default
    digits = raw.lstrip("0")
    # ASCII digits only: "²".isdigit() is True but int("²") raises. A maximum of more than
    # nine digits is larger than our size anyway (and int() refuses 4,301 of them).
    if not (raw.isascii() and raw.isdigit()) or not digits:
        raise Problem(f"{name} must be a positive whole number", field=name, rule="range")
    return default if len(digits) > 9 else min(default, int(digits))


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
    width = _dimension("maxwidth", EMBED_WIDTH)
    height = _dimension("maxheight", EMBED_HEIGHT)
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
    body |= _thumbnail(m, code)
    return _cacheable(jsonify(body), 300)


def _thumbnail(m: Material, code: str | None) -> dict:
    """The square card for a seller's link (1080×1080), else the first photo."""
    urls = get_deps().urls
    if code:
        url, width, height = urls.card(m.id, code, "square"), 1080, 1080
    else:
        r = m.photos[0].rendition("display") if m.photos else None
        if r is None:
            return {}
        url, width, height = rendition_url(m, "display"), r.width, r.height
    return {
        "thumbnail_url": urls.absolute(url),
        "thumbnail_width": width,
        "thumbnail_height": height,
    }
