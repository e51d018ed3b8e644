"""Photos: decide the type from content, check limits before decoding, make renditions."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, ImageOps

# Container signatures of what we accept; anything else is refused before a decoder runs.
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
VIDEO_CONTAINERS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
MAX_PIXELS = 40_000_000  # the default cap (SUCAI_MAX_PHOTO_PIXELS); callers pass their own
# JPEG qualities, declared once: what people see (display renditions, share cards), the small
# thumbnails, and the seller-independent card base, which is decoded again before stamping.
JPEG_QUALITY = 85
THUMB_QUALITY = 80
BASE_QUALITY = 95


class MediaRejected(ValueError):
    """The file breaks a rule; `rule` is a short machine-readable name for it."""

    def __init__(self, rule: str, detail: str):
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


def sniff(head: bytes) -> str | None:
    """The media type from the first bytes of a file, or None if it is not one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


@dataclass(frozen=True)
class PhotoInfo:
    mime: str
    width: int  # as displayed, after EXIF orientation
    height: int


def inspect_photo(path: str | Path, max_pixels: int) -> PhotoInfo:
    """Header-only check: the real format, and the size before a single pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=list(PHOTO_FORMATS)) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise MediaRejected(
                        "max_pixels", f"{w}×{h} is {w * h:,} pixels; the limit is {max_pixels:,}"
                    )
                orientation = im.getexif().get(0x0112, 1)
                mime = PHOTO_FORMATS[im.format]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRejected("max_pixels", str(exc)) from None
    except (Image.UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise MediaRejected("unreadable_image", f"not a readable JPEG/PNG/WebP: {exc}") from None
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return PhotoInfo(mime, w, h)


@dataclass(frozen=True)
class Rendered:
    name: str
    data: bytes
    mime: str
    width: int
    height: int


def photo_renditions(path: str | Path, display_side: int, thumb_side: int) -> list[Rendered]:
    """Upright, metadata-free JPEG renditions: `display` (~1080 px) and `thumb`."""
    with Image.open(path, formats=list(PHOTO_FORMATS)) as im:
        if im.format == "JPEG":
            # Decode at a reduced scale straight away when the target is much smaller.
            im.draft("RGB", (display_side, display_side))
        upright = ImageOps.exif_transpose(im)
        # exif_transpose returned a new image, so thumbnail() below may work in place.
        display = to_srgb(flatten_rgb(upright), im.info.get("icc_profile"))
    display.thumbnail((display_side, display_side), Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return [_encode("display", display, JPEG_QUALITY), _encode("thumb", thumb, THUMB_QUALITY)]


def flatten_rgb(im: Image.Image) -> Image.Image:
    """RGB on white: transparent PNG/WebP must not turn black in a JPEG. RGB comes back as is."""
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return im.convert("RGB")


def to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Phones shoot Display P3; the renditions carry no profile, so convert the pixels to sRGB
    or the colours come out dull everywhere the profile is dropped."""
    if not icc:
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, src, _SRGB, outputMode="RGB") or im
    except (ImageCms.PyCMSError, OSError):
        return im  # a broken profile: keep the pixels as they are


_SRGB = ImageCms.createProfile("sRGB")


def _encode(name: str, im: Image.Image, quality: int) -> Rendered:
    buf = io.BytesIO()
    # No exif=, icc_profile= or comment: the output carries no metadata at all.
    im.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    return Rendered(name, buf.getvalue(), "image/jpeg", im.width, im.height)
