"""Share cards: a pure function of (material content, photo, layout, seller, renderer version).

No Flask and no database in here: callers hand in photos and strings and get images and JPEG
bytes back. See DESIGN.md "Share cards".
"""

from .bases import base_jpeg, decode_base, encode_base
from .codes import NoCode, PictureCode, QrCode, ScanCode
from .content import CardContent, format_price
from .fonts import FontNotFoundError, configure_fonts, find_cjk_font, use_fonts
from .layouts import LAYOUTS, PHOTO_SIDE, QR_LAYOUTS, Layout
from .photo import encode_jpeg, load_photo
from .pipeline import RENDERER_VERSION, render_base, render_card, render_photo_card

__all__ = [
    "LAYOUTS",
    "PHOTO_SIDE",
    "QR_LAYOUTS",
    "RENDERER_VERSION",
    "CardContent",
    "FontNotFoundError",
    "Layout",
    "NoCode",
    "PictureCode",
    "QrCode",
    "ScanCode",
    "base_jpeg",
    "configure_fonts",
    "decode_base",
    "encode_base",
    "encode_jpeg",
    "find_cjk_font",
    "format_price",
    "load_photo",
    "render_base",
    "render_card",
    "render_photo_card",
    "use_fonts",
]
