"""A try-out post's author on its cards: drawn where the layout says, nothing else changed, the
QR still the seller's link."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image, ImageChops

from media.cards import LAYOUTS, CardContent, render_base, render_card, render_photo_card
from media.samples import product_image

URL = "https://sucai.example.com/r/ABCDEFG/2147483647"


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return product_image(1600, 1200, seed=3)


def content(author: str = "") -> CardContent:
    return CardContent(
        "夏季清爽防晒霜 · 试用体验", "用了一周，清爽不黏腻。", 8900, 12900, "安热沙", author
    )


def _inside(bbox: tuple[int, int, int, int], box) -> bool:  # noqa: ANN001
    left, top, right, bottom = bbox
    return box.x <= left and box.y <= top and right <= box.right and bottom <= box.bottom


@pytest.mark.parametrize("layout", ["square", "poster", "story", "og"])
def test_the_author_pill_changes_only_its_box(photo, layout):
    plain = render_base(photo, content(), layout)
    credited = render_base(photo, content("宝妈小李"), layout)
    bbox = ImageChops.difference(plain, credited).getbbox()
    assert bbox is not None, "the author is not drawn"
    assert _inside(bbox, LAYOUTS[layout].author.box), bbox


@pytest.mark.parametrize("layout", ["square", "poster", "story"])
def test_a_credited_card_still_reads_as_the_sellers_link(photo, layout):
    base = render_base(photo, content("宝妈小李<script>"), layout)
    card = Image.open(io.BytesIO(render_card(base, layout, "社区店阿芳", "ABCDEFG", URL)))
    found = zxingcpp.read_barcodes(card, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [URL]


def test_the_photo_card_credits_the_author_top_right(photo):
    plain = Image.open(io.BytesIO(render_photo_card(photo, "阿芳", "ABCDEFG", URL)))
    credited_jpeg = render_photo_card(photo, "阿芳", "ABCDEFG", URL, author="宝妈小李")
    credited = Image.open(io.BytesIO(credited_jpeg))
    diff = ImageChops.difference(plain.convert("L"), credited.convert("L"))
    # JPEG noise aside, what changed is the top-right quarter (a gallery numbers the left).
    left, top, right, bottom = diff.point(lambda v: 255 if v > 40 else 0).getbbox()
    assert left > credited.width / 2 and bottom < credited.height / 4
    found = zxingcpp.read_barcodes(credited, formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [URL]


def test_no_author_no_pill(photo):
    assert render_base(photo, content(" "), "square").tobytes() == (
        render_base(photo, content(), "square").tobytes()
    )
