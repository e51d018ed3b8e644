"""The seller H5 and the forward: its one tap posts (with the session's CSRF token, as every
state change of the H5 does), the page carries the body and the first comment apart, the
seller's pick and price, and hostile copy only ever as text."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from materials.models import Forward, SellerCopy
from materials.platform.deps import get_deps
from tests.helpers import make_user
from tests.web.conftest import ready_material
from tests.web.test_security import IMG, RAW, SCRIPT, scan

WECHAT = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 MicroMessenger/8.0.47.2560"


@pytest.fixture
def photo_material(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(
        client, ops_user, [(small_jpeg, "a.jpg")], title="防晒霜", copy="默认的话", price="89.00"
    )


def forwards(app) -> int:
    with get_deps(app).db.read() as s:
        return s.scalar(select(func.count()).select_from(Forward))


def payload(html: str) -> dict:
    return json.loads(re.search(r'id="forward-data">(.*?)</script>', html, re.S).group(1))


def ops_copy(client, ops_user, material_id, **changes):
    h = ops_user["headers"]
    url = f"/api/v1/materials/{material_id}"
    for label, body in changes.pop("variants", []):
        resp = client.post(f"{url}/variants", headers=h, json={"label": label, "body": body})
        assert resp.status_code == 201, resp.get_json()
    if changes:
        assert client.patch(f"{url}/copy", headers=h, json=changes).status_code == 200


def test_the_h5_forward_post_needs_the_csrf_token(
    app, seller_client, client, seller_user, photo_material
):
    url = f"/api/v1/materials/{photo_material}/forward"
    resp = seller_client.post(url)
    assert resp.status_code == 403 and resp.get_json()["rule"] == "csrf"
    foreign = seller_client.post(
        url, headers={"X-CSRF-Token": seller_client.csrf, "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.get_json()["rule"] == "csrf_origin"
    assert forwards(app) == 0
    assert seller_client.post(url, headers={"X-CSRF-Token": seller_client.csrf}).status_code == 201
    # A bearer token is no cookie a forger could ride on: no CSRF token asked.
    assert client.post(url, headers=seller_user["headers"]).status_code == 201
    # Reading the page or the preview records nothing.
    seller_client.get(f"/h5/m/{photo_material}")
    seller_client.get(url)
    assert forwards(app) == 2


def test_the_page_carries_body_and_comment_apart_and_the_sellers_pick_and_price(
    app, seller_client, client, ops_user, seller_user, photo_material
):
    ops_copy(
        client,
        ops_user,
        photo_material,
        variants=[("宝妈版", "带娃出门也不怕晒")],
        comment="今晚 8 点开团",
        markup_allowed=True,
        markup_cap="10",
    )
    page = f"/h5/m/{photo_material}"
    html = seller_client.get(page).get_data(as_text=True)
    assert '<option value="" selected>默认文案</option>' in html and "宝妈版" in html
    assert 'id="copy-comment"' in html and 'id="markup"' in html
    data = payload(html)
    assert data["comment"] == "今晚 8 点开团" and "默认的话" in data["text"]

    mine = f"/api/v1/materials/{photo_material}/my-copy"
    variant = client.get(mine, headers=seller_user["headers"]).get_json()["variants"][0]["id"]
    choice = {"variant_id": variant, "markup": "5"}
    assert seller_client.put(mine, json=choice).status_code == 403  # the session needs the token
    assert (
        seller_client.put(
            mine, json=choice, headers={"X-CSRF-Token": seller_client.csrf}
        ).status_code
        == 200
    )
    for ua in (None, WECHAT):
        html = seller_client.get(page, headers={"User-Agent": ua} if ua else {}).get_data(
            as_text=True
        )
        data = payload(html)
        assert "带娃出门也不怕晒" in data["text"] and "💰 ¥94\n" in data["text"]
        assert data["comment"] == "今晚 8 点开团" and 'id="copy-comment"' in html
        assert f'<option value="{variant}" selected>宝妈版</option>' in html
        assert "¥</span>94" in html and "含你的加价 ¥5" in html
    wx = seller_client.get(page, headers={"User-Agent": WECHAT}).get_data(as_text=True)
    assert wx.index('id="wx-copy"') < wx.index('id="wx-comment"') < wx.index('id="wx-cards"')
    assert ">复制正文<" in wx.replace("\n", "").replace("  ", "")


def test_hostile_variants_comments_and_own_words_are_text_on_the_page(
    app, seller_client, client, ops_user, seller_user, photo_material
):
    ops_copy(
        client,
        ops_user,
        photo_material,
        variants=[(SCRIPT, f"变体{IMG}")],
        comment=f"评论{SCRIPT}{IMG}",
    )
    mine = f"/api/v1/materials/{photo_material}/my-copy"
    own = f"我的话{SCRIPT}{IMG}"
    resp = seller_client.put(
        mine, json={"own_text": own}, headers={"X-CSRF-Token": seller_client.csrf}
    )
    assert resp.status_code == 200, resp.get_json()
    for ua in (None, WECHAT):
        html = seller_client.get(
            f"/h5/m/{photo_material}", headers={"User-Agent": ua} if ua else {}
        ).get_data(as_text=True)
        for raw in RAW:
            assert raw not in html, (ua, raw)
        found = scan(html)
        assert found.problems == [] and len(found.json_blocks) == 1
        data = json.loads(found.json_blocks[0])
        assert own in data["text"] and data["comment"] == f"评论{SCRIPT}{IMG}"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    with get_deps(app).db.read() as s:
        assert s.scalar(select(SellerCopy.own_body)) == own


def test_ops_write_variants_comment_and_markup_in_the_console_and_see_which_words_sell(
    app, ops_client, client, seller_user, photo_material
):
    url = f"/ops/m/{photo_material}"
    csrf = {"csrf_token": ops_client.csrf}
    resp = ops_client.post(f"{url}/variants", data=csrf | {"label": SCRIPT, "body": "宝妈的话"})
    assert resp.status_code == 303 and resp.location.endswith("#copy")
    bad = ops_client.post(
        f"{url}/variants", data=csrf | {"label": "\u200b", "body": "x"}, follow_redirects=True
    )
    assert "label is required" in bad.get_data(as_text=True)
    assert ops_client.post(f"{url}/variants", data={"label": "a", "body": "b"}).status_code == 403
    form = csrf | {"comment": "评论区见", "markup_allowed": "on", "markup_cap": "8.5"}
    assert ops_client.post(f"{url}/copy", data=form).status_code == 303
    settings = client.get(
        f"/api/v1/materials/{photo_material}/copy", headers=ops_headers(app)
    ).get_json()
    assert settings["comment"] == "评论区见" and settings["markup"] == {
        "allowed": True,
        "cap": "8.50",
    }
    assert [v["label"] for v in settings["variants"]] == [SCRIPT]
    variant = settings["variants"][0]["id"]

    mine = f"/api/v1/materials/{photo_material}/my-copy"
    assert (
        client.put(mine, headers=seller_user["headers"], json={"variant_id": variant}).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/materials/{photo_material}/forward", headers=seller_user["headers"]
        ).status_code
        == 201
    )
    html = ops_client.get(url).get_data(as_text=True)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    row = re.search(r"<tr>\s*<th scope=\"row\">&lt;script&gt;.*?</tr>", html, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "0", "0"]  # forwards, clicks, orders
    assert "默认文案" in html and "卖家自编" in html
    assert ops_client.post(f"{url}/variants/{variant}/retire", data=csrf).status_code == 303
    assert client.get(mine, headers=seller_user["headers"]).get_json()["variants"] == []
    assert "（已停用）" in ops_client.get(url).get_data(as_text=True)  # its numbers stay


def ops_headers(app) -> dict:
    user = make_user(app, "运营看板", "ops")
    return {"Authorization": f"Bearer {user['token']}"}


def test_the_sellers_stats_page_shows_markup_income_apart(
    app, seller_client, client, ops_user, seller_user, photo_material
):
    ops_copy(client, ops_user, photo_material, markup_allowed=True, markup_cap="10")
    mine = f"/api/v1/materials/{photo_material}/my-copy"
    assert client.put(mine, headers=seller_user["headers"], json={"markup": "4"}).status_code == 200
    shop = make_user(app, "店铺", "storefront")
    order = {"order_id": "o-1", "referral_code": seller_user["referral_code"]}
    order |= {"material_id": photo_material, "amount": "93.00"}
    headers = {"Authorization": f"Bearer {shop['token']}"}
    assert client.post("/api/v1/conversions", headers=headers, json=order).status_code == 201
    html = seller_client.get("/h5/stats").get_data(as_text=True)
    assert "其中我的加价收入 <strong>¥4</strong>，商品销售 ¥89" in html
    assert "加价收入 ¥4" in html
