"""Card layouts as data: sizes, boxes, font sizes and colours. Steps read them; none branches on
a layout's name."""

from dataclasses import dataclass, replace
from typing import Literal

RGB = tuple[int, int, int]

INK = (26, 26, 26)
GREY = (102, 102, 102)
MUTED = (153, 153, 153)
RED = (229, 49, 47)
PANEL = (247, 247, 247)
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass(frozen=True)
class Text:
    size: int
    color: RGB
    bold: bool = False
    line_height: float = 1.4
    max_lines: int = 1
    align: Literal["left", "center", "right"] = "left"
    box: Box | None = None  # None: flows in the layout's text column

    @property
    def line_px(self) -> int:
        return round(self.size * self.line_height)


@dataclass(frozen=True)
class Layout:
    name: str
    size: tuple[int, int]
    photo: Box
    column: Box  # title then copy flow down from its top; the copy stops above the price
    title: Text
    copy: Text
    gap: int  # between title and copy, and above the price
    price: Text  # size of the yuan digits; ¥ and decimals are smaller
    original_price: Text
    brand: Text  # a pill on the photo's top-left corner
    footer: Box
    # The scannable code, centred in `scan`: a QR takes the largest whole module size that
    # fits. `scan_code` names the kind of code the layout takes (media/cards/codes.py): "qr",
    # the referral link, another provider's picture the caller supplies, or "none" (the link
    # preview's card, which is itself the link): then `scan` and `scan_caption` are None.
    scan: Box | None
    scan_caption: Text | None
    avatar: Box
    seller_name: Text
    code: Text
    # The author's credit of a seller's try-out post: a pill on the photo's bottom-left corner,
    # where it reads as a caption of the photo and leaves the text column and QR untouched.
    author: Text | None = None
    scan_code: str = "qr"
    scan_hint: str = "长按识别二维码"  # the caption's words
    background: RGB = WHITE
    footer_color: RGB = PANEL
    accent: RGB = RED

    @property
    def max_photo_side(self) -> int:
        return max(self.photo.w, self.photo.h)


def boxed(style: Text) -> Box:
    """The fixed box of a text that has one (all but the flowing title and copy)."""
    if style.box is None:
        raise ValueError("this text needs a box in the layout")
    return style.box


CODE_LABEL = "推荐码"

LAYOUTS: dict[str, Layout] = {
    # WeChat Moments: square.
    "square": Layout(
        name="square",
        size=(1080, 1080),
        photo=Box(0, 0, 1080, 480),
        column=Box(56, 512, 968, 232),
        title=Text(44, INK, bold=True, line_height=1.35, max_lines=2),
        copy=Text(30, GREY, line_height=1.5, max_lines=2),
        gap=12,
        price=Text(64, RED, bold=True, box=Box(56, 700, 968, 76)),
        original_price=Text(28, MUTED),
        brand=Text(26, INK, box=Box(32, 32, 520, 48)),
        author=Text(26, INK, box=Box(32, 400, 620, 48)),
        footer=Box(0, 796, 1080, 284),
        # 7 px a module for a version-3 link (6 px for version 4); the code's own right edge
        # lines up with the text column's, its quiet zone reaching into the margin.
        scan=Box(793, 808, 259, 259),
        # Beside the QR, not under it: the square has no height to spare.
        scan_caption=Text(24, MUTED, align="right", box=Box(600, 918, 180, 40)),
        avatar=Box(56, 898, 80, 80),
        seller_name=Text(32, INK, bold=True, box=Box(156, 892, 420, 46)),
        code=Text(26, GREY, box=Box(156, 942, 420, 38)),
    ),
    "poster": Layout(
        name="poster",
        size=(750, 1334),
        photo=Box(0, 0, 750, 690),
        column=Box(40, 724, 670, 300),
        title=Text(40, INK, bold=True, line_height=1.35, max_lines=2),
        copy=Text(27, GREY, line_height=1.55, max_lines=3),
        gap=12,
        price=Text(60, RED, bold=True, box=Box(40, 956, 670, 72)),
        original_price=Text(26, MUTED),
        brand=Text(24, INK, box=Box(24, 24, 420, 44)),
        author=Text(24, INK, box=Box(24, 622, 480, 44)),
        footer=Box(0, 1052, 750, 282),
        # 6 px a module for a version-3 link: 2 px at a third, the least that scans. 7 px would
        # take 35% of the poster's width.
        scan=Box(512, 1064, 222, 222),
        scan_caption=Text(20, MUTED, align="center", box=Box(512, 1288, 222, 30)),
        avatar=Box(40, 1153, 80, 80),
        seller_name=Text(30, INK, bold=True, box=Box(138, 1147, 360, 44)),
        code=Text(24, GREY, box=Box(138, 1195, 360, 36)),
    ),
    # Full-screen phone story / status.
    "story": Layout(
        name="story",
        size=(1080, 1920),
        photo=Box(0, 0, 1080, 1020),
        column=Box(64, 1068, 952, 376),
        title=Text(58, INK, bold=True, line_height=1.3, max_lines=2),
        copy=Text(38, GREY, line_height=1.5, max_lines=4),
        gap=20,
        price=Text(100, RED, bold=True, box=Box(64, 1444, 952, 116)),
        original_price=Text(40, MUTED),
        brand=Text(34, INK, box=Box(40, 40, 640, 64)),
        author=Text(34, INK, box=Box(40, 916, 700, 64)),
        footer=Box(0, 1580, 1080, 340),
        scan=Box(785, 1596, 259, 259),  # as the square's: 7 px a module for version 3
        scan_caption=Text(28, MUTED, align="center", box=Box(785, 1858, 259, 40)),
        avatar=Box(64, 1694, 112, 112),
        seller_name=Text(44, INK, bold=True, box=Box(204, 1686, 540, 60)),
        code=Text(34, GREY, box=Box(204, 1756, 540, 48)),
    ),
}

