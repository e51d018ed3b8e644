"""The ops console and the seller H5 through the test client: forms, publication, bulk actions,
feed, favorites, the cards ZIP, stats."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from materials.catalogue.lifecycle import get_material
from materials.platform.deps import get_deps
from tests.materials.factory import make_material
from tests.web.conftest import ready_material


@pytest.fixture
def photo_material(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(
        client, ops_user, [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg")], title="防晒霜"
    )


def material(app, material_id: int):
    return get_material(get_deps(app), material_id)


# ---------------------------------------------------------------- ops


def test_ops_list_filters_and_searches(app, ops_client):
    make_material(app, "夏季防晒霜", category="美妆")
    make_material(app, "纯棉连体衣", publish=False)
    html = ops_client.get("/ops/").get_data(as_text=True)
    assert "夏季防晒霜" in html and "纯棉连体衣" in html
    html = ops_client.get("/ops/?state=draft").get_data(as_text=True)
    assert "纯棉连体衣" in html and "夏季防晒霜" not in html
    html = ops_client.get("/ops/?q=防晒").get_data(as_text=True)
    assert "夏季防晒霜" in html and "纯棉连体衣" not in html
    html = ops_client.get("/ops/?q=没有这个").get_data(as_text=True)
    assert "没有符合条件的素材" in html


def test_ops_empty_console_says_what_to_do(ops_client):
    html = ops_client.get("/ops/").get_data(as_text=True)
    assert "还没有素材" in html and 'href="/ops/new"' in html


def test_ops_edits_fields_and_tags(app, ops_client):
    mid = make_material(app, "旧标题")
    form = {
        "csrf_token": ops_client.csrf,
        "title": "新标题",
        "copy": "新文案\n第二行",
        "price": "59.90",
        "original_price": "",
        "product_url": "https://shop.example.com/new",
        "brand": "好孩子",
        "category": "母婴",
        "tags": "婴儿，纯棉, 婴儿",
    }
    resp = ops_client.post(f"/ops/m/{mid}", data=form)
    assert resp.status_code == 303
    m = material(app, mid)
    assert (m.title, m.copy, m.price_cents, m.tags) == (
        "新标题",
        "新文案\n第二行",
        5990,
        ["婴儿", "纯棉"],
    )
    assert m.version == 2
    assert "已保存" in ops_client.get(resp.location).get_data(as_text=True)


def test_ops_edit_errors_keep_what_was_typed(app, ops_client):
    mid = make_material(app, "旧标题")
    form = {"csrf_token": ops_client.csrf, "title": "改了一半", "price": "abc"}
    form |= {"product_url": "https://shop.example.com/x", "copy": "", "tags": ""}
    resp = ops_client.post(f"/ops/m/{mid}", data=form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "price must be a number" in html and 'value="改了一半"' in html
    assert material(app, mid).title == "旧标题"


def test_ops_schedules_a_window_in_local_time(app, ops_client):
    mid = make_material(app, "定时", publish=False)
    zone = ZoneInfo(get_deps(app).settings.TIMEZONE)
    start = datetime.now(zone).replace(second=0, microsecond=0) + timedelta(days=1)
    form = {
        "csrf_token": ops_client.csrf,
        "mode": "window",
        "publish_at": start.strftime("%Y-%m-%dT%H:%M"),
        "take_down_at": (start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
    }
    assert ops_client.post(f"/ops/m/{mid}/publish", data=form).status_code == 303
    m = material(app, mid)
    assert m.publish_at == start and m.take_down_at == start + timedelta(days=7)
    html = ops_client.get(f"/ops/m/{mid}").get_data(as_text=True)
    assert "待发布" in html and start.strftime("%Y-%m-%d %H:%M") in html

    backwards = form | {"take_down_at": (start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")}
    resp = ops_client.post(f"/ops/m/{mid}/publish", data=backwards, follow_redirects=True)
    assert "下架时间必须晚于上架时间" in resp.get_data(as_text=True)


def test_ops_publishes_now_and_takes_down(app, ops_client):
    mid = make_material(app, "上下架", publish=False)
    ops_client.post(f"/ops/m/{mid}/publish", data={"csrf_token": ops_client.csrf, "mode": "now"})
    assert material(app, mid).state == "published"
    ops_client.post(f"/ops/m/{mid}/unpublish", data={"csrf_token": ops_client.csrf})
    assert material(app, mid).state == "taken_down"


def test_ops_failed_material_shows_the_reason_and_cannot_be_published(app, ops_client):
    mid = make_material(app, "坏文件", status="failed", publish=False)
    deps = get_deps(app)
    with deps.db.transaction() as s:
        from materials.models import Material

        s.get(Material, mid).error = "photo.jpg: cannot decode"
    html = ops_client.get(f"/ops/m/{mid}").get_data(as_text=True)
    assert "photo.jpg: cannot decode" in html and "重试失败的文件" in html
    resp = ops_client.post(
        f"/ops/m/{mid}/publish",
        data={"csrf_token": ops_client.csrf, "mode": "now"},
        follow_redirects=True,
    )
    assert "处理失败的素材不能发布" in resp.get_data(as_text=True)


def test_ops_bulk_tag_publish_and_take_down(app, ops_client):
    ids = [make_material(app, f"素材{i}", tags=("旧",), publish=False) for i in range(3)]
    chosen = ids[:2]

    def bulk(action: str, **extra):
        data = {"csrf_token": ops_client.csrf, "action": action, "ids": chosen, **extra}
        return ops_client.post("/ops/bulk", data=data, follow_redirects=True)

    assert "加标签：成功 2 个" in bulk("tag", tag="爆款").get_data(as_text=True)
    assert [material(app, i).tags for i in ids] == [["旧", "爆款"], ["旧", "爆款"], ["旧"]]
    bulk("publish")
    assert [material(app, i).state for i in ids] == ["published", "published", "draft"]
    bulk("unpublish")
    assert [material(app, i).state for i in ids] == ["taken_down", "taken_down", "draft"]
    empty = ops_client.post(
        "/ops/bulk",
        data={"csrf_token": ops_client.csrf, "action": "publish"},
        follow_redirects=True,
    )
    assert "请先勾选素材" in empty.get_data(as_text=True)


def test_ops_stats_page_draws_the_funnel_and_chart(
    app, ops_client, client, seller_user, photo_material
):
    client.post(f"/api/v1/materials/{photo_material}/forward", headers=seller_user["headers"])
    html = ops_client.get("/ops/stats?days=7").get_data(as_text=True)
    assert html.count('<svg class="chart') == 2  # funnel and chart by day
    assert "防晒霜" in html and seller_user["name"] in html
    assert re.search(r'<div class="kpi-value">1</div><div class="kpi-label">转发', html)


# ---------------------------------------------------------------- seller


def test_feed_shows_only_live_materials_newest_first(app, seller_client):
    old = make_material(app, "旧款")
    new = make_material(app, "新款")
    make_material(app, "草稿", publish=False)
    make_material(app, "已下架", take_down_at=datetime.now(ZoneInfo("UTC")) - timedelta(hours=1))
    html = seller_client.get("/h5/").get_data(as_text=True)
    assert html.index(f"/h5/m/{new}") < html.index(f"/h5/m/{old}")
    assert "草稿" not in html and "已下架" not in html


def test_feed_tabs_most_forwarded_and_category(app, seller_client):
    make_material(app, "冷门", category="食品", forward_count=1)
    hot = make_material(app, "爆款", category="美妆", forward_count=50)
    html = seller_client.get("/h5/?tab=forwarded").get_data(as_text=True)
    assert html.index("爆款") < html.index("冷门") and "已转 50" in html
    html = seller_client.get("/h5/?tab=category&category=美妆").get_data(as_text=True)
    assert f"/h5/m/{hot}" in html and "冷门" not in html
    assert 'aria-current="page">美妆' in html


def test_feed_pages_for_infinite_scroll(app, seller_client):
    for i in range(14):
        make_material(app, f"商品{i:02d}")
    html = seller_client.get("/h5/").get_data(as_text=True)
    assert html.count('class="item"') == 12
    next_url = re.search(r'data-next="([^"]+)"', html).group(1).replace("&amp;", "&")
    fragment = seller_client.get(next_url + "&fragment=1").get_data(as_text=True)
    assert fragment.count('class="item"') == 2 and "<html" not in fragment
    assert "data-next" not in fragment


def test_feed_fetches_its_first_screen_first_and_sizes_images_for_the_slot(app, seller_client):
    """The LCP image (the first row) is never lazy and goes first; the rest of the first screen
    loads at once, the rest lazily; each offers its renditions by width for the slot's size."""
    for i in range(14):
        make_material(app, f"商品{i:02d}")
    html = seller_client.get("/h5/").get_data(as_text=True)
    imgs = re.findall(r'<img class="item-thumb"[^>]*>', html)
    assert len(imgs) == 12
    assert all('fetchpriority="high"' in i and "loading=" not in i for i in imgs[:2])
    assert all("fetchpriority" not in i and "loading=" not in i for i in imgs[2:6])
    assert all('loading="lazy"' in i for i in imgs[6:])
    assert all(re.search(r'srcset="/media/[^" ]+ 360w"', i) and "sizes=" in i for i in imgs)
    next_url = re.search(r'data-next="([^"]+)"', html).group(1).replace("&amp;", "&")
    fragment = seller_client.get(next_url + "&fragment=1").get_data(as_text=True)
    assert all('loading="lazy"' in i for i in re.findall(r"<img [^>]*>", fragment))


