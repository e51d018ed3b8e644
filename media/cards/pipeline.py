"""Rendering as ordered lists of small steps over a context.

base  (once per material version and layout): canvas, fit, brand, title, copy, price, footer
card  (per seller, cheap): copy of the base, scannable code, avatar, seller stamp, encode
photo (per seller, the 9-grid): fit within, QR plate, code label, encode

The card's code is data (codes.py): the QR of the referral link, or a picture another provider
made, as the layout says (Layout.scan_code).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from PIL import Image, ImageDraw

from .codes import ScanCode, as_scan_code, tile_radius
from .content import CardContent, format_price
from .draw import disc, draw_in_box, draw_lines, lay_out, paste_rounded, pill, printable
from .fonts import get_font, text_width
from .layouts import CODE_LABEL, LAYOUTS, PHOTO_STAMP, Box, Layout, Text, boxed
from .photo import contain, cover, encode_jpeg
from .qr import qr_modules, scaled

# Part of every card's cache key: bump it whenever a change under media/cards/ (steps,
# layouts, fonts) alters a rendered pixel, so cached cards are re-rendered, never mixed.
RENDERER_VERSION = "2"


@dataclass
class Canvas:
    """What every pipeline carries: the image being drawn and the bytes it ends as."""

    canvas: Image.Image = field(init=False)
    draw: ImageDraw.ImageDraw = field(init=False)
    jpeg: bytes = field(init=False, default=b"")

    def use(self, canvas: Image.Image) -> None:
        self.canvas, self.draw = canvas, ImageDraw.Draw(canvas)


@dataclass
class BaseContext(Canvas):
    layout: Layout
    photo: Image.Image
    content: CardContent
    cursor: int = 0  # y where the next block of flowing text starts


@dataclass
class CardContext(Canvas):
    layout: Layout
    base: Image.Image
    seller_name: str
    code: str
    scan: ScanCode


@dataclass
class PhotoContext(Canvas):
    photo: Image.Image
    seller_name: str
    code: str
    url: str
    max_side: int
    plate_x: int = 0  # left edge of the QR plate: the code label must end before it
    author: str = ""  # a try-out post's author, credited top-right


C = TypeVar("C", bound=Canvas)


def run(steps: Sequence[Callable[[C], None]], ctx: C) -> C:
    for step in steps:
        step(ctx)
    return ctx


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown card layout {name!r}; known: {', '.join(LAYOUTS)}") from None


def encode(ctx: Canvas) -> None:
    ctx.jpeg = encode_jpeg(ctx.canvas)


def _display_name(seller_name: str) -> str:
    return printable(seller_name) or "好物分享"


# -- base: the seller-independent part ------------------------------------------------------


def new_canvas(ctx: BaseContext) -> None:
    ctx.use(Image.new("RGB", ctx.layout.size, ctx.layout.background))


def fit_photo(ctx: BaseContext) -> None:
    box = ctx.layout.photo
    ctx.canvas.paste(cover(ctx.photo, (box.w, box.h)), (box.x, box.y))


def brand(ctx: BaseContext) -> None:
    """The brand on a white pill over the photo's top-left corner, when there is one."""
    _photo_pill(ctx, ctx.layout.brand, ctx.content.brand)


AUTHOR_LABEL = "作者"


def author(ctx: BaseContext) -> None:
    """A try-out post's author on a white pill over the photo's bottom-left corner."""
    name = printable(ctx.content.author)
    if name and ctx.layout.author is not None:
        _photo_pill(ctx, ctx.layout.author, f"{AUTHOR_LABEL} {name}")


def _photo_pill(ctx: BaseContext, style: Text, text: str) -> None:
    """One line of `text` on a white pill at the left of the style's box, if there is text."""
    box = boxed(style)
    pad = round(style.size * 0.75)
    lines = lay_out(text, style, box.w - 2 * pad, max_lines=1)
    if not lines[0]:
        return
    width = round(get_font(style.size, style.bold).getlength(lines[0])) + 2 * pad
    pill(ctx.canvas, Box(box.x, box.y, width, box.h), (255, 255, 255, 230))
    draw_lines(
        ctx.draw,
        lines,
        style,
        Box(box.x + pad, box.y, width, box.h),
        box.y + (box.h - style.line_px) // 2,
    )


def title(ctx: BaseContext) -> None:
    style, column = ctx.layout.title, ctx.layout.column
    lines = lay_out(ctx.content.title, style, column.w)
    draw_lines(ctx.draw, lines, style, column, column.y)
    ctx.cursor = column.y + len(lines) * style.line_px


