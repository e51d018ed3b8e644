"""Cards that survive forwarding (issue 10): every kind of card, shrunk, recompressed or
photographed as chat apps and phones do (media/cards/testing.py DEGRADATIONS), still reads as
exactly the seller's link with two independent decoders (tests/media/decoders.py).

bench/bench_qr_forwarding.py prints the same cases as a table, and harsher ones with --margin.
"""

import dataclasses
import io
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image

from media.cards import LAYOUTS, QR_LAYOUTS, render_base, render_card
from media.cards.qr import FORWARDABLE_MODULE_PX, QUIET_ZONE_MODULES, qr_modules
from media.cards.testing import (
    DEGRADATIONS,
    LOCAL_REFERRAL_URL,
    LONG_REFERRAL_URL,
    PHOTO_SHAPES,
    SAMPLE_CODE,
    SAMPLE_CONTENT,
    SAMPLE_SELLER,
    downscale,
    sample_card_renderers,
    sample_photo,
)
from tests.media.decoders import DECODERS, read_zbar

# Every card whose code is our QR of the referral link; not moments (only WeChat reads its code)
# nor og (the link preview's card has none).
CARDS = [*QR_LAYOUTS, *PHOTO_SHAPES]
URLS = [LONG_REFERRAL_URL, LOCAL_REFERRAL_URL]


def opened(jpeg: bytes) -> Image.Image:
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.convert("RGB")


@pytest.fixture(scope="module")
def cards() -> dict[str, Callable[[str], bytes]]:
    return sample_card_renderers()


@pytest.fixture(scope="module")
def seen(cards) -> Callable[[str, str, str], Image.Image]:
    """A card as it arrives after `degradation`, made once for both decoders."""
    made: dict[tuple[str, str, str], Image.Image] = {}

    def get(card: str, degradation: str, url: str) -> Image.Image:
        key = (card, degradation, url)
        if key not in made:
            made[key] = DEGRADATIONS[degradation](opened(cards[card](url)))
        return made[key]

    return get


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("decoder", list(DECODERS))
@pytest.mark.parametrize("degradation", list(DEGRADATIONS))
@pytest.mark.parametrize("card", CARDS)
def test_a_forwarded_card_reads_as_exactly_the_sellers_link(seen, card, degradation, decoder, url):
    assert DECODERS[decoder](seen(card, degradation, url)) == [url]


@pytest.mark.parametrize("card", CARDS)
def test_every_card_draws_the_longest_link_with_forwardable_modules(cards, card):
    """Measured on the rendered card: the rule behind the decoding results, so a layout change
    that shrinks the code fails here with a number rather than only as a decoder's silence."""
    (found,) = zxingcpp.read_barcodes(opened(cards[card](LONG_REFERRAL_URL)))
    symbol_modules = qr_modules(LONG_REFERRAL_URL).width - 2 * QUIET_ZONE_MODULES
    top_left, top_right = found.position.top_left, found.position.top_right
    module_px = (top_right.x - top_left.x) / symbol_modules
    assert module_px >= FORWARDABLE_MODULE_PX, module_px


def test_zbar_fails_the_old_4px_code_at_a_third(monkeypatch):
    """The forwarding test has teeth: the square's code at its old size (a 164 px box, 4 px a
    module) reads at full size and fails at a third."""
    square = LAYOUTS["square"]
    old_box = dataclasses.replace(square.scan, w=164, h=164)
    monkeypatch.setitem(LAYOUTS, "square", dataclasses.replace(square, scan=old_box))
    base = render_base(sample_photo(1600, 1200), SAMPLE_CONTENT, "square")
    card = opened(render_card(base, "square", SAMPLE_SELLER, SAMPLE_CODE, LONG_REFERRAL_URL))
    assert read_zbar(card) == [LONG_REFERRAL_URL]
    assert read_zbar(DEGRADATIONS["third"](card)) == []


def test_degradations_shrink_recompress_and_tilt_on_white():
    card = Image.new("RGB", (1080, 1920), (200, 30, 30))
    assert DEGRADATIONS["third"](card).size == (360, 640)
    assert DEGRADATIONS["half-q30"](card).size == (540, 960)
    assert DEGRADATIONS["third-q50"](card).size == (360, 640)
    tilted = DEGRADATIONS["blur-tilt"](card)
    assert tilted.width > card.width and tilted.height > card.height
    assert tilted.getpixel((0, 0)) == (255, 255, 255)
    assert downscale(card, 1 / 3).getpixel((180, 320)) == (200, 30, 30)
