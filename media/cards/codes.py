"""The scannable code on a card, as data. A layout names the kind it takes (Layout.scan_code);
the caller makes one and hands it to render_card; the card step only asks it for a tile.

- `QrCode(text)`: a QR code for exactly `text` (the seller's referral link), drawn by qr.py at
  a whole number of pixels per module. The default.
- `NoCode()`: no code at all, for the link preview's `og` card (the preview is itself the link).
- `PictureCode(image, kind)`: a code drawn elsewhere, such as the WeChat 小程序码 the application
  fetches for the `moments` layout; scaled into the box and drawn round, as those codes are.

The library never fetches a code: that is the application's business, which keeps this a pure
function of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from PIL import Image

from .qr import QUIET_ZONE_MODULES, qr_modules, scaled

QR = "qr"
NONE = "none"


class ScanCode(Protocol):
    @property
    def kind(self) -> str:
        """Which provider made it: a layout takes only the kind it names."""
        ...

    def tile(self, max_px: int) -> tuple[Image.Image, int]:
        """The code as an image at most `max_px` square, and the radius to round it by."""
        ...


@dataclass(frozen=True)
class QrCode:
    text: str
    kind: ClassVar[str] = QR

    def tile(self, max_px: int) -> tuple[Image.Image, int]:
        modules = qr_modules(self.text)
        image = scaled(modules, max_px)
        return image, tile_radius(image, modules)


def tile_radius(code: Image.Image, modules: Image.Image) -> int:
    """Corners rounded by half the quiet zone, so the white tile looks drawn rather than stuck
    on, while every finder pattern keeps a full quiet zone: an arc of that radius stays more
    than four modules from the pattern's corner."""
    return code.width // modules.width * QUIET_ZONE_MODULES // 2


@dataclass(frozen=True)
class NoCode:
    kind: ClassVar[str] = NONE

    def tile(self, max_px: int) -> tuple[Image.Image, int]:
        raise ValueError("a card without a code has no tile to draw")


@dataclass(frozen=True)
class PictureCode:
    image: Image.Image = field(compare=False)
    kind: str

    def tile(self, max_px: int) -> tuple[Image.Image, int]:
        picture = _on_white(self.image)
        side = min(max_px, max(picture.size))
        if picture.size != (side, side):
            # A smooth resize: a 小程序码 has no module grid for nearest-neighbour to keep.
            picture = picture.resize((side, side), Image.Resampling.LANCZOS)
        return picture, side // 2  # round: the square's white corners would show on the panel


def _on_white(image: Image.Image) -> Image.Image:
    """RGB; a transparent background (WeChat's is_hyaline) becomes white, not black."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def as_scan_code(code: ScanCode | str) -> ScanCode:
    """A plain string is a QR code of it: the referral link, as every layout had before."""
    return QrCode(code) if isinstance(code, str) else code