def copy_text(ctx: BaseContext) -> None:
    """The copy flows under the title and gets every line the price leaves free."""
    layout, style = ctx.layout, ctx.layout.copy
    top = ctx.cursor + layout.gap
    room = (boxed(layout.price).y - layout.gap - top) // style.line_px
    if room > 0:
        lines = lay_out(ctx.content.copy, style, layout.column.w, min(style.max_lines, room))
        draw_lines(ctx.draw, lines, style, layout.column, top)


def price(ctx: BaseContext) -> None:
    """¥ small, yuan big, decimals small, on one baseline; the original price struck through
    beside it."""
    style, box = ctx.layout.price, boxed(ctx.layout.price)
    baseline = box.bottom - round(style.size * 0.18)
    yuan, cents = format_price(ctx.content.price_cents)[1:].split(".")
    x = float(box.x)
    for part, scale, kern in (("¥", 0.5, 0.06), (yuan, 1.0, 0.0), ("." + cents, 0.5, 0.0)):
        font = get_font(round(style.size * scale), style.bold)
        ctx.draw.text((x, baseline), part, font=font, fill=style.color, anchor="ls")
        x += font.getlength(part) + style.size * kern
    if ctx.content.shows_original_price:
        _struck_price(ctx, round(x + style.size * 0.3), baseline, box.right)


