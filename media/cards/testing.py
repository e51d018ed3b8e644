"""Deterministic sample inputs for tests and benchmarks (thumbor keeps such helpers in
thumbor/testing.py): a product-like photo with fine texture, real Chinese copy, and what a card
goes through when it is forwarded (downscaled, recompressed, photographed)."""

import io
from collections.abc import Callable
from functools import partial

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

from .codes import NoCode, PictureCode, QrCode, ScanCode
from .content import CardContent
from .layouts import LAYOUTS, PHOTO_SIDE, QR_LAYOUTS
from .photo import load_photo
from .pipeline import render_base, render_card, render_photo_card

SAMPLE_CONTENT = CardContent(
    title="夏季清爽防晒霜 SPF50+ 50ml",
    copy="轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。（限时特惠）买二送一，今晚24点截止。",
    price_cents=8900,
    original_price_cents=12900,
    brand="Sucai 优选",
)
# Referral links as Urls.referral spells them (/r/<7-character code>/<material id>): the longest
# id a 32-bit key allows on a public host, and the local development server's shortest.
LONG_REFERRAL_URL = "https://sucai.example.com/r/ABCDEFG/2147483647"
LOCAL_REFERRAL_URL = "http://127.0.0.1:8000/r/ABCDEFG/1"
# What the golden cards encode: the longest, so they show the code at its real size.
SAMPLE_URL = LONG_REFERRAL_URL
SAMPLE_SELLER, SAMPLE_CODE = "小美的好物铺", "ABCDEFG"
# The 9-grid photo card keeps its photo's shape: both orientations, as a 1080 px display photo.
PHOTO_SHAPES = {"photo-wide": (4000, 3000), "photo-tall": (3000, 4000)}


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


def sample_card_renderers() -> dict[str, Callable[[str], bytes]]:
    """Every kind of card with a QR (each such layout, and a wide and a tall 9-grid photo) as a
    function of the url its QR encodes; the seller-independent parts are rendered once, here."""
    renderers: dict[str, Callable[[str], bytes]] = {}
    photo = _loaded(4000, 3000, PHOTO_SIDE)
    for name in QR_LAYOUTS:
        base = render_base(photo, SAMPLE_CONTENT, name)
        renderers[name] = partial(render_card, base, name, SAMPLE_SELLER, SAMPLE_CODE)
    for name, (w, h) in PHOTO_SHAPES.items():
        shot = _loaded(w, h, 1080)
        renderers[name] = partial(render_photo_card, shot, SAMPLE_SELLER, SAMPLE_CODE)
    return renderers


def sample_round_code(text: str, width: int = 280) -> Image.Image:
    """A stand-in for a WeChat 小程序码 (round, on white, `width` px square; WeChat's smallest is
    280) that is really a QR code of `text`, so a test can read which scene a card carries."""
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = Image.fromarray(symbol.to_image(scale=1, add_quiet_zones=False))
    scale = max(1, int(width * 0.62) // modules.width)
    qr = modules.resize((modules.width * scale,) * 2, Image.Resampling.NEAREST).convert("RGB")
    image = Image.new("RGB", (width, width), "white")
    ImageDraw.Draw(image).ellipse((2, 2, width - 3, width - 3), outline=(40, 40, 40), width=5)
    image.paste(qr, ((width - qr.width) // 2,) * 2)
    return image


def sample_code(layout: str, text: str) -> ScanCode:
    """The code a layout takes, for `text`: its QR, or a round stand-in picture of it."""
    kind = LAYOUTS[layout].scan_code
    if kind == NoCode.kind:
        return NoCode()
    return QrCode(text) if kind == QrCode.kind else PictureCode(sample_round_code(text), kind)


def _loaded(width: int, height: int, max_side: int) -> Image.Image:
    return load_photo(io.BytesIO(sample_jpeg(width, height)), max_side)


def sample_jpeg(
    width: int = 4000, height: int = 3000, quality: int = 90, texture: bool = True
) -> bytes:
    out = io.BytesIO()
    sample_photo(width, height, texture).save(out, "JPEG", quality=quality)
    return out.getvalue()


# -- what forwarding does to a card ---------------------------------------------------------

# Chat apps shrink with an antialiasing filter, not nearest-neighbour: a QR module then smears
# into its neighbours instead of just being dropped, which is what makes small modules fail.
# Measured at a third: BICUBIC, LANCZOS, BILINEAR and BOX passed and failed the same codes.
FORWARD_RESAMPLE = Image.Resampling.BICUBIC


def downscale(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.convert("RGB").resize(size, FORWARD_RESAMPLE)


def recompress(image: Image.Image, quality: int) -> Image.Image:
    """`image` after a JPEG round trip at `quality` (Pillow's default 4:2:0 subsampling, as an
    app re-encoding for bandwidth would)."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    with Image.open(out) as decoded:
        return decoded.convert("RGB")


def photographed(image: Image.Image, tilt: float = 5.0, blur: float = 1.5) -> Image.Image:
    """A card as a phone camera sees it on another screen: turned a little (on white, so the
    new corners are no darker than the card) and out of focus. Turned first, then blurred, as
    the lens blurs what is already askew; the other order smooths the turn's jagged edges and
    was the kinder of the two to ZBar."""
    turned = image.convert("RGB").rotate(
        tilt, Image.Resampling.BICUBIC, expand=True, fillcolor=(255, 255, 255)
    )
    return turned.filter(ImageFilter.GaussianBlur(blur))


# The forwarding conditions every card's QR must survive (issue 10), by name.
DEGRADATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "third": lambda image: downscale(image, 1 / 3),
    "half-q30": lambda image: recompress(downscale(image, 1 / 2), 30),
    "third-q50": lambda image: recompress(downscale(image, 1 / 3), 50),
    "blur-tilt": photographed,
}
