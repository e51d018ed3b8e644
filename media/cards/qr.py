"""QR codes that phone scanners read: error correction M, a 4-module quiet zone, integer scaling
with nearest-neighbour (no blur, no half modules)."""

import zxingcpp
from PIL import Image, ImageOps

QUIET_ZONE_MODULES = 4
MIN_MODULE_PX = 2


def qr_modules(url: str) -> Image.Image:
    """The symbol for exactly `url` as an "L" image, one pixel per module (0 dark, 255 light),
    quiet zone included."""
    symbol = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    bare = Image.fromarray(symbol.to_image(scale=1, add_quiet_zones=False))
    # The quiet zone is added here rather than trusted to the writer's default.
    return ImageOps.expand(bare, border=QUIET_ZONE_MODULES, fill=255)


def qr_image(url: str, max_px: int) -> Image.Image:
    """The QR for exactly `url` at the largest whole number of pixels per module that fits in
    `max_px`."""
    modules = qr_modules(url)
    scale = max_px // modules.width
    if scale < MIN_MODULE_PX:
        raise ValueError(f"url too long for a {max_px}px QR code ({len(url)} characters)")
    side = modules.width * scale
    return modules.resize((side, side), Image.Resampling.NEAREST)