def _struck_price(ctx: BaseContext, x: int, baseline: int, right: int) -> None:
    style = ctx.layout.original_price
    text = format_price(ctx.content.original_price_cents or 0)
    font = get_font(style.size, style.bold)
    if x + font.getlength(text) > right:
        return  # a price so long the original no longer fits: better left out than clipped
    ctx.draw.text((x, baseline), text, font=font, fill=style.color, anchor="ls")
    y = baseline - round(style.size * 0.36)
    ctx.draw.line(
        (x, y, x + round(font.getlength(text)), y), fill=style.color, width=max(2, style.size // 14)
    )


def footer(ctx: BaseContext) -> None:
    """The panel the seller stamp and code go on, and the code's caption (the same for
    everyone)."""
    box = ctx.layout.footer
    ctx.draw.rectangle((box.x, box.y, box.right - 1, box.bottom - 1), fill=ctx.layout.footer_color)
    if ctx.layout.scan_caption is not None:
        draw_in_box(ctx.draw, ctx.layout.scan_hint, ctx.layout.scan_caption)


BASE_STEPS = (new_canvas, fit_photo, brand, author, title, copy_text, price, footer)


# -- card: per seller -----------------------------------------------------------------------


def copy_base(ctx: CardContext) -> None:
    if ctx.base.size != ctx.layout.size:
        raise ValueError(
            f"base is {ctx.base.size}; layout {ctx.layout.name!r} is {ctx.layout.size}"
        )
    # Draw on a copy: the cached base is shared by every seller's card.
    ctx.use(ctx.base.copy() if ctx.base.mode == "RGB" else ctx.base.convert("RGB"))


def scan_code(ctx: CardContext) -> None:
    box = ctx.layout.scan
    if box is None:  # a card with no code (the link preview's)
        return
    tile, radius = ctx.scan.tile(min(box.w, box.h))
    xy = (box.x + (box.w - tile.width) // 2, box.y + (box.h - tile.height) // 2)
    paste_rounded(ctx.canvas, tile, xy, radius)


def avatar(ctx: CardContext) -> None:
    """A coloured disc with the seller's first character: WeChat-like, no avatar to fetch."""
    box = ctx.layout.avatar
    disc(ctx.canvas, box, ctx.layout.accent)
    font = get_font(round(box.w * 0.46), bold=True)
    ctx.draw.text(
        (box.x + box.w / 2, box.y + box.h / 2),
        _display_name(ctx.seller_name)[0],
        font=font,
        fill=(255, 255, 255),
        anchor="mm",
    )


def seller_stamp(ctx: CardContext) -> None:
    draw_in_box(ctx.draw, _display_name(ctx.seller_name), ctx.layout.seller_name)
    draw_in_box(ctx.draw, f"{CODE_LABEL} {ctx.code}", ctx.layout.code)


CARD_STEPS = (copy_base, scan_code, avatar, seller_stamp, encode)


# -- photo: the stamped 9-grid photo --------------------------------------------------------


def fit_within(ctx: PhotoContext) -> None:
    ctx.use(contain(ctx.photo, ctx.max_side))


def _stamp_px(ctx: PhotoContext, key: str) -> int:
    return max(1, round(min(ctx.canvas.size) * PHOTO_STAMP[key]))


def qr_plate(ctx: PhotoContext) -> None:
    """The QR in the bottom-right corner on its own quiet zone, which is the white plate: a
    margin around that would only cover more of the photo."""
    margin = _stamp_px(ctx, "margin")
    modules = qr_modules(ctx.url)
    code = scaled(modules, modules.width * _module_px(ctx))
    x, y = ctx.canvas.width - margin - code.width, ctx.canvas.height - margin - code.height
    paste_rounded(ctx.canvas, code, (x, y), tile_radius(code, modules))
    ctx.plate_x = x


def _module_px(ctx: PhotoContext) -> int:
    # Never under 3 px, so a small photo opened full screen still scans.
    return max(3, round(max(ctx.canvas.size) * PHOTO_STAMP["module"]))


def code_label(ctx: PhotoContext) -> None:
    """The seller and code ("小美 · 推荐码 AB12CD") in white on a dark pill, bottom-left. A long
    name is shortened, never the code: the code is what attributes the sale."""
    margin = _stamp_px(ctx, "margin")
    style = Text(max(12, _stamp_px(ctx, "text")), (255, 255, 255), line_height=1.6)
    pad = round(style.size * 0.7)
    code = f" · {CODE_LABEL} {ctx.code}"
    room = ctx.plate_x - 2 * margin - 2 * pad - text_width(style.size, style.bold, code)
    name = lay_out(_display_name(ctx.seller_name), style, max(0, round(room)), max_lines=1)[0]
    line = name + code
    width = round(text_width(style.size, style.bold, line)) + 2 * pad
    box = Box(margin, ctx.canvas.height - margin - style.line_px, width, style.line_px)
    pill(ctx.canvas, box, PHOTO_STAMP["label"])
    draw_lines(ctx.draw, [line], style, Box(box.x + pad, box.y, width, box.h), box.y)


def author_label(ctx: PhotoContext) -> None:
    """A try-out post's author ("作者 小李") on the same dark pill, top-right: away from the
    code label and the QR, and from the number a gallery puts on a photo's top-left."""
    name = printable(ctx.author)
    if not name:
        return
    margin = _stamp_px(ctx, "margin")
    style = Text(max(12, _stamp_px(ctx, "text")), (255, 255, 255), line_height=1.6)
    pad = round(style.size * 0.7)
    room = ctx.canvas.width - 2 * margin - 2 * pad
    line = lay_out(f"{AUTHOR_LABEL} {name}", style, max(0, room), max_lines=1)[0]
    width = round(text_width(style.size, style.bold, line)) + 2 * pad
    box = Box(ctx.canvas.width - margin - width, margin, width, style.line_px)
    pill(ctx.canvas, box, PHOTO_STAMP["label"])
    draw_lines(ctx.draw, [line], style, Box(box.x + pad, box.y, width, box.h), box.y)


PHOTO_STEPS = (fit_within, qr_plate, code_label, author_label, encode)


# -- entry points ---------------------------------------------------------------------------


def render_base(photo: Image.Image, content: CardContent, layout: str) -> Image.Image:
    """The seller-independent part of a card (photo, brand, title, copy, price, footer panel).
    Render it once per material version and layout; stamp it per seller with render_card."""
    return run(BASE_STEPS, BaseContext(get_layout(layout), photo, content)).canvas


def render_card(
    base: Image.Image, layout: str, seller_name: str, code: str, scan: ScanCode | str
) -> bytes:
    """A seller's card as JPEG bytes: `base` plus the scannable code `scan`, the seller's name
    and referral code. `scan` must be of the kind the layout takes (Layout.scan_code); a plain
    string is a QR code encoding exactly it. `base` itself is left untouched."""
    spec, scan = get_layout(layout), as_scan_code(scan)
    if scan.kind != spec.scan_code:
        raise ValueError(f"layout {layout!r} takes a {spec.scan_code!r} code, not {scan.kind!r}")
    return run(CARD_STEPS, CardContext(spec, base, seller_name, code, scan)).jpeg


def render_photo_card(
    photo: Image.Image,
    seller_name: str,
    code: str,
    url: str,
    max_side: int = 1080,
    author: str = "",
) -> bytes:
    """One 9-grid photo fitted within `max_side`, with a small QR for `url` and a discreet code
    label (and the author of a try-out post, top-right), as JPEG bytes."""
    ctx = PhotoContext(photo, seller_name, code, url, max_side, author=author)
    return run(PHOTO_STEPS, ctx).jpeg