def test_feed_empty_state(seller_client):
    assert "还没有可以转发的素材" in seller_client.get("/h5/").get_data(as_text=True)


def test_search_page_falls_back_to_the_database(app, seller_client):
    make_material(app, "夏季防晒霜")
    html = seller_client.get("/h5/search?q=防晒").get_data(as_text=True)
    assert "夏季防晒霜" in html
    html = seller_client.get("/h5/search?q=没有这个").get_data(as_text=True)
    assert "没有找到「没有这个」相关的素材" in html


def test_material_page_shows_the_stamped_cards_and_the_forward_text(
    app, seller_client, client, seller_user, photo_material
):
    code = seller_user["referral_code"]
    html = seller_client.get(f"/h5/m/{photo_material}").get_data(as_text=True)
    for n in (1, 2):
        assert f'src="/cards/{photo_material}/{code}/photo-{n}.jpg"' in html
    payload = json.loads(re.search(r'id="forward-data">(.*?)</script>', html, re.S).group(1))
    api = client.get(
        f"/api/v1/materials/{photo_material}/forward", headers=seller_user["headers"]
    ).get_json()
    assert payload["text"] == api["text"] and payload["link"] == api["link"]
    assert "长按下方图片" in html and f"/h5/m/{photo_material}/cards.zip" in html


