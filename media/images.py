"""Photos: decide the type from content, check limits before decoding, make renditions.

Every decode of an uploaded file runs in a child process under the CPU, memory and wall-clock
limits the caller passes (media/sandbox.py): nothing a crafted file does inside Pillow can hold
a web or worker thread longer than that.
"""

from __future__ import annotations

import io
import math
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image, ImageCms

from media import sandbox
from media.sandbox import Limits

T = TypeVar("T")

# Container signatures of what we accept; anything else is refused before a decoder runs.
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Pillow names a JPEG that carries more pictures after the first (phones' MPO) "MPO"; it is
# opened as a JPEG and read as one (the first picture).
_FORMAT_MIME = {**PHOTO_FORMATS, "MPO": "image/jpeg"}
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

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in the decoding child and re-raised in the parent: it must survive pickling.
        return (type(self), (self.rule, self.detail))


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


def inspect_photo(
    path: str | Path, max_pixels: int, *, limits: Limits, max_scans: int
) -> PhotoInfo:
    """The real format and size, checked before decoding; then the whole file decoded, so one
    that stops early or declares more than it holds is refused now, not in the worker."""
    return bounded(_inspected, str(path), max_pixels, max_scans, limits=limits)


@dataclass(frozen=True)
class Rendered:
    name: str
    data: bytes
    mime: str
    width: int
    height: int


def photo_renditions(
    path: str | Path, display_side: int, thumb_side: int, *, limits: Limits, max_scans: int
) -> list[Rendered]:
    """Upright, metadata-free JPEG renditions: `display` (~1080 px) and `thumb`."""
    return bounded(_rendered, str(path), display_side, thumb_side, max_scans, limits=limits)


def bounded(fn: Callable[..., T], *args: Any, limits: Limits) -> T:
    """`fn(*args)` in a decoding child (media/sandbox.py); a breached limit is `too_costly`."""
    try:
        return sandbox.run(fn, *args, limits=limits)
    except sandbox.LimitExceeded as exc:
        raise MediaRejected("too_costly", f"decoding {exc}") from None


# ------------------------------------------------------------------ run in the decoding child


def _inspected(path: str, max_pixels: int, max_scans: int) -> PhotoInfo:
    check_container(path, max_scans)
    with reading(), Image.open(path, formats=list(PHOTO_FORMATS)) as im:
        w, h = im.size
        if w * h > max_pixels:
            raise MediaRejected(
                "max_pixels", f"{w}×{h} is {w * h:,} pixels; the limit is {max_pixels:,}"
            )
        orientation = exif_orientation(im.info.get("exif"))
        mime = _FORMAT_MIME[im.format]
        if mime == "image/jpeg":
            # libjpeg still reads every scan at 1/8 scale, and skips most of the IDCT.
            im.draft("RGB", (math.ceil(w / 8), math.ceil(h / 8)))
        im.load()
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    return PhotoInfo(mime, w, h)


def _rendered(path: str, display_side: int, thumb_side: int, max_scans: int) -> list[Rendered]:
    # Checked again: the stored file may predate these checks, or come from elsewhere.
    check_container(path, max_scans)
    with reading(), Image.open(path, formats=list(PHOTO_FORMATS)) as im:
        if im.format in ("JPEG", "MPO"):
            # Decode at a reduced scale straight away when the target is much smaller.
            im.draft("RGB", (display_side, display_side))
        # upright() made a new image, so thumbnail() below may work in place.
        display = to_srgb(flatten_rgb(upright(im)), im.info.get("icc_profile"))
    display.thumbnail((display_side, display_side), Image.Resampling.LANCZOS)
    thumb = display.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return [_encode("display", display, JPEG_QUALITY), _encode("thumb", thumb, THUMB_QUALITY)]


class reading:
    """Pillow's ways of saying a file is bad, turned into MediaRejected rules (a context
    manager, around the decode)."""

    def __enter__(self) -> None:
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error", Image.DecompressionBombWarning)

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> None:
        self._warnings.__exit__(kind, exc, tb)
        if exc is None or isinstance(exc, MediaRejected):
            return
        rejected = _as_rejected(exc)
        if rejected is not None:
            raise rejected from None


def _as_rejected(exc: BaseException) -> MediaRejected | None:
    text = str(exc)
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return MediaRejected("max_pixels", text)
    if isinstance(exc, ValueError) and _INFLATE_LIMIT.search(text):
        # PNG zTXt/iTXt/iCCP chunks that inflate past Pillow's limit (a zlib bomb).
        return MediaRejected("decompression_bomb", f"a compressed chunk inflates too far: {text}")
    if isinstance(exc, OSError) and "truncated" in text:
        return MediaRejected("truncated", "the file ends before its image data does")
    if isinstance(exc, Image.UnidentifiedImageError | OSError | SyntaxError | EOFError):
        return MediaRejected("unreadable_image", f"not a readable JPEG/PNG/WebP: {text}")
    return None


# Pillow 11 says "Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK" and "Too much
# memory used in text chunks"; later versions "Decompressed Data Too Large".
_INFLATE_LIMIT = re.compile(r"decompressed data too large|too much memory used", re.I)


def check_container(path: str, max_scans: int) -> None:
    """Structure checks that need no decoding, made before Pillow opens the file."""
    data = Path(path).read_bytes()  # at most SUCAI_MAX_PHOTO_BYTES, in the child
    kind = sniff(data[:16])
    if kind == "image/jpeg":
        check_jpeg(data, max_scans)
    # libwebp says only "could not create decoder object" for a cut file: say what is wrong.
    elif kind == "image/webp" and len(data) < struct.unpack_from("<I", data, 4)[0] + 8:
        raise MediaRejected("truncated", "the file ends before its image data does")


# ------------------------------------------------------------------ orientation


_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def upright(im: Image.Image) -> Image.Image:
    """A new image: `im` turned as its EXIF Orientation says, its metadata dropped (it no longer
    describes the pixels). Instead of ImageOps.exif_transpose, which re-serialises the whole
    EXIF: a crafted IFD pointing into the following APP1 segments made that take 70 s of CPU
    and 700 MB."""
    turn = _TURNS.get(exif_orientation(im.info.get("exif")))
    # A copy even with nothing to turn: Pillow caches the EXIF it read on the image itself.
    out = im.transpose(turn) if turn is not None else im.copy()
    for key in ("exif", "xmp", "XML:com.adobe.xmp"):
        out.info.pop(key, None)
    return out


def exif_orientation(exif: bytes | None) -> int:
    """The Orientation tag (1–8) read from IFD0's entry table alone; 1 if absent or broken.
    Reads 12 bytes per entry and no tag's data, so its cost is bounded by the entry count."""
    if exif and exif.startswith(b"Exif\0\0"):
        exif = exif[6:]
    order = {b"II": "<", b"MM": ">"}.get((exif or b"")[:2])
    if order is None or len(exif) < 8:
        return 1
    (ifd,) = struct.unpack_from(order + "I", exif, 4)
    if ifd + 2 > len(exif):
        return 1
    (count,) = struct.unpack_from(order + "H", exif, ifd)
    for at in range(ifd + 2, min(ifd + 2 + 12 * count, len(exif) - 11), 12):
        tag, kind, n, value = struct.unpack_from(order + "HHIH", exif, at)
        if tag == 0x0112 and kind == 3 and n == 1:  # one SHORT, stored in the entry itself
            return value if 1 <= value <= 8 else 1
    return 1


# ------------------------------------------------------------------ JPEG structure


@dataclass(frozen=True)
class JpegFrame:
    marker: int  # SOF0 (baseline), SOF1 (extended), SOF2 (progressive)
    width: int
    height: int
    sampling: dict[int, tuple[int, int]]  # component id -> (h, v) sampling factors


@dataclass(frozen=True)
class JpegScan:
    components: tuple[int, ...]
    ss: int  # spectral selection start: 0 means the scan codes DC coefficients
    se: int
    ah: int  # successive approximation high bit: 0 on a coefficient's first pass
    data_bits: int  # entropy-coded data, without byte stuffing and restart markers


_HUFFMAN_SOF = {0xC0, 0xC1, 0xC2}
# Lossless, hierarchical and arithmetic-coded JPEGs: no camera makes them, no browser shows them.
_OTHER_SOF = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
# The next marker: 0xFF (and fill bytes) before a byte that is neither stuffing (00) nor RSTn.
# Spelled with a literal first byte, not `\xff+`: re then skips to each 0xFF at C speed (1.6
# against 21 ms across the 1.8 MB of a 12 MP photo's entropy data), with the same matches.
_MARKER = re.compile(rb"\xff\xff*[^\x00\xff\xd0-\xd7]")
_RESTART = re.compile(rb"\xff[\xd0-\xd7]")


def check_jpeg(data: bytes, max_scans: int) -> None:
    """Refuse, before any decoding, a JPEG with more than `max_scans` scans (each costs a pass
    over every block: 30,000 of them pinned a worker for minutes) or one whose scans cannot
    hold the blocks its frame declares (libjpeg fills the missing ones with grey)."""
    frame, scans = jpeg_layout(data, max_scans)
    if frame is None or not scans:
        return  # nothing to judge: the decoder will refuse the file
    _check_coverage(frame, scans)


def jpeg_layout(data: bytes, max_scans: int) -> tuple[JpegFrame | None, list[JpegScan]]:
    """The frame header and every scan up to EOI, walking marker segments (never decoding)."""
    frame, scans, pos = None, [], 2
    while (found := _MARKER.search(data, pos)) is not None:
        marker, pos = data[found.end() - 1], found.end()
        if marker == 0xD9:  # EOI: libjpeg reads no further
            break
        if marker == 0x01 or pos + 2 > len(data):  # TEM has no length; or a cut file
            continue
        (length,) = struct.unpack_from(">H", data, pos)
        body, pos = data[pos + 2 : pos + length], pos + length
        if marker in _HUFFMAN_SOF or marker in _OTHER_SOF:
            frame = _frame(marker, body)
        elif marker == 0xDA:
            end = _MARKER.search(data, pos)
            stop = end.start() if end else len(data)
            scans.append(_scan(body, data[pos:stop]))
            pos = stop  # the next marker is that one: never scan the entropy data twice
            if len(scans) > max_scans:
                raise MediaRejected(
                    "max_scans", f"the JPEG has more than {max_scans} scans; each costs a pass"
                )
    return frame, scans


def _frame(marker: int, body: bytes) -> JpegFrame:
    if marker in _OTHER_SOF:
        raise MediaRejected("type", "lossless, hierarchical or arithmetic-coded JPEG")
    if len(body) < 6:
        raise MediaRejected("unreadable_image", "a JPEG frame header is cut short")
    height, width, count = struct.unpack_from(">HHB", body, 1)
    sampling = {}
    for at in range(6, min(6 + 3 * count, len(body) - 2), 3):
        sampling[body[at]] = (body[at + 1] >> 4 or 1, body[at + 1] & 15 or 1)
    if not (width and height and sampling):
        raise MediaRejected("unreadable_image", "a JPEG frame without size or components")
    return JpegFrame(marker, width, height, sampling)


def _scan(header: bytes, entropy: bytes) -> JpegScan:
    count = header[0] if header else 0
    components = tuple(header[1 + 2 * i] for i in range(count) if 2 + 2 * i < len(header))
    ss, se, a = (header[1 + 2 * count : 4 + 2 * count] + b"\0\0\0")[:3]
    # A stuffed 0xFF00 carries one byte of data; an RSTn marker carries none.
    useful = len(entropy) - entropy.count(b"\xff\x00") - 2 * len(_RESTART.findall(entropy))
    return JpegScan(components, ss, se, a >> 4, 8 * max(0, useful))


def _check_coverage(frame: JpegFrame, scans: list[JpegScan]) -> None:
    """A lower bound, so it never refuses a whole file: with Huffman coding every block costs
    at least one code (>= 1 bit) for its DC difference on the DC's first pass, and in a
    baseline scan at least one more for its AC (EOB or a coefficient). A first-pass DC or
    baseline scan with fewer bits than that for its blocks ends early, and so does a frame with
    a component no such scan codes: the decoder would fill the rest with grey."""
    coded: set[int] = set()
    for scan in scans:
        if scan.ss != 0 or scan.ah != 0:
            continue  # AC and refinement scans: end-of-band runs code many blocks in few bits
        needed = _blocks(frame, scan.components) * (2 if scan.se > 0 else 1)
        if scan.data_bits < needed:
            raise MediaRejected(
                "incomplete",
                f"the JPEG declares {frame.width}×{frame.height} but holds data for at most "
                f"{scan.data_bits / needed:.1%} of it",
            )
        coded.update(scan.components)
    if set(frame.sampling) - coded:
        raise MediaRejected("incomplete", "a colour component of the JPEG is never coded")


def _blocks(frame: JpegFrame, components: tuple[int, ...]) -> int:
    """8×8 blocks a scan of these components codes (ITU T.81 A.2: an interleaved scan codes
    whole MCUs, a single-component scan only the blocks that component covers)."""
    try:
        factors = [frame.sampling[c] for c in components]
    except KeyError:
        raise MediaRejected("unreadable_image", "a JPEG scan names an unknown component") from None
    hmax = max(h for h, _ in frame.sampling.values())
    vmax = max(v for _, v in frame.sampling.values())
    if len(factors) == 1:
        (h, v) = factors[0]
        cols = math.ceil(math.ceil(frame.width * h / hmax) / 8)
        rows = math.ceil(math.ceil(frame.height * v / vmax) / 8)
        return cols * rows
    mcus = math.ceil(frame.width / (8 * hmax)) * math.ceil(frame.height / (8 * vmax))
    return mcus * sum(h * v for h, v in factors)


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
