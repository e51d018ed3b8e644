"""Real sample media made on the fly: product-like photos (Pillow) and clips (ffmpeg).

Used by the demo data and by the tests, so both exercise the same real files.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw

from media.video import ffmpeg_exe

PALETTES = [
    ((255, 183, 77), (229, 57, 53)),
    ((129, 212, 250), (30, 136, 229)),
    ((165, 214, 167), (46, 125, 50)),
    ((244, 143, 177), (173, 20, 87)),
    ((206, 147, 216), (94, 53, 177)),
    ((255, 224, 130), (245, 124, 0)),
]


def product_image(width: int, height: int, seed: int = 0) -> Image.Image:
    """A gradient backdrop with a 'product' (bottle and cap) and a marker in the top-left."""
    top, bottom = PALETTES[seed % len(PALETTES)]
    grad = Image.linear_gradient("L").resize((width, height))
    im = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), grad
    )
    d = ImageDraw.Draw(im)
    cx, cy, s = width // 2, height // 2, min(width, height)
    d.rounded_rectangle(
        (cx - s // 6, cy - s // 4, cx + s // 6, cy + s // 3),
        radius=s // 20,
        fill=(255, 255, 255),
        outline=(60, 60, 60),
        width=max(2, s // 200),
    )
    d.rectangle((cx - s // 14, cy - s // 3, cx + s // 14, cy - s // 4), fill=(40, 40, 40))
    # An unmistakable corner marker: tests use it to check orientation.
    d.rectangle((0, 0, width // 5, height // 5), fill=(255, 0, 0))
    return im


def jpeg_bytes(
    im: Image.Image, *, orientation: int | None = None, gps: bool = False, quality: int = 90
) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SucaiPhone"  # Make
    if orientation:
        exif[0x0112] = orientation
    if gps:
        # GPSInfo IFD: 31.2304 N, 121.4737 E (Shanghai)
        exif[0x8825] = {1: "N", 2: (31.0, 13.0, 49.44), 3: "E", 4: (121.0, 28.0, 25.32)}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def make_clip(
    path: str | Path, seconds: float = 3, width: int = 320, height: int = 568, audio: bool = True
) -> Path:
    """An H.264/AAC MP4 test pattern with a tone, like a short phone clip."""
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
    ]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    cmd += [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-shortest",
        str(path),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return Path(path)
