"""The 口碑指数 on the pages, on both backends: the H5 material page's block and its rating form
(hostile input included, comments shown as text), ops' selection board; and in Chromium a seller
rating one-handed at 360 px and the board as ops see it (screenshots in /tmp/shots)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from materials.accounts import create_user
from materials.catalogue import ratings
from materials.catalogue.ratings import Scores
from materials.models import Rating
from materials.platform.deps import get_deps
from tests.materials.factory import make_material
from tests.web.conftest import ready_material

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORM = {"performance": "8", "price_acceptance": "7", "design": "9", "packaging": "6"}


@pytest.fixture
def material(app) -> int:
    return make_material(app, "补水面膜", product_url="https://s.example.com/mask")


def rate_as_others(
    app, material_id: int, n: int, scores: Scores, prefix: str = "r", said: tuple = ()
) -> None:
    """`n` other sellers rate `material_id` alike; the first ones say `said`, if given."""
    deps, now = get_deps(app), datetime.now(UTC)
    for i in range(n):
        user = create_user(deps.db, f"{prefix}{i}", "seller")[0]
        comment = said[i] if i < len(said) else scores.comment
        ratings.rate(deps, user, material_id, replace(scores, comment=comment), now)


def rating_count(app) -> int:
    with get_deps(app).db.read() as s:
        return s.scalar(select(func.count()).select_from(Rating))


def post_rating(client, material_id: int, form: dict):
    data = form | {"csrf_token": client.csrf}
    return client.post(f"/h5/m/{material_id}/rating", data=data)


def test_the_block_before_anyone_rated(seller_client, material):
    html = seller_client.get(f"/h5/m/{material}").get_data(as_text=True)
    assert 'id="rating"' in html and "口碑指数" in html
    assert "<strong>5.0</strong>" in html and "还没有小B评分" in html
    for label in ratings.DIMENSIONS.values():
        assert f"<legend>{label}" in html
    assert html.count('type="radio"') == 40


def test_a_seller_rates_then_edits_then_withdraws(app, seller_client, material):
    resp = post_rating(seller_client, material, FORM | {"comment": "好用"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/h5/m/{material}#rating")
    html = seller_client.get(f"/h5/m/{material}").get_data(as_text=True)
    assert "评分已保存" in html and "1 位小B评过分" in html
    assert f"<strong>{(50 + 7.5) / 11:.1f}</strong>" in html
    assert 'name="design" value="9" required checked' in html and "修改我的评分" in html
    post_rating(seller_client, material, FORM | {"design": "2"})
    assert rating_count(app) == 1
    html = seller_client.get(f"/h5/m/{material}").get_data(as_text=True)
    assert 'name="design" value="2" required checked' in html
    post_rating(seller_client, material, {"action": "withdraw"})
    assert rating_count(app) == 0


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({k: v for k, v in FORM.items() if k != "packaging"}, "包装：请选择 1–10 分"),
        (FORM | {"performance": "11"}, "产品性能：请选择 1–10 分"),
        (FORM | {"design": "0"}, "外观设计：请选择 1–10 分"),
        (FORM | {"design": "７"}, "外观设计：请选择 1–10 分"),  # a full-width digit
        (FORM | {"price_acceptance": "7.5"}, "价格接受度：请选择 1–10 分"),
        (FORM | {"comment": "好" * 201}, "评价最多 200 字"),
        (FORM | {"comment": "a\x07b"}, "评价最多 200 字"),
    ],
)
def test_the_form_refuses_hostile_input_and_stores_nothing(
    app, seller_client, material, form, message
):
    resp = post_rating(seller_client, material, form)
    assert resp.status_code == 303
    html = seller_client.get(f"/h5/m/{material}").get_data(as_text=True)
    assert message in html and "flash-error" in html
    assert rating_count(app) == 0


def test_comments_are_text_on_the_h5_and_the_board(app, seller_client, ops_client, material):
    rate_as_others(app, material, 1, Scores(9, 9, 9, 9, SCRIPT))
    for html in (
        seller_client.get(f"/h5/m/{material}").get_data(as_text=True),
        ops_client.get("/ops/selection").get_data(as_text=True),
    ):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x" in html


def test_no_page_for_those_who_cannot_rate(app, client, ops_client, seller_client, material):
    resp = ops_client.post(f"/h5/m/{material}/rating", data=FORM | {"csrf_token": ops_client.csrf})
    assert resp.status_code == 403
    assert seller_client.get("/ops/selection").status_code == 403
    no_csrf = seller_client.post(f"/h5/m/{material}/rating", data=FORM)
    assert no_csrf.status_code in (400, 403)
    draft = make_material(app, "草稿", publish=False, product_url="https://s.example.com/d")
    assert post_rating(seller_client, draft, FORM).status_code == 404
    assert rating_count(app) == 0


@pytest.mark.settings(POTENTIAL_MIN_RATINGS=5)
def test_the_board_ranks_with_the_potential_mark(app, ops_client):
    best = make_material(app, "网红防晒霜", product_url="https://s.example.com/1")
    few = make_material(app, "新品面霜", product_url="https://s.example.com/2")
    weak = make_material(app, "普通洗发水", product_url="https://s.example.com/3")
    rate_as_others(app, best, 8, Scores(9, 8, 9, 8), "a")
    rate_as_others(app, few, 2, Scores(10, 10, 10, 10), "b")
    rate_as_others(app, weak, 8, Scores(3, 4, 3, 2), "c")
    html = ops_client.get("/ops/selection").get_data(as_text=True)
    assert html.index("网红防晒霜") < html.index("新品面霜") < html.index("普通洗发水")
    assert html.count('<span class="badge badge-potential">潜力</span>') == 2  # legend + best
    assert 'class="chart selection-chart"' in html and html.count("dim-chart") == 3
    only = ops_client.get("/ops/selection?potential=1").get_data(as_text=True)
    assert "网红防晒霜" in only and "新品面霜" not in only and "普通洗发水" not in only


# ---------------------------------------------------------------- in Chromium

SHOTS = Path(os.environ.get("SUCAI_SHOTS", "/tmp/shots"))


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded"])
def test_one_handed_rating_and_the_board_in_chromium(
    app, client, browser, live_server, worker, ops_user, seller_user, small_jpeg, small_png
):
    from tests.web.test_browser import PHONE, sign_in, small_tap_targets, watch
    from tests.web.test_checkers import AXE_JS, axe_findings

    SHOTS.mkdir(parents=True, exist_ok=True)
    photos = [(small_jpeg, "a.jpg")], [(small_png, "b.png")], [(small_jpeg, "c.jpg")]
    titles = ("夏季清爽防晒霜 SPF50+", "玻尿酸补水面膜 10 片装", "法式复古纯棉连衣裙")
    ids = [
        ready_material(client, ops_user, p, title=t, product_url=f"https://shop.example.com/{n}")
        for n, (p, t) in enumerate(zip(photos, titles, strict=True))
    ]
    rate_as_others(app, ids[0], 14, Scores(9, 7, 9, 8), "a", ("宝妈群里复购很多", "不油腻"))
    rate_as_others(app, ids[1], 3, Scores(10, 10, 10, 10), "b", ("超值！", "补水效果明显"))
    rate_as_others(app, ids[2], 12, Scores(4, 3, 6, 5), "c", ("版型一般", "起球"))
    errors: list[str] = []

    phone = browser.new_context(**PHONE)
    phone.add_init_script(path=str(AXE_JS))
    page = phone.new_page()
    watch(page, errors)
    sign_in(page, live_server, seller_user["name"])
    page.goto(f"{live_server}/h5/m/{ids[1]}#rating")
    for field, score in (("performance", 9), ("price_acceptance", 8), ("design", 7)):
        page.tap(f".rate-pick:has(input[name={field}][value='{score}'])")
    page.tap(".rate-pick:has(input[name=packaging][value='10'])")
    page.fill("textarea[name=comment]", "包装很精致，送人合适")
    page.locator("#rating").screenshot(path=str(SHOTS / "seller-rating-form.png"))
    assert small_tap_targets(page) == []
    with page.expect_navigation():  # the form posts, the answer sends back to #rating
        page.tap(".rate-form button[type=submit]")
    assert page.url.endswith(f"/h5/m/{ids[1]}#rating")
    assert "评分已保存" in page.inner_text("#rating")
    assert "4 位小B评过分" in page.inner_text("#rating")
    page.locator("#rating").screenshot(path=str(SHOTS / "seller-rating-saved.png"))
    page.screenshot(path=str(SHOTS / "seller-material-rated.png"), full_page=True)
    assert axe_findings(page) == []
    mine = client.get(f"/api/v1/materials/{ids[1]}/rating", headers=seller_user["headers"])
    assert mine.get_json() | {"created_at": 0, "updated_at": 0} == {
        "material_id": ids[1],
        "performance": 9,
        "price_acceptance": 8,
        "design": 7,
        "packaging": 10,
        "comment": "包装很精致，送人合适",
        "created_at": 0,
        "updated_at": 0,
    }

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    desk.add_init_script(path=str(AXE_JS))
    board = desk.new_page()
    watch(board, errors)
    sign_in(board, live_server, ops_user["name"])
    board.goto(f"{live_server}/ops/selection")
    board.wait_for_function(
        "() => [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    board.screenshot(path=str(SHOTS / "ops-selection.png"), full_page=True)
    rows = board.locator(".selection-table tbody tr")
    assert rows.count() == 3
    assert titles[0] in rows.nth(0).inner_text() and "潜力" in rows.nth(0).inner_text()
    assert titles[1] in rows.nth(1).inner_text() and "潜力" not in rows.nth(1).inner_text()
    assert axe_findings(board) == []
    assert errors == []
    phone.close()
    desk.close()


def test_the_search_page_sorts_by_index_without_the_search_service(app, seller_client):
    """The page's own database search (no script, or no index yet) orders as the index does."""
    loved = make_material(app, "面膜 甲", product_url="https://s.example.com/1")
    unrated = make_material(app, "面膜 乙", product_url="https://s.example.com/2")
    disliked = make_material(app, "面膜 丙", product_url="https://s.example.com/3")
    few = make_material(app, "面膜 丁", product_url="https://s.example.com/4")
    rate_as_others(app, loved, 6, Scores(8, 8, 8, 8), "a")  # (50 + 48) / 16 = 6.13
    rate_as_others(app, disliked, 6, Scores(2, 2, 2, 2), "b")  # 3.88
    rate_as_others(app, few, 1, Scores(10, 10, 10, 10), "c")  # (50 + 10) / 11 = 5.45
    html = seller_client.get("/h5/search?q=面膜&sort=index").get_data(as_text=True)
    assert '<option value="index" selected>口碑最高</option>' in html
    at = {m: html.index(f'href="/h5/m/{m}"') for m in (loved, unrated, disliked, few)}
    assert sorted(at, key=at.get) == [loved, few, unrated, disliked]
