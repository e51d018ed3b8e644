"""The seller's own copy in Chromium on a 360x740 phone, inside WeChat and in the phone's own
browser: pick an ops variant and set a markup, then two taps copy the body (复制正文, with the
seller's link and price) and the first comment (复制评论); the forward is recorded once, with
the variant. Screenshots in /tmp/shots (SUCAI_SHOTS)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from materials.models import Forward
from materials.platform.deps import get_deps
from tests.helpers import wait_until
from tests.web.conftest import ready_material
from tests.web.test_browser import (
    CHROME_UA,
    PHONE,
    SHOTS,
    WECHAT_UA,
    sign_in,
    small_tap_targets,
    watch,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def backend() -> str:
    return "embedded"  # as the other browser tests: CI time


@pytest.fixture
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


COMMENT = "今晚 8 点开团，库存不多～\n评论区扣 1 留货"


@pytest.fixture
def lotion(client, ops_user, worker, small_jpeg) -> dict:
    mid = ready_material(
        client,
        ops_user,
        [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg")],
        title="夏季清爽防晒霜 SPF50+",
        copy="轻薄不油腻，一抹成膜！",
        price="89.00",
    )
    url, h = f"/api/v1/materials/{mid}", ops_user["headers"]
    for label, body in [
        ("宝妈版", "带娃去公园也不怕晒，宝宝能用的温和配方"),
        ("通勤版", "上班路上一抹就走"),
    ]:
        assert (
            client.post(
                f"{url}/variants", headers=h, json={"label": label, "body": body}
            ).status_code
            == 201
        )
    changes = {"comment": COMMENT, "markup_allowed": True, "markup_cap": "10"}
    assert client.patch(f"{url}/copy", headers=h, json=changes).status_code == 200
    variants = client.get(f"{url}/copy", headers=h).get_json()["variants"]
    return {"id": mid, "variants": {v["label"]: v["id"] for v in variants}}


def clipboard(page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


@pytest.mark.parametrize("ua", ["wechat", "chrome"])
def test_seller_picks_a_variant_sets_a_markup_and_copies_body_then_comment(
    app, browser, live_server, lotion, seller_user, shots, ua
):
    agent = WECHAT_UA if ua == "wechat" else CHROME_UA
    context = browser.new_context(**PHONE, user_agent=agent)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    console_errors: list[str] = []
    watch(page, console_errors)
    sign_in(page, live_server, seller_user["name"])
    mid = lotion["id"]
    page.goto(f"{live_server}/h5/m/{mid}")
    assert page.evaluate("document.body.classList.contains('in-wechat')") == (ua == "wechat")

    # Pick 宝妈版 and a ¥5 markup; the page saves and comes back with them.
    page.locator("#my-copy").scroll_into_view_if_needed()
    page.select_option("#variant-select", str(lotion["variants"]["宝妈版"]))
    assert "宝宝能用的温和配方" in page.inner_text("#variant-preview")
    assert page.is_hidden("#own-field")
    page.fill("#markup", "20")
    page.tap("#my-copy-save")
    page.wait_for_selector("#my-copy-error:not([hidden])")
    assert "上限" in page.inner_text("#my-copy-error")  # above the ¥10 cap, said in Chinese
    page.fill("#markup", "5")
    with page.expect_navigation():
        page.tap("#my-copy-save")
    page.locator("#my-copy").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"copy-{ua}-picked.png"))
    assert "含你的加价 ¥5" in page.inner_text(".detail-price")
    assert small_tap_targets(page) == []

    # Tap 1: 复制正文 — the variant, the seller's price and link.
    page.tap("#forward-button")
    page.wait_for_function(
        "() => document.querySelector('#copy-status').textContent.includes('已复制')"
    )
    body = clipboard(page)
    link = f"{live_server}/r/{seller_user['referral_code']}/{mid}"
    assert (
        body == f"夏季清爽防晒霜 SPF50+\n带娃去公园也不怕晒，宝宝能用的温和配方\n💰 ¥94\n👉 {link}"
    )
    page.screenshot(path=str(shots / f"copy-{ua}-body.png"))

    # Tap 2: 复制评论 — the first comment alone.
    page.locator("#copy-comment").scroll_into_view_if_needed()
    page.tap("#copy-comment")
    page.wait_for_function(
        "() => document.querySelector('#comment-status').textContent.includes('已复制')"
    )
    assert clipboard(page) == COMMENT
    assert "已复制评论" in page.inner_text("#copy-comment")
    page.screenshot(path=str(shots / f"copy-{ua}-comment.png"))
    assert small_tap_targets(page) == []

    def recorded():
        with get_deps(app).db.read() as s:
            return [f.variant_id for f in s.scalars(select(Forward))]

    wait_until(lambda: recorded() == [lotion["variants"]["宝妈版"]], timeout=10)
    # The one refused save (above the cap) is the only thing the console reports.
    assert console_errors == [
        "console: Failed to load resource: the server responded with a status of 422 "
        "(UNPROCESSABLE ENTITY)"
    ]
    context.close()


def test_ops_add_a_variant_in_the_console_and_see_it_counted(
    app, browser, live_server, lotion, ops_user, seller_user, client, shots
):
    vid = lotion["variants"]["宝妈版"]
    mine = f"/api/v1/materials/{lotion['id']}/my-copy"
    assert (
        client.put(mine, headers=seller_user["headers"], json={"variant_id": vid}).status_code
        == 200
    )
    forward = f"/api/v1/materials/{lotion['id']}/forward"
    assert client.post(forward, headers=seller_user["headers"]).status_code == 201
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    console_errors: list[str] = []
    watch(page, console_errors)
    sign_in(page, live_server, ops_user["name"])
    page.goto(f"{live_server}/ops/m/{lotion['id']}#copy")
    page.fill(".variant-form input[name=label]", "学生党")
    page.fill(".variant-form textarea[name=body]", "宿舍军训都能用，一支用一夏")
    page.click(".variant-form button[type=submit]")
    page.wait_for_selector(".flash-ok")
    assert "学生党" in page.inner_text(".flash-ok")
    rows = page.eval_on_selector_all(
        ".variant-stats tbody tr",
        "trs => trs.map(tr => [tr.querySelector('th').textContent.trim(),"
        " tr.querySelector('td').textContent.trim()])",
    )
    assert rows == [
        ["默认文案", "0"],
        ["宝妈版", "1"],
        ["通勤版", "0"],
        ["学生党", "0"],
        ["卖家自编", "0"],
    ]
    page.locator("#copy").screenshot(path=str(shots / "ops-copy-variants.png"))
    assert console_errors == []
    context.close()