WECHAT = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 MicroMessenger/8.0.47.2560"


def test_inside_wechat_the_material_page_is_the_forward_flow(
    seller_client, seller_user, photo_material
):
    """WeChat blocks downloads and has no Web Share with files: the text first, the cards as a
    numbered long-press gallery, no ZIP; decided by the server from the User-Agent."""
    code = seller_user["referral_code"]
    resp = seller_client.get(f"/h5/m/{photo_material}", headers={"User-Agent": WECHAT})
    html = resp.get_data(as_text=True)
    assert "User-Agent" in resp.headers["Vary"]
    assert 'class="h5 h5-material in-wechat"' in html
    assert html.index('id="wx-copy"') < html.index('id="wx-cards"')
    assert "长按图片，保存或发送给朋友" in html and "1/2" in html and "2/2" in html
    for n in (1, 2):
        assert f'<img src="/cards/{photo_material}/{code}/photo-{n}.jpg"' in html
    assert "cards.zip" not in html and "share-files" not in html
    plain = seller_client.get(f"/h5/m/{photo_material}").get_data(as_text=True)
    assert "in-wechat" not in plain and "cards.zip" in plain


def test_cards_zip_holds_every_stamped_card_and_the_text(
    seller_client, seller_user, photo_material
):
    resp = seller_client.get(f"/h5/m/{photo_material}/cards.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    assert "attachment" in resp.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        names = zf.namelist()
        assert names == [f"{photo_material}-1.jpg", f"{photo_material}-2.jpg", "文案.txt"]
        assert all(zf.read(n)[:3] == b"\xff\xd8\xff" for n in names[:2])
        assert f"/r/{seller_user['referral_code']}/{photo_material}" in zf.read("文案.txt").decode()


def test_favorites(app, seller_client):
    mid = make_material(app, "收藏我")
    headers = {"X-CSRF-Token": seller_client.csrf, "Accept": "application/json"}
    assert "还没有收藏" in seller_client.get("/h5/favorites").get_data(as_text=True)
    assert seller_client.post(f"/h5/m/{mid}/favorite", headers=headers).get_json() == {
        "favorite": True
    }
    assert "收藏我" in seller_client.get("/h5/favorites").get_data(as_text=True)
    assert seller_client.post(f"/h5/m/{mid}/favorite", headers=headers).get_json() == {
        "favorite": False
    }
    draft = make_material(app, "草稿", publish=False)
    assert seller_client.post(f"/h5/m/{draft}/favorite", headers=headers).status_code == 404


def test_seller_stats_page(seller_client, client, seller_user, photo_material):
    client.post(f"/api/v1/materials/{photo_material}/forward", headers=seller_user["headers"])
    html = seller_client.get("/h5/stats").get_data(as_text=True)
    assert seller_user["referral_code"] in html and "防晒霜" in html
    assert "转发 1 · 点击 0 · 订单 0" in html and '<svg class="chart"' in html


def test_seller_pages_404_for_what_is_not_live(app, seller_client):
    draft = make_material(app, "草稿", publish=False)
    assert seller_client.get(f"/h5/m/{draft}").status_code == 404
    assert seller_client.get(f"/h5/m/{draft}/cards.zip").status_code == 404
    page = seller_client.get("/h5/m/999999")
    assert page.status_code == 404 and "找不到这个页面" in page.get_data(as_text=True)


ODD_NUMBERS = ["²", "١", "9" * 5000, "-1", "0", ""]


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_pages_take_any_number_argument(ops_client, seller_client, value):
    for client, url in [
        (ops_client, "/ops/?page="),
        (ops_client, "/ops/stats?days="),
        (seller_client, "/h5/?page="),
        (seller_client, "/h5/stats?days="),
    ]:
        assert client.get(url + value).status_code == 200, url
    resp = ops_client.post(
        "/ops/bulk", data={"ids": value, "action": "publish", "csrf_token": ops_client.csrf}
    )
    assert resp.status_code < 500
