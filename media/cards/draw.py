"""Drawing helpers shared by the steps: laid-out text, antialiased discs and pills."""

from functools import cache, partial

from PIL import Image, ImageDraw

from .fonts import get_font, has_glyph, text_width
from .layouts import Box, Text, boxed
from .textlayout import break_lines, strip_unrenderable

# Noto CJK's ideographic em box tops out 0.88 em above the baseline: centring that box in the
# line box centres Han text optically, and Latin and digits sit on the same baseline.
_EM_ASCENT = 0.88
_SUPERSAMPLE = 4


def printable(text: str) -> str:
    """`text` without what the font cannot draw (emoji would be tofu boxes)."""
    return strip_unrenderable(text, has_glyph).strip()


def lay_out(text: str, style: Text, width: int, max_lines: int | None = None) -> list[str]:
    limit = style.max_lines if max_lines is None else max_lines
    return break_lines(printable(text), width, partial(text_width, style.size, style.bold), limit)


def draw_lines(
    draw: ImageDraw.ImageDraw, lines: list[str], style: Text, box: Box, top: float
) -> None:
    """Lines of `style` from `top` down, aligned in `box` horizontally."""
    font = get_font(style.size, style.bold)
    x, anchor = {
        "left": (box.x, "ls"),
        "center": (box.x + box.w / 2, "ms"),
        "right": (box.right, "rs"),
    }[style.align]
    first = top + (style.line_px - style.size) / 2 + _EM_ASCENT * style.size
    for i, line in enumerate(lines):
        draw.text((x, first + i * style.line_px), line, font=font, fill=style.color, anchor=anchor)


def draw_in_box(draw: ImageDraw.ImageDraw, text: str, style: Text) -> None:
    """`text` laid out in the style's own box, centred there vertically."""
    box = boxed(style)
    lines = lay_out(text, style, box.w)
    draw_lines(draw, lines, style, box, box.y + (box.h - len(lines) * style.line_px) / 2)


@cache
def _rounded_mask(w: int, h: int, radius: int) -> Image.Image:
    """ImageDraw's own curves are jagged: draw big, scale down."""
    s = _SUPERSAMPLE
    big = Image.new("L", (w * s, h * s), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, w * s - 1, h * s - 1), radius=radius * s, fill=255)
    return big.resize((w, h), Image.Resampling.BOX)


def _fill_masked(canvas: Image.Image, box: Box, rgba: tuple[int, ...], radius: int) -> None:
    mask = _rounded_mask(box.w, box.h, radius)
    if len(rgba) == 4 and rgba[3] < 255:
        alpha = rgba[3]
        mask = mask.point(lambda v: v * alpha // 255)
    canvas.paste(tuple(rgba[:3]), (box.x, box.y, box.right, box.bottom), mask)


def pill(canvas: Image.Image, box: Box, rgba: tuple[int, ...]) -> None:
    _fill_masked(canvas, box, rgba, box.h // 2)


def disc(canvas: Image.Image, box: Box, rgb: tuple[int, ...]) -> None:
    _fill_masked(canvas, box, rgb, min(box.w, box.h) // 2)


def paste_rounded(
    canvas: Image.Image, image: Image.Image, xy: tuple[int, int], radius: int
) -> None:
    """`image` pasted with its corners rounded off by `radius`."""
    canvas.paste(image, xy, _rounded_mask(image.width, image.height, radius))
