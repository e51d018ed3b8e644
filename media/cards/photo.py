"""Getting a photo in (decoded no bigger than needed) and a card out (JPEG bytes)."""

import io
import os
from typing import BinaryIO

from PIL import Image

from media.images import (
    JPEG_QUALITY,
    MAX_PIXELS,
    PHOTO_FORMATS,
    MediaRejected,
    flatten_rgb,
    to_srgb,
    upright,
)

# The formats and the pixel cap are the upload's (media/images.py): a card is only ever made
# from a photo that passed them; the app passes its configured cap as `max_pixels`.
MAX_SOURCE_PIXELS = MAX_PIXELS
# BICUBIC is antialiased on downscale like LANCZOS (Pillow widens the kernel) and, on a
# 2000 -> 1080 fit, about 25% cheaper; at card sizes the two are hard to tell apart.
RESAMPLE = Image.Resampling.BICUBIC


def load_photo(
    path_or_file: str | os.PathLike[str] | BinaryIO, max_side: int, max_pixels: int | None = None
) -> Image.Image:
    """Decode a photo upright, in RGB, reduced cheaply for boxes up to `max_side` px square.

    Both sides stay >= max_side (when the source has them), so fitting into any such box is one
    good resample from here; and the shorter side is brought under 2 * max_side by DCT scaling
    (JPEG `draft()`, nearly free) or an integer `reduce()`. The size is checked before decoding.
    """
    with Image.open(path_or_file, formats=list(PHOTO_FORMATS)) as image:
        if image.width * image.height > (max_pixels or MAX_SOURCE_PIXELS):
            raise MediaRejected("max_pixels", f"photo too large: {image.width}x{image.height}")
        if image.format == "JPEG":
            # Picks the largest 1/2, 1/4, 1/8 scale that keeps both sides >= max_side.
            image.draft("RGB", (max_side, max_side))
        image.load()
        # A copy when there is nothing to turn (a few ms at card sizes); none of its EXIF kept.
        image = upright(image)
        # Phone photos are often Display P3: convert, as the renditions are, or colours go dull.
        photo = to_srgb(flatten_rgb(image), image.info.get("icc_profile"))
    factor = min(photo.size) // max_side
    return photo.reduce(factor) if factor >= 2 else photo


def cover(photo: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop `photo` to fill `size` exactly, resampling only the kept region."""
    photo = flatten_rgb(photo)
    (w, h), (tw, th) = photo.size, size
    scale = max(tw / w, th / h)
    cw, ch = tw / scale, th / scale
    left, top = (w - cw) / 2, (h - ch) / 2
    return photo.resize(size, RESAMPLE, box=(left, top, left + cw, top + ch), reducing_gap=3.0)


def contain(photo: Image.Image, max_side: int) -> Image.Image:
    """`photo` scaled down (never up) to fit in a `max_side` square; always a new image."""
    photo = flatten_rgb(photo)
    scale = max_side / max(photo.size)
    if scale >= 1:
        return photo.copy()
    size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    return photo.resize(size, RESAMPLE, reducing_gap=3.0)


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """Baseline JPEG bytes, no metadata (nothing from the source photo's EXIF survives)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
