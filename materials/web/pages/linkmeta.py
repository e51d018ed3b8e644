"""What a link preview shows: the OpenGraph and Twitter card meta of a material, shared by the
share page (/m/<id>) and the page link unfurlers get at /r/<code>/<id>.

A seller's link previews as the seller's og card (1200 x 630, summary_large_image); a link
without a code as the first photo's display rendition, with its own width and height. Either way
og:image:width/height are declared: Facebook and LinkedIn draw nothing large until they have
fetched and measured an image whose size they were not told.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, render_template

from materials.formatting import yuan
from materials.models import Material
from materials.sharing import copies
from materials.sharing.cards import layout_size
from materials.web.deps import get_deps
from materials.web.templating import rendition_url

OG_LAYOUT = "og"
DESCRIPTION_CHARS = 120


@dataclass(frozen=True)
class Image:
    url: str  # absolute
    width: int
    height: int
    alt: str


@dataclass(frozen=True)
class LinkMeta:
    title: str
    description: str
    url: str  # the canonical share page, absolute
    image: Image | None
    price: str  # yuan as "89.00", for product:price:amount


def og_image(m: Material, code: str | None) -> Image | None:
    urls = get_deps().urls
    if code and m.photos:  # a card needs a photo: without one it is a 404
        width, height = layout_size(OG_LAYOUT)
        url = urls.absolute(urls.card(m.id, code, OG_LAYOUT))
        return Image(url, width, height, f"{m.title}（商品卡片：价格与推荐码 {code}）")
    r = m.photos[0].rendition("display") if m.photos else None
    if r is None or not r.width or not r.height:
        return None
    return Image(urls.absolute(rendition_url(m, "display") or ""), r.width, r.height, m.title)


def link_meta(m: Material, code: str | None) -> LinkMeta:
    urls = get_deps().urls
    text = " ".join((m.copy or m.title).split())
    if len(text) > DESCRIPTION_CHARS:
        text = text[: DESCRIPTION_CHARS - 1] + "…"
    return LinkMeta(
        title=m.title,
        description=text,
        url=urls.absolute(urls.share(m.id, code)),
        image=og_image(m, code),
        price=yuan(copies.price_for_code(get_deps(), m, code)) or "",
    )


def preview_response(m: Material, code: str) -> Response:
    """The small page a link unfurler gets instead of the redirect: the meta and the card."""
    price_cents = copies.price_for_code(get_deps(), m, code)
    body = render_template(
        "public/preview.html", m=m, meta=link_meta(m, code), price_cents=price_cents
    )
    return Response(body, mimetype="text/html")
