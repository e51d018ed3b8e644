"""Deterministic sample inputs for tests and benchmarks (thumbor keeps such helpers in
thumbor/testing.py): a product-like photo with fine texture, and real Chinese copy."""

import io

import numpy as np
from PIL import Image, ImageDraw

from .content import CardContent

SAMPLE_CONTENT = CardContent(
    title="夏季清爽防晒霜 SPF50+ 50ml",
    copy="轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。（限时特惠）买二送一，今晚24点截止。",
    price_cents=8900,
    original_price_cents=12900,
    brand="Sucai 优选",
)
SAMPLE_URL = "https://sucai.example.com/r/XM2024/m_8f3a2c91"


def sample_photo(width: int = 4000, height: int = 3000, texture: bool = True) -> Image.Image:
    """A studio-like product shot: warm gradient, a bottle with a cap, a shadow, and (unless
    `texture` is False) a fine fabric-like texture so the JPEG costs what a real photo costs to
    decode. Golden tests turn the texture off: its JPEG noise would drown small changes."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / width, y / height
    texture = (6 * np.sin(x * 0.9) * np.cos(y * 1.3) + 4 * np.sin((x + y) * 0.37)) * texture
    rgb = np.stack(
        [235 - 40 * v + texture, 215 - 60 * v + 30 * u + texture, 190 - 70 * v + 50 * u + texture],
        axis=-1,
    )
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    _draw_bottle(ImageDraw.Draw(image), width, height)
    return image


def _draw_bottle(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    s = min(width, height)
    cx, base = width // 2, int(height * 0.82)
    bw, bh = int(s * 0.26), int(s * 0.55)
    draw.ellipse((cx - bw, base - s // 30, cx + bw, base + s // 30), fill=(150, 130, 110))
    draw.rounded_rectangle(
        (cx - bw // 2, base - bh, cx + bw // 2, base),
        radius=s // 25,
        fill=(250, 250, 246),
        outline=(210, 200, 190),
        width=max(1, s // 300),
    )
    draw.rounded_rectangle(
        (cx - bw // 4, base - bh - s // 8, cx + bw // 4, base - bh + s // 80),
        radius=s // 60,
        fill=(230, 90, 60),
    )
    draw.rectangle(
        (cx - bw // 2, base - bh * 3 // 5, cx + bw // 2, base - bh * 2 // 5), fill=(250, 200, 60)
    )
    draw.ellipse((cx + bw, base - bh, cx + bw * 2, base - bh // 2), fill=(120, 190, 220))


def sample_jpeg(
    width: int = 4000, height: int = 3000, quality: int = 90, texture: bool = True
) -> bytes:
    out = io.BytesIO()
    sample_photo(width, height, texture).save(out, "JPEG", quality=quality)
    return out.getvalue()
