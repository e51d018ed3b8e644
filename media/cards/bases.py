"""A card's seller-independent base, made from a stored original in a decoding child.

A stored original is decoded as an upload is: in a child process under the caller's limits
(media/sandbox.py, through media.images.bounded), after the same structure checks (scan count,
declared against present blocks), with Pillow's errors turned into the same rules. A file
that reached storage some other way (before those checks existed, or not through an upload)
then costs a card request at most those limits and ends as MediaRejected, never as a web
worker decoding for minutes.

The whole base is made in the child, not only the decode: the child sends back the base's
JPEG (a few hundred KB, and the base is stored as that JPEG anyway) where the decoded photo
would be 9 MB of pixels (2000x1500) to pickle across the pipe.
"""

from __future__ import annotations

import io
import os

from PIL import Image

from media.images import BASE_QUALITY, bounded, check_container, reading
from media.sandbox import Limits

from .content import CardContent
from .fonts import use_fonts
from .photo import contain, load_photo
from .pipeline import render_base


def base_jpeg(
    path: str | os.PathLike[str],
    layout: str | None,
    content: CardContent,
    side: int,
    *,
    max_pixels: int,
    max_scans: int,
    font: str | None,
    limits: Limits,
) -> bytes:
    """The base of `layout` (None: the 9-grid photo, fitted within `side`) for the photo at
    `path`, as the JPEG that is stored; `font` is the configured card font (None: fontconfig's).
    Raises MediaRejected with the rule the file breaks (`too_costly` for a breached limit)."""
    args = (str(path), layout, content, side, max_pixels, max_scans, font)
    return bounded(_base_jpeg, *args, limits=limits)


def encode_base(image: Image.Image) -> bytes:
    """Quality 95 without chroma subsampling: ~49 dB PSNR on the final card against a lossless
    base, at a fifth of a PNG's encode time (materials/sharing/cards.py)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=BASE_QUALITY, subsampling=0)
    return out.getvalue()


def decode_base(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as image:
        image.load()
        return image.convert("RGB")


# ------------------------------------------------------------------ run in the decoding child


def _base_jpeg(
    path: str, layout: str | None, content: CardContent, *rest: int | str | None
) -> bytes:
    side, max_pixels, max_scans, font = rest  # base_jpeg's, in its order
    check_container(path, max_scans)
    use_fonts(font)
    with reading():
        photo = load_photo(path, side, max_pixels)
    base = contain(photo, side) if layout is None else render_base(photo, content, layout)
    return encode_base(base)
