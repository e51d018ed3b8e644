"""Issue 11's try-out post end to end in headless Chromium, against a real server, the real
worker and the real indexer: a seller on a 360×740 phone inside WeChat posts photos from a
material's page; ops approve it in the console; a second seller finds it by search and forwards
it with their own code; its cards credit the author and decode to the second seller's link.

Screenshots land in /tmp/shots (SUCAI_SHOTS) as posts-*.png."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image

from materials.platform.deps import get_deps
from materials.sharing import cards
from media.samples import jpeg_bytes, product_image
from tests.helpers import make_user, wait_until
from tests.web.conftest import PASSWORD, ready_material
from tests.web.test_browser import PHONE, SHOTS, WECHAT_UA, sign_in, small_tap_targets, watch

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TEXT = "带娃去海边暴晒一下午，补涂两次没晒黑，也不闷痘。"


@pytest.fixture
def backend() -> str:
    return "embedded"


@pytest.fixture
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def console_errors() -> list:
    return []


@pytest.fixture
def origin(client, ops_user, small_jpeg) -> int:
    return ready_material(
        client,
        ops_user,
        [(small_jpeg, "a.jpg")],
        title="夏季清爽防晒霜 SPF50+",
        copy="轻薄不油腻，一抹成膜！",
    )


@pytest.fixture
def second_seller(app) -> dict:
    user = make_user(app, "社区店阿芳", "seller", PASSWORD)
    return user | {"headers": {"Authorization": f"Bearer {user['token']}"}}


def qr_text(jpeg: bytes) -> list[str]:
    with Image.open(io.BytesIO(jpeg)) as image:
        image.load()
        return [b.text for b in zxingcpp.read_barcodes(image)]


def _phone(browser, live_server):
    context = browser.new_context(**PHONE, user_agent=WECHAT_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    return context


def test_a_post_from_a_phone_is_approved_found_and_forwarded_with_anothers_code(
    app,
    browser,
    live_server,
    worker,
    indexer,
    client,
    origin,
    ops_user,
    seller_user,
    second_seller,
    shots,
    tmp_path,
    console_errors,
):
    photos = []
    for i in range(3):
        path = tmp_path / f"try-{i}.jpg"
        path.write_bytes(jpeg_bytes(product_image(1200, 1600, seed=20 + i)))
        photos.append(str(path))

    # 1. The author, in WeChat on a 360×740 phone, writes a post from the material's page.
    author = _phone(browser, live_server)
    page = author.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, seller_user["name"])
    page.goto(f"{live_server}/h5/m/{origin}")
    page.locator("#write-post").scroll_into_view_if_needed()
    page.tap("#write-post")
    page.wait_for_url(f"**/h5/m/{origin}/post")
    page.fill("textarea[name=text]", TEXT)
    page.set_input_files("#post-photos", photos)
    assert small_tap_targets(page) == []
    page.screenshot(path=str(shots / "posts-form.png"), full_page=True)
    page.tap("#post-submit")
    page.wait_for_url("**/h5/posts*")
    post = page.locator(".post").first
    post_id = int(post.get_attribute("id").removeprefix("post-"))
    assert post.get_attribute("data-review") == "pending"
    assert "待审核" in post.inner_text()
    assert small_tap_targets(page) == []
    page.screenshot(path=str(shots / "posts-mine-pending.png"), full_page=True)
    # Pending: not on the share page, not a card.
    assert client.get(f"/m/{post_id}").status_code == 404

    # 2. Ops approve it in the console.
    console = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    ops_page = console.new_page()
    watch(ops_page, console_errors)
    sign_in(ops_page, live_server, ops_user["name"])
    ops_page.goto(f"{live_server}/ops/review/")
    item = ops_page.locator(f"#review-{post_id}")
    assert TEXT in item.inner_text() and seller_user["name"] in item.inner_text()
    # Thumbnails show once the worker has made them (the page does not update itself).
    wait_until(lambda: _processed(client, ops_user, post_id), timeout=60)
    ops_page.reload()
    assert ops_page.locator(f"#review-{post_id} .review-photos img").count() == 3
    ops_page.screenshot(path=str(shots / "posts-ops-review.png"), full_page=True)
    ops_page.click(f"[data-approve='{post_id}']")
    ops_page.wait_for_selector(".flash-ok")
    assert "已通过" in ops_page.inner_text(".flash-ok")
    console.close()

    # 3. A second seller finds it by search (once processed and indexed) and opens it.
    def indexed():
        resp = client.get(
            "/api/v1/search", query_string={"q": "补涂"}, headers=second_seller["headers"]
        )
        return resp.status_code == 200 and post_id in [h["id"] for h in resp.get_json()["items"]]

    wait_until(indexed, timeout=90)
    other = _phone(browser, live_server)
    page2 = other.new_page()
    watch(page2, console_errors)
    sign_in(page2, live_server, second_seller["name"])
    page2.goto(f"{live_server}/h5/search")
    page2.fill("#search-q", "补涂")
    page2.press("#search-q", "Enter")
    page2.wait_for_function(
        "() => document.querySelector('#search-results .item-author')", timeout=15_000
    )
    assert f"作者 {seller_user['name']}" in page2.inner_text("#search-results")
    page2.screenshot(path=str(shots / "posts-search.png"))
    page2.tap(f"#search-results a[href='/h5/m/{post_id}']")
    page2.wait_for_url(f"**/h5/m/{post_id}")
    assert f"作者 {seller_user['name']}" in page2.inner_text(".author-credit")
    gallery = page2.locator(".wx-gallery img")
    assert gallery.count() == 3
    for n in range(3):
        gallery.nth(n).scroll_into_view_if_needed()
        gallery.nth(n).evaluate("img => img.decode()")
    page2.screenshot(path=str(shots / "posts-second-seller-page.png"), full_page=True)

    # 4. They forward it: the text with their own link, the cards with their own code.
    page2.tap("#forward-button")
    page2.wait_for_function(
        "() => document.querySelector('#copy-status').textContent.includes('已复制')"
    )
    link = f"{live_server}/r/{second_seller['referral_code']}/{post_id}"
    copied = page2.evaluate("navigator.clipboard.readText()")
    assert TEXT in copied and link in copied
    assert small_tap_targets(page2) == []
    code = second_seller["referral_code"]
    srcs = gallery.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")
    big = [f"/cards/{post_id}/{code}/{layout}.jpg" for layout in ("square", "poster", "story")]
    for src in srcs + big:
        resp = client.get(src)
        assert resp.status_code == 200, src
        assert qr_text(resp.data) == [link], src
        (shots / f"posts-card-{src.rsplit('/', 1)[-1]}").write_bytes(resp.data)
    # The credit is in what the cards were drawn from (the pixels: tests/media/test_card_author).
    deps = get_deps(app)
    for layout in ("square", "photo-1"):
        spec = cards.resolve(deps, str(post_id), code, layout, now=_now())
        assert spec.content.author == seller_user["name"] and spec.seller_name == "社区店阿芳"

    # 5. The author sees the forward the second seller made.
    page.goto(f"{live_server}/h5/posts")
    reach = page.locator(f"#post-{post_id} .post-reach").inner_text()
    assert "他人转发\n1" in reach, reach
    assert "已通过" in page.inner_text(f"#post-{post_id}")
    page.screenshot(path=str(shots / "posts-mine-approved.png"), full_page=True)
    assert console_errors == []
    author.close()
    other.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _processed(client, ops_user: dict, post_id: int) -> bool:
    resp = client.get(f"/api/v1/posts/{post_id}", headers=ops_user["headers"])
    return resp.get_json()["status"] == "ready"
