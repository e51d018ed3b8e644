"""The `moments` card on both backends: the seller's 小程序码 (from the WeChat stand-in, whose
codes are QR codes of their scene, so a card can be read back) stamped where the other layouts
have the QR; fetched once per (seller, material) however many processes ask; paced; 404 where
no mini-program is configured; and what happens when WeChat is away or refuses a token."""

from __future__ import annotations

import io
from types import SimpleNamespace
from urllib.parse import parse_qs

import pytest
from PIL import Image

from app import create_app
from materials.accounts import CODE_ALPHABET
from materials.models import MAX_ID
from materials.platform import pacing
from materials.platform.deps import get_deps
from materials.sharing import wxacode
from materials.urls import Urls
from media.samples import jpeg_bytes, product_image
from tests.materials.sharing.helpers import (
    ask_at_once,
    card_url,
    live_material,
    qr_texts,
    seller_user,
)
from tests.wechat_standin import StandIn

MINI_ID, MINI_SECRET, PAGE = "wxmini0000000001", "mini-secret", "pages/material/index"


@pytest.fixture
def standin():
    server = StandIn({MINI_ID: MINI_SECRET}).start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings, standin):
    return settings | {
        "WECHAT_MINIPROGRAM_APP_ID": MINI_ID,
        "WECHAT_MINIPROGRAM_SECRET": MINI_SECRET,
        "WECHAT_MINIPROGRAM_PAGE": PAGE,
        "WECHAT_API_URL": standin.url,
        "WECHAT_TIMEOUT_SECONDS": 1,
    }


@pytest.fixture
def material(client, ops, worker) -> dict:
    photos = [jpeg_bytes(product_image(1200, 900, seed=5))]
    return live_material(client, ops, photos, title="夏季清爽防晒霜", copy="轻薄不油腻")


def moments(material: dict, seller: dict) -> str:
    return card_url(material["id"], seller["referral_code"], "moments")


def scene_of(material: dict, seller: dict) -> str:
    return f"c={seller['referral_code']}&m={material['id']}"


def test_a_scene_names_seller_and_material_within_wechats_rules():
    urls = Urls("https://sucai.example.com")
    deps = SimpleNamespace(urls=urls)
    for code in ("2" * 6, CODE_ALPHABET[-7:], CODE_ALPHABET[:8]):
        for material_id in (1, 12345, MAX_ID):
            scene = wxacode.scene(deps, code, material_id)
            assert wxacode.SCENE_RE.fullmatch(scene) and len(scene) <= 32
            assert parse_qs(scene) == {"c": [code], "m": [str(material_id)]}
    assert wxacode.scene(deps, "ABCDEFG", MAX_ID) == "c=ABCDEFG&m=2147483647"  # 21 characters
    assert len(wxacode.scene(deps, "ABCDEFGH", MAX_ID)) == 23  # the longest
    with pytest.raises(ValueError):
        wxacode.scene(SimpleNamespace(urls=SimpleNamespace(scene=lambda c, m: "c=素材")), "", 1)


