"""Finding a real CJK font, and loading each size of it once per process."""

import os
import shutil
import subprocess
from functools import cache, lru_cache

from PIL import Image, ImageDraw, ImageFont

# ':lang=zh' is a trap: fontconfig answers DejaVuSans for it, which has no Han glyphs (tofu).
# ':lang=zh-cn' answers the Simplified Chinese face, e.g. NotoSansCJK-Regular.ttc index 2
# (index 0 of that .ttc is the Japanese face, whose glyph forms differ for many Han characters).
_PATTERN = ":lang=zh-cn"
_BOLD_PATTERN = ":lang=zh-cn:weight=bold"

_configured: dict[str, str | None] = {"regular": None, "bold": None}


class FontNotFoundError(LookupError):
    """No usable font with Simplified Chinese glyphs."""


def _parse_configured(configured_path: str) -> tuple[str, int]:
    """Accept "path" or "path|index" (the shape `fc-match -f '%{file}|%{index}'` prints)."""
    path, _, index = configured_path.partition("|")
    if not os.path.isfile(path):
        raise FontNotFoundError(f"configured card font {path!r} does not exist")
    return path, int(index or 0)


def _fc_match(pattern: str) -> tuple[str, int] | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    out = subprocess.run(
        [fc_match, "-f", "%{file}|%{index}|%{lang}", pattern],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    path, _, rest = out.partition("|")
    index, _, langs = rest.partition("|")
    # fc-match always answers something; only trust a face that really covers zh-cn.
    if not path or "zh-cn" not in langs.split("|"):
        return None
    return path, int(index or 0)


def find_cjk_font(configured_path: str | None = None, *, bold: bool = False) -> tuple[str, int]:
    """(path, face index) of a font with Simplified Chinese glyphs.

    A configured path ("path" or "path|index") wins; otherwise fontconfig is asked for
    ':lang=zh-cn' (bold weight when `bold`). Raises FontNotFoundError with a fix to try."""
    if configured_path:
        return _parse_configured(configured_path)
    found = _fc_match(_BOLD_PATTERN if bold else _PATTERN)
    if found is None and bold:
        found = _fc_match(_PATTERN)
    if found is None:
        raise FontNotFoundError(
            "no font with Simplified Chinese glyphs found through fontconfig (':lang=zh-cn'); "
            "install fonts-noto-cjk or configure a font path"
        )
    return found


def configure_fonts(regular: str | None = None, bold: str | None = None) -> None:
    """Use these font files ("path" or "path|index") instead of asking fontconfig. A bold face
    defaults to the regular one when only that is configured."""
    _configured.update(regular=regular, bold=bold or regular)
    _font_file.cache_clear()
    get_font.cache_clear()
    has_glyph.cache_clear()
    _notdef_bitmap.cache_clear()
    text_width.cache_clear()


def use_fonts(regular: str | None) -> None:
    """configure_fonts(regular) unless that is the configuration already (None: fontconfig's
    answer), so the loaded sizes stay cached: call it before every render."""
    if _configured["regular"] != regular:
        configure_fonts(regular=regular)


@cache
def _font_file(bold: bool) -> tuple[str, int]:
    return find_cjk_font(_configured["bold" if bold else "regular"], bold=bold)


@cache
def get_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The card font at `size` px, loaded once per process and size.

    Shared by threads: FreeType faces are not thread-safe, but on the GIL build Pillow holds the
    GIL while it uses one (free-threaded Pillow >= 12.2 locks each face itself)."""
    path, index = _font_file(bold)
    # Han text needs no shaping; the basic engine measures and draws faster than raqm.
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=65536)
def text_width(size: int, bold: bool, text: str) -> float:
    """Advance width of `text`: card copy repeats the same few thousand characters."""
    return get_font(size, bold).getlength(text)


def _glyph_bitmap(char: str) -> bytes:
    image = Image.new("L", (48, 48))
    ImageDraw.Draw(image).text((8, 8), char, font=get_font(32), fill=255)
    return image.tobytes()


@cache
def _notdef_bitmap() -> bytes:
    # U+10FFFD is a private-use code point no card font maps: it draws the .notdef box.
    return _glyph_bitmap("\U0010fffd")


@cache
def has_glyph(char: str) -> bool:
    """Whether the card font draws `char` as something other than its missing-glyph box."""
    return _glyph_bitmap(char) != _notdef_bitmap()
