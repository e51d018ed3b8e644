"""QR codes that still scan after a chat app has shrunk and recompressed the card: error
correction M, a 4-module quiet zone, integer scaling with nearest-neighbour (no blur, no half
modules), and modules big enough to survive a downscale to a third.

Measured on the forwarding conditions of tests/media/test_qr_forwarding.py (bench/
bench_qr_forwarding.py prints the table): what decides is the size of a module after the
downscale, not the error correction. At 4-5 px a module ZBar failed nearly every card at a
third; at 6 px (2 px at a third) both decoders read every card after every condition. In one
box a higher level means a bigger version and smaller modules, so it loses (Q and H at 5 px
failed where M at 6 px passed); even at the same version Q did no better than M (ZBar at JPEG
q8: 18 of 40 cards failed at Q, 13 at M).
"""

import zxingcpp
from PIL import Image, ImageOps

QUIET_ZONE_MODULES = 4
MIN_MODULE_PX = 2
# A module that is still 2 px when a 1080 px card is shown or re-sent at a third of its size.
FORWARDABLE_MODULE_PX = 6
ERROR_LEVEL = "M"


def qr_modules(url: str) -> Image.Image:
    """The symbol for exactly `url` as an "L" image, one pixel per module (0 dark, 255 light),
    quiet zone included."""
    # zxing-cpp segments the text itself: "https://host/r/" as bytes, the upper-case code as
    # alphanumerics and the id as digits, which keeps a 46-character link in version 3.
    symbol = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_LEVEL)
    bare = Image.fromarray(symbol.to_image(scale=1, add_quiet_zones=False))
    # The quiet zone is added here rather than trusted to the writer's default.
    return ImageOps.expand(bare, border=QUIET_ZONE_MODULES, fill=255)


def qr_image(url: str, max_px: int) -> Image.Image:
    """The QR for exactly `url` at the largest whole number of pixels per module that fits in
    `max_px`."""
    return scaled(qr_modules(url), max_px)


def scaled(modules: Image.Image, max_px: int) -> Image.Image:
    """`modules` (from qr_modules) at the largest whole number of pixels per module that fits
    in `max_px`."""
    scale = max_px // modules.width
    if scale < MIN_MODULE_PX:
        raise ValueError(f"link too long for a {max_px}px QR code ({modules.width} modules)")
    side = modules.width * scale
    return modules.resize((side, side), Image.Resampling.NEAREST)