# What chat apps and social sites draw for a pasted link (og:image, twitter:card
# summary_large_image): 1.91:1, the photo as a square on the left, title, copy and price beside
# it, the seller stamp at the foot. No QR: the preview is the link, and at the size a chat
# shows it (~400 px wide) a code would be a grey speck. Twitter crops to 2:1, 15 px off the top
# and the bottom: nothing sits that close to either edge.
LAYOUTS["og"] = Layout(
    name="og",
    size=(1200, 630),
    photo=Box(0, 0, 630, 630),
    column=Box(686, 60, 458, 300),
    title=Text(46, INK, bold=True, line_height=1.3, max_lines=2),
    copy=Text(28, GREY, line_height=1.5, max_lines=2),
    gap=14,
    price=Text(76, RED, bold=True, box=Box(686, 372, 458, 96)),
    original_price=Text(30, MUTED),
    brand=Text(24, INK, box=Box(28, 28, 420, 44)),
    author=Text(24, INK, box=Box(28, 558, 520, 44)),
    footer=Box(630, 500, 570, 130),
    scan=None,
    scan_caption=None,
    scan_code="none",
    avatar=Box(686, 525, 80, 80),
    seller_name=Text(32, INK, bold=True, box=Box(786, 521, 380, 46)),
    code=Text(26, GREY, box=Box(786, 567, 380, 38)),
)

# WeChat Moments with a 小程序码 (a mini-program code, which WeChat reads as its own) in place of
# the QR to an outside link: the square otherwise. Offered only where a mini-program is
# configured. A 小程序码 is round and has no module grid, so it is drawn in the QR's box,
# scaled smoothly from the smallest size WeChat makes (280 px).
LAYOUTS["moments"] = replace(
    LAYOUTS["square"],
    name="moments",
    scan_code="wxacode",
    scan_hint="长按识别小程序码",
    # Wider than the square's: the hint is a character longer.
    scan_caption=Text(24, MUTED, align="right", box=Box(580, 918, 200, 40)),
)

# The layouts whose code is the QR of the referral link, the one the forwarding tests read.
QR_LAYOUTS = tuple(name for name, layout in LAYOUTS.items() if layout.scan_code == "qr")

# The stamped 9-grid photo: sizes are fractions of the photo's shorter side, so the stamp stays
# discreet on any photo; but a module is a fraction of the longer side, because a chat app
# shrinks the whole photo: 6 px on a 1080 px photo of any shape, 2 px after a third.
PHOTO_STAMP = {
    "margin": 0.025,
    "module": 1 / 180,
    "text": 0.032,
    "label": (0, 0, 0, 110),
}

# The side to load photos at (load_photo's max_side) so one decode serves every layout.
PHOTO_SIDE = max(layout.max_photo_side for layout in LAYOUTS.values())
