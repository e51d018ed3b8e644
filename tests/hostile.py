"""Hostile files found in the field, made on the fly at a size that still proves the point.

Each generator crafts the bytes of one kind of file that cost far more than it looks, or that
claims more than it holds (shared/FACTS.md, "Files that cost more than they look").
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image

from media.samples import product_image

_APP1_DATA = 65533 - 6  # the most a segment holds after its length and "Exif\0\0"


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def exif_bomb_jpeg(tags: int, segments: int, orientation: int = 6) -> bytes:
    """A JPEG whose IFD0 holds `tags` entries, each pointing at all the EXIF data spread over
    `segments` APP1 segments (Pillow joins them): ImageOps.exif_transpose re-serialises every
    one of them. 200 tags × 10 segments (656 KB) cost it 16 s of CPU and 525 MB here."""
    base = io.BytesIO()
    product_image(120, 90, seed=5).save(base, "JPEG", quality=80)
    total = _APP1_DATA * segments
    entries = [struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)]
    entries += [struct.pack(">HHII", 0x9000 + i, 7, total - 8, 8) for i in range(tags)]
    ifd = struct.pack(">H", len(entries)) + b"".join(entries) + b"\0\0\0\0"
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + ifd).ljust(total, b"\0")
    chunks = (tiff[i : i + _APP1_DATA] for i in range(0, total, _APP1_DATA))
    jpeg = base.getvalue()
    return jpeg[:2] + b"".join(_app1(b"Exif\0\0" + c) for c in chunks) + jpeg[2:]


# The end of one scan's entropy-coded data: the next marker that is not a restart.
_NEXT_MARKER = re.compile(rb"\xff+[^\x00\xff\xd0-\xd7]")


def scan_bomb_jpeg(width: int, height: int, scans: int) -> bytes:
    """A flat progressive JPEG whose last scan (its Huffman table, header and end-of-band run)
    is repeated until the file has `scans` scans: tiny per scan, yet each one makes the
    decoder pass over every block of the image."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(buf, "JPEG", progressive=True)
    data = buf.getvalue()
    ends = [m.start() for m in _NEXT_MARKER.finditer(data) if data[m.end() - 1] in (0xDA, 0xD9)]
    # ends[-2] is where the last scan's table and header start (after the previous scan's data),
    # ends[-1] is the EOI: the unit to repeat lies between them.
    start, eoi = _after_scan_data(data, ends[-2]), ends[-1]
    unit = data[start:eoi]
    have = data.count(b"\xff\xda")
    return data[:eoi] + unit * (scans - have) + b"\xff\xd9"


def _after_scan_data(data: bytes, sos: int) -> int:
    """Where the scan data that precedes the SOS at `sos` ends (the marker before it)."""
    previous = data.rfind(b"\xff\xda", 0, sos)
    length = struct.unpack_from(">H", data, previous + 2)[0]
    return _NEXT_MARKER.search(data, previous + 2 + length).start()


def jpeg_declaring(width: int, height: int, real: int = 64) -> bytes:
    """A `real`×`real` JPEG whose frame header claims `width`×`height`, with a proper EOI:
    it decodes without an error, all but a corner grey."""
    buf = io.BytesIO()
    product_image(real, real, seed=3).save(buf, "JPEG", quality=90)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width`×`height` (a pixel bomb: Pillow refuses one past
    twice its MAX_IMAGE_PIXELS at open, before allocating anything)."""
    buf = io.BytesIO()
    product_image(64, 48, seed=2).save(buf, "PNG")
    data = buf.getvalue()
    at = data.index(b"IHDR")
    body = struct.pack(">II", width, height) + data[at + 12 : at + 17]
    return data[: at - 4] + _png_chunk(b"IHDR", body) + data[at + 21 :]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def inflating(size: int) -> bytes:
    """zlib data that inflates to `size` zero bytes (about 1/1000 of it)."""
    z = zlib.compressobj(1)
    block = bytes(1 << 20)
    return b"".join(z.compress(block) for _ in range(size >> 20)) + z.flush()


def png_with_bomb(kind: bytes, inflated: int) -> bytes:
    """A small, valid PNG with a zTXt or iCCP chunk that inflates to `inflated` bytes."""
    head = {b"zTXt": b"Comment\0\0", b"iCCP": b"icc\0\0"}[kind]
    buf = io.BytesIO()
    product_image(64, 48, seed=2).save(buf, "PNG")
    data = buf.getvalue()
    at = data.index(b"IDAT") - 4  # before the image data, where Pillow reads it at open
    return data[:at] + _png_chunk(kind, head + inflating(inflated)) + data[at:]


# ------------------------------------------------------------------ MP4 edit lists

_CONTAINERS = {b"moov", b"trak", b"edts", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes):
    pos = 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        yield kind, data[pos + 8 : pos + size]
        pos += size


def _rebuilt(kind: bytes, body: bytes, repeat: int) -> bytes:
    if kind in _CONTAINERS:
        body = b"".join(_rebuilt(k, b, repeat) for k, b in _boxes(body))
    elif kind == b"elst":
        count = struct.unpack_from(">I", body, 4)[0]
        entries = body[8:]
        body = body[:4] + struct.pack(">I", count * repeat) + entries * repeat
    return struct.pack(">I4s", len(body) + 8, kind) + body


def replayed_mp4(mp4: bytes, repeat: int) -> bytes:
    """`mp4` with every track's edit list played `repeat` times over; mvhd and mdhd still give
    the clip's own length, which is all a header probe reports. The moov box must come after
    mdat (ffmpeg's default), so no chunk offset moves."""
    return b"".join(_rebuilt(k, b, repeat) for k, b in _boxes(mp4))
