"""A card's base decodes the stored original: it does so in a decoding child under the upload's
limits, after the same structure checks. Hostile files are planted straight into storage under
a live material's photo (as one stored before the checks existed would be, or one put there by
other means), bypassing every upload check; the card request must answer promptly and cleanly,
and the process must go on serving cards.

Why 404 `unusable_photo`: no change to the request and no wait makes this card (a 503 with
Retry-After would invite every client and cache to retry, each retry another bounded decode),
and the request is not at fault (422 would say it is). The material has no photo a card can be
drawn from, which is what a material without photos answers too."""

from __future__ import annotations

import functools
import time

import pytest
from sqlalchemy import select

from materials.models import Asset, Card
from materials.platform.deps import get_deps
from media.samples import jpeg_bytes, product_image
from tests import hostile
from tests.materials.sharing.helpers import card_url, image_size, live_material


@functools.cache
def planted(case: str) -> bytes:
    makers = {
        # The field's: 6000×6000 in 30,000 end-of-band scans, 1.8 MB; minutes of decoding.
        "scan_bomb": lambda: hostile.scan_bomb_jpeg(6000, 6000, scans=30_000),
        "pixel_bomb": lambda: hostile.png_declaring(40_000, 40_000),
        "ztxt_bomb": lambda: hostile.png_with_bomb(b"zTXt", 64 << 20),
        "declares_more": lambda: hostile.jpeg_declaring(6000, 6000, real=64),
        "truncated": lambda: (j := jpeg_bytes(product_image(640, 480, seed=1)))[: len(j) // 3],
        # 200 scans are allowed here: only the CPU limit (1 s) stops ~8 s of decoding.
        "costly": lambda: hostile.scan_bomb_jpeg(6000, 6000, scans=200),
    }
    return makers[case]()


CASES = {  # the rule the base's decode breaks, and the seconds the answer may take
    "scan_bomb": ("max_scans", 3),
    "pixel_bomb": ("max_pixels", 3),
    "ztxt_bomb": ("decompression_bomb", 3),
    "declares_more": ("incomplete", 3),
    "truncated": ("truncated", 3),
    # Stopped at 1 s of CPU, or at the wall limit (2 × 1 + 2 s) on a busy box, plus margin.
    "costly": ("too_costly", 4 + 3),
}
COSTLY = {"MAX_DECODE_SECONDS": 1, "MAX_JPEG_SCANS": 100_000}


@pytest.fixture
def good_photos() -> list[bytes]:
    return [jpeg_bytes(product_image(900, 700, seed=7))]


def _plant(app, material_id: int, data: bytes) -> str:
    """Overwrite the material's first stored original with `data`; its storage key."""
    deps = get_deps(app)
    with deps.db.read() as s:
        stmt = select(Asset.key).where(Asset.material_id == material_id, Asset.kind == "photo")
        key = s.scalars(stmt.order_by(Asset.position)).first()
    deps.storage.put_bytes(key, data, "image/jpeg")
    return key


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.settings(**COSTLY)) if c == "costly" else c for c in CASES],
)
def test_a_hostile_stored_original_makes_a_prompt_404_and_the_process_serves_on(
    app, client, ops, seller, worker, good_photos, case
):
    rule, seconds = CASES[case]
    bomb = live_material(client, ops, good_photos, title="被换掉的原图")
    healthy = live_material(client, ops, good_photos, title="好好的原图")
    _plant(app, bomb["id"], planted(case))
    code = seller["referral_code"]

    for layout in ("square", "photo-1"):
        started = time.monotonic()
        resp = client.get(card_url(bomb["id"], code, layout))
        took = time.monotonic() - started
        assert resp.status_code == 404, (layout, resp.data[:300])
        assert resp.mimetype == "application/problem+json"
        problem = resp.get_json()
        assert problem["rule"] == "unusable_photo" and f"({rule})" in problem["detail"], problem
        # The first layout pays for the decode; the process then remembers the photo.
        assert took < (seconds if layout == "square" else 0.5), (layout, took)

    # The same process goes on drawing other materials' cards.
    resp = client.get(card_url(healthy["id"], code, "square"))
    assert resp.status_code == 200 and image_size(resp.data) == (1080, 1080)
    # Nothing of the failed renders is left: no claim row, no stored object.
    deps = get_deps(app)
    with deps.db.read() as s:
        assert s.scalars(select(Card).where(Card.material_id == bomb["id"])).all() == []
    assert list(deps.storage.list(f"cards/{bomb['id']}/")) == []


def test_a_page_asking_for_the_card_gets_a_page(app, client, ops, seller, worker, good_photos):
    bomb = live_material(client, ops, good_photos)
    _plant(app, bomb["id"], planted("scan_bomb"))
    resp = client.get(
        card_url(bomb["id"], seller["referral_code"], "story"), headers={"Accept": "text/html"}
    )
    assert resp.status_code == 404 and resp.mimetype == "text/html"