def test_the_moments_card_carries_the_sellers_miniprogram_code(client, material, seller, standin):
    resp = client.get(moments(material, seller))
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(resp.data)) as card:
        assert card.size == (1080, 1080)
    assert qr_texts(resp.data) == [scene_of(material, seller)]  # the stand-in's code reads back
    assert standin.scenes == [(MINI_ID, scene_of(material, seller), PAGE, 280)]
    assert standin.counts[f"token:{MINI_ID}"] == 1  # the mini-program's own token
    assert resp.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    again = client.get(moments(material, seller), headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    square = client.get(card_url(material["id"], seller["referral_code"], "square"))
    assert qr_texts(square.data) == [
        f"http://sucai.test/r/{seller['referral_code']}/{material['id']}"
    ]
    assert standin.counts["wxacode"] == 1


def test_two_processes_and_many_requests_fetch_one_code_per_seller(
    app, settings, material, standin
):
    a, b = seller_user(app, "小美"), seller_user(app, "阿芳")
    standin.delay = 0.3  # each fetch takes a while: the other process asks meanwhile
    paths = [moments(material, a), moments(material, b), moments(material, a)]
    answers = ask_at_once(settings, paths, paths, paths[::-1])
    assert [x["status"] for x in answers] == [200] * 9
    read = {tuple(qr_texts(x["body"])) for x in answers}
    assert read == {(scene_of(material, a),), (scene_of(material, b),)}
    assert standin.counts["wxacode"] == 2 and standin.counts[f"token:{MINI_ID}"] == 1
    stored = [key for key, _ in get_deps(app).storage.list(f"cards/{material['id']}/wxacode/")]
    assert len(stored) == 2 and all(key.endswith(".png") for key in stored)


def test_fetches_are_paced_for_every_process_together(app, settings, material, standin):
    sellers = [seller_user(app, f"卖家{i}") for i in range(4)]
    paced = settings | {"WECHAT_WXACODE_PER_SECOND": 2}
    answers = ask_at_once(paced, *[[moments(material, s)] for s in sellers])
    assert [x["status"] for x in answers] == [200] * 4
    times = sorted(standin.code_times)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(times) == 4 and min(gaps) >= 0.45, gaps  # 2 a second: half a second apart


def test_a_turn_too_far_away_is_refused_rather_than_waited_for(app):
    db = get_deps(app).db
    pacing.pace(db, "test", per_second=1, max_wait=0.5)  # now
    pacing.pace(db, "test", per_second=1, max_wait=1.5)  # waits about a second
    with pytest.raises(pacing.TooBusy) as refused:
        pacing.pace(db, "test", per_second=1, max_wait=0.5)  # a second away again
    assert refused.value.retry_after >= 1


def test_wechat_away_is_a_503_and_stored_codes_still_serve(client, ops, material, seller, standin):
    first = client.get(moments(material, seller))
    assert first.status_code == 200
    standin.stop()
    other = seller_user(client.application, "新卖家")
    resp = client.get(moments(material, other))
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 1
    assert resp.mimetype == "application/problem+json"
    assert client.get(moments(material, seller)).data == first.data
    # An edit makes a new card version; the stored code is reused, WeChat not asked.
    edit = {"price": "79.00"}
    client.patch(f"/api/v1/materials/{material['id']}", headers=ops["headers"], json=edit)
    edited = client.get(moments(material, seller))
    assert edited.status_code == 200 and edited.data != first.data
    assert qr_texts(edited.data) == [scene_of(material, seller)]


def test_a_refused_token_is_fetched_again_once(app, client, material, seller, standin):
    assert client.get(moments(material, seller)).status_code == 200
    standin.revoke_tokens()
    other = seller_user(app, "新卖家")
    assert client.get(moments(material, other)).status_code == 200
    assert standin.counts[f"token:{MINI_ID}"] == 2 and standin.counts["wxacode_refused"] == 1


def test_without_a_miniprogram_moments_is_404_like_an_unknown_layout(
    settings, client, material, seller, standin
):
    forward = f"/api/v1/materials/{material['id']}/forward"
    assert "moments" in client.get(forward, headers=seller["headers"]).get_json()["cards"]
    for missing in ("APP_ID", "SECRET", "PAGE"):
        other = create_app(settings | {f"WECHAT_MINIPROGRAM_{missing}": ""})
        try:
            visitor = other.test_client()
            assert visitor.get(moments(material, seller)).status_code == 404, missing
            square = card_url(material["id"], seller["referral_code"], "square")
            assert visitor.get(square).status_code == 200
            cards = visitor.get(forward, headers=seller["headers"]).get_json()["cards"]
            assert "moments" not in cards and {"square", "poster", "story"} <= set(cards)
        finally:
            get_deps(other).db.dispose()
    assert standin.counts["wxacode"] == 0
