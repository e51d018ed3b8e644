"""The three faces of the product driven in headless Chromium against a real server, the real
worker and (for search) the real indexer. Embedded backend only, to keep CI time down.

Screenshots land in /tmp/shots (SUCAI_SHOTS overrides) for people to look at."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from media.samples import jpeg_bytes, product_image
from tests.conftest import free_port
from tests.helpers import wait_until
from tests.materials.factory import make_material
from tests.web.conftest import PASSWORD, ready_material

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(os.environ.get("SUCAI_SHOTS", "/tmp/shots"))
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "zh-CN",
}
# WeChat's in-app browser on Android (XWEB), and the phone's own Chrome.
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160027 MMWEBSDK/20231202 "
    "MMWEBID/2307 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI "
    "Language/zh_CN ABI/arm64"
)
CHROME_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture
def backend() -> str:
    return "embedded"


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def console_errors():
    """Collects page errors and CSP violations; a test ends by asserting there were none."""
    return []


def watch(page, errors: list) -> None:
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )


SMALL_TAP_TARGETS_JS = """
() => [...document.querySelectorAll('a[href], button, select, input:not([type=hidden])')]
  .filter(e => !e.closest('[hidden]') && e.getClientRects().length)
  .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
  .map(e => e.outerHTML.slice(0, 100))
"""


def small_tap_targets(page) -> list[str]:
    """Phone pages: everything a thumb taps is at least 44 x 44 CSS px."""
    return page.evaluate(SMALL_TAP_TARGETS_JS)


def sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


# ---------------------------------------------------------------- ops


DROP_FILES_JS = """
(files) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  return dt;
}
"""


def _photo(seed: int) -> bytes:
    # Big enough that a throttled upload takes a moment, so progress can be seen mid-way.
    return jpeg_bytes(product_image(1800, 1800, seed=seed), quality=97)


def test_ops_drops_files_sees_progress_then_ready_and_publishes(
    browser, live_server, worker, ops_user, short_clip, shots, console_errors
):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, ops_user["name"])
    assert page.url.endswith("/ops/")

    page.goto(f"{live_server}/ops/new")
    page.fill("input[name=title]", "夏季清爽防晒霜 SPF50+")
    page.fill("textarea[name=copy]", "轻薄不油腻，一抹成膜！")
    page.fill("input[name=price]", "89.00")
    page.fill("input[name=product_url]", "https://shop.example.com/item/1")
    page.fill("input[name=tags]", "防晒, 夏季")
    files = [
        {"name": f"photo-{i}.jpg", "type": "image/jpeg", "b64": base64.b64encode(_photo(i))}
        for i in range(3)
    ] + [{"name": "clip.mp4", "type": "video/mp4", "b64": base64.b64encode(short_clip)}]
    data_transfer = page.evaluate_handle(
        DROP_FILES_JS, [f | {"b64": f["b64"].decode()} for f in files]
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("#drop-zone", event, {"dataTransfer": data_transfer})
    assert page.locator(".file-row").count() == 4

    # Slow the upload down (Chromium's own network throttling) so the bars move visibly.
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    page.click("#upload-button")
    page.wait_for_function(
        """() => {
          const bars = [...document.querySelectorAll('.file-bar')].map(b => b.value);
          return bars[0] === 100 && bars[1] > 0 && bars[bars.length - 1] < 100;
        }"""
    )
    page.screenshot(path=str(shots / "ops-upload-progress.png"), full_page=True)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    page.wait_for_selector("#after-upload[data-status=ready]", timeout=60_000)
    assert "全部就绪" in page.inner_text("#after-title")
    states = page.eval_on_selector_all(".file-row", "rows => rows.map(r => r.dataset.state)")
    assert states == ["ready"] * 4
    bars = page.eval_on_selector_all(".file-bar", "bars => bars.map(b => b.value)")
    assert bars == [100] * 4
    page.screenshot(path=str(shots / "ops-upload-ready.png"), full_page=True)

    page.click("#publish-now")
    page.wait_for_selector(".flash-ok")
    assert "已发布" in page.inner_text(".flash-ok")
    assert page.locator(".badge-published").count() >= 1
    assert console_errors == []
    context.close()


def test_ops_sees_why_processing_failed_and_retries(
    app, browser, live_server, paused_worker, ops_user, small_jpeg, console_errors, tmp_path
):
    """A photo whose body is cut off fails in the worker (one in storage from before the
    upload checks refused such files): the page shows the reason; once the file is good,
    Retry makes it ready."""
    from materials.models import Asset
    from materials.platform.deps import get_deps

    good = tmp_path / "good.jpg"
    good.write_bytes(small_jpeg)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(small_jpeg)  # good at upload; cut in storage before the worker starts
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, ops_user["name"])
    page.goto(f"{live_server}/ops/new")
    page.fill("input[name=title]", "断图测试")
    page.fill("input[name=price]", "9.90")
    page.fill("input[name=product_url]", "https://shop.example.com/item/2")
    page.set_input_files("#file-input", [str(good), str(cut)])
    page.click("#upload-button")
    page.wait_for_selector("#after-upload[data-status=processing]", timeout=60_000)
    deps = get_deps(app)
    with deps.db.read() as s:
        key = s.query(Asset).filter(Asset.original_filename == "cut.jpg").one().key
    deps.storage.put_bytes(key, small_jpeg[: len(small_jpeg) // 3], "image/jpeg")
    paused_worker()
    page.wait_for_selector("#after-upload[data-status=failed]", timeout=60_000)
    assert "处理失败" in page.inner_text("#after-title")
    assert "cut.jpg" in page.inner_text("#after-error")
    assert page.is_visible("#retry-button")

    deps.storage.put_bytes(key, small_jpeg, "image/jpeg")  # as if the file were fixed
    page.click("#retry-button")
    page.wait_for_selector("#after-upload[data-status=ready]", timeout=60_000)
    assert page.is_hidden("#retry-button") and page.is_visible("#publish-now")
    assert console_errors == []
    context.close()


# ---------------------------------------------------------------- seller


@pytest.fixture
def sunscreen(client, ops_user, small_jpeg, short_clip) -> int:
    return ready_material(
        client,
        ops_user,
        [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg")],
        (short_clip, "clip.mp4"),
        title="夏季清爽防晒霜 SPF50+",
        copy="轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。",
    )


def _search(page, text: str) -> None:
    page.fill("#search-q", text)
    page.press("#search-q", "Enter")


def _indexed(client, headers: dict, q: str) -> bool:
    resp = client.get("/api/v1/search", query_string={"q": q}, headers=headers)
    return resp.status_code == 200 and resp.get_json()["total"] > 0


def _forward_count(client, ops_user: dict, material_id: int) -> int:
    resp = client.get(f"/api/v1/materials/{material_id}", headers=ops_user["headers"])
    return resp.get_json()["forward_count"]


def test_seller_searches_opens_and_forwards_to_the_clipboard(
    browser,
    live_server,
    worker,
    indexer,
    sunscreen,
    client,
    ops_user,
    seller_user,
    shots,
    console_errors,
):
    # The indexer follows the change log on its own; start once it has the material.
    wait_until(lambda: _indexed(client, seller_user["headers"], "防晒"), timeout=30)
    context = browser.new_context(**PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, seller_user["name"])
    assert page.url.endswith("/h5/")
    page.wait_for_selector(".item")
    page.screenshot(path=str(shots / "seller-feed.png"))
    assert small_tap_targets(page) == []

    page.tap(".tabbar a[href='/h5/search']")
    page.wait_for_selector("#search-q")
    for query in ("防晒", "fangshai"):  # Chinese, then pinyin (only the search service can)
        _search(page, query)
        page.wait_for_function(
            "(q) => location.search.includes('q=' + encodeURIComponent(q))"
            " && document.querySelector('#search-results .item')",
            arg=query,
            timeout=15_000,
        )
        titles = page.inner_text("#search-results")
        assert "防晒霜" in titles, f"{query!r} found nothing"
    page.screenshot(path=str(shots / "seller-search.png"))
    assert small_tap_targets(page) == []

    page.tap("#search-results .item a")
    page.wait_for_url(f"**/h5/m/{sunscreen}")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.nine-grid img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".nine-grid img").count() == 2
    page.screenshot(path=str(shots / "seller-material.png"))
    assert small_tap_targets(page) == []

    page.tap("#forward-button")
    page.wait_for_selector("#forward-sheet:not([hidden])")
    page.wait_for_function(
        "() => document.querySelector('#copy-status').textContent.includes('已复制')"
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    code = seller_user["referral_code"]
    assert "轻薄不油腻，一抹成膜" in copied
    assert f"{live_server}/r/{code}/{sunscreen}" in copied
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sheet-cards img')].every(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=str(shots / "seller-forward-sheet.png"))
    assert small_tap_targets(page) == []
    zip_href = page.get_attribute("#save-zip", "href")
    assert zip_href == f"/h5/m/{sunscreen}/cards.zip"
    # The tap also told the share API, which counts the forward.
    wait_until(lambda: _forward_count(client, ops_user, sunscreen) == 1, timeout=10)
    assert console_errors == []
    context.close()


# A phone with a 3x screen (most Android phones sellers hold), as WeChat's test wants it.
PHONE_3X = PHONE | {"device_scale_factor": 3}
NO_OVERFLOW_JS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_seller_forwards_inside_wechat(
    browser,
    live_server,
    worker,
    sunscreen,
    client,
    ops_user,
    seller_user,
    shots,
    console_errors,
):
    """WeChat's in-app browser: the page leads with the text (one tap copies it with the
    seller's link), then every card full width and numbered, as real images to long-press; no
    ZIP; the video's cover, the way out to the system browser with a copyable link, and the
    video itself."""
    context = browser.new_context(**PHONE_3X, user_agent=WECHAT_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, seller_user["name"])
    page.goto(f"{live_server}/h5/m/{sunscreen}")
    assert page.evaluate("document.body.classList.contains('in-wechat')")
    assert page.locator("#save-zip, #share-files, #forward-sheet, .nine-grid").count() == 0
    assert "长按图片，保存或发送给朋友" in page.inner_text("#wx-cards")
    # The text comes first: step 1 sits above the cards, the copy button under the thumb.
    assert page.locator(".wx-step").first.get_attribute("id") == "wx-copy"
    assert page.inner_text("#forward-button").strip() == "复制正文"
    page.screenshot(path=str(shots / "wechat-material.png"))

    cards = page.locator(".wx-gallery img")
    assert cards.count() == 2
    for n in range(2):
        cards.nth(n).scroll_into_view_if_needed()
        cards.nth(n).evaluate("img => img.decode()")
        box = cards.nth(n).bounding_box()
        assert box["width"] >= 330, box  # full width of a 360 px screen, less the margins
        assert cards.nth(n).evaluate("img => img.closest('a')") is None  # long-press the image
    assert page.eval_on_selector_all(".wx-num", "ns => ns.map(n => n.textContent)") == [
        "1/2",
        "2/2",
    ]
    assert page.evaluate(NO_OVERFLOW_JS)
    assert small_tap_targets(page) == []

    page.tap("#forward-button")
    page.wait_for_function(
        "() => document.querySelector('#copy-status').textContent.includes('已复制')"
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "轻薄不油腻，一抹成膜" in copied
    assert f"{live_server}/r/{seller_user['referral_code']}/{sunscreen}" in copied
    assert "已复制" in page.inner_text("#forward-button")
    page.screenshot(path=str(shots / "wechat-copied.png"))

    video = page.locator("#wx-video")
    video.scroll_into_view_if_needed()
    assert "在浏览器打开" in video.inner_text()
    stamped = f"/cards/{sunscreen}/{seller_user['referral_code']}/video.mp4"
    assert page.get_attribute("#wx-video video", "src") == stamped
    assert page.evaluate(PLAY_TO_THE_END_JS) == pytest.approx(4.0, abs=0.15)  # 2 s + end card
    page.locator("#wx-video .wx-poster").evaluate("img => img.decode()")
    page.tap("#copy-link")
    page.wait_for_function(
        "() => document.querySelector('#link-status').textContent.includes('已复制')"
    )
    page_link = f"{live_server}/h5/m/{sunscreen}"
    assert page.evaluate("navigator.clipboard.readText()") == page_link
    page.screenshot(path=str(shots / "wechat-video.png"))
    page.screenshot(path=str(shots / "wechat-material-full.png"), full_page=True)
    assert small_tap_targets(page) == []
    # Copying twice counts one forward.
    page.tap("#forward-button")
    wait_until(lambda: _forward_count(client, ops_user, sunscreen) == 1, timeout=10)
    assert console_errors == []
    context.close()


# The stamped video (the 2 s clip and the seller's 2 s end card), loaded and shown at its end.
PLAY_TO_THE_END_JS = """async () => {
  const v = document.querySelector('#wx-video video');
  v.preload = 'auto';
  const loaded = new Promise((ok, no) => {
    v.onloadedmetadata = ok;
    v.onerror = () => no(new Error('video error ' + (v.error && v.error.code)));
  });
  v.load();
  await loaded;
  const seeked = new Promise((ok) => { v.onseeked = ok; });
  v.currentTime = v.duration - 0.05;
  await seeked;
  return v.duration;
}"""


# Web Share with files, as Android Chrome has it; headless Chromium here has none.
FAKE_WEB_SHARE_JS = """
navigator.canShare = (data) => !!(data && data.files && data.files.length);
navigator.share = (data) => {
  window.__shared = data.files.map(f => f.name);
  return Promise.resolve();
};
"""


def test_seller_forward_outside_wechat_offers_web_share_and_the_zip(
    browser, live_server, worker, sunscreen, seller_user, shots, console_errors
):
    context = browser.new_context(**PHONE_3X, user_agent=CHROME_UA)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    context.add_init_script(FAKE_WEB_SHARE_JS)
    page = context.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, seller_user["name"])
    page.goto(f"{live_server}/h5/m/{sunscreen}")
    assert not page.evaluate("document.body.classList.contains('in-wechat')")
    assert page.locator(".wx-gallery").count() == 0
    # The cards were fetched ahead of the tap, so the tap itself can share them.
    page.wait_for_selector("#share-files:not([hidden])", state="attached")
    page.tap("#forward-button")
    page.wait_for_selector("#forward-sheet:not([hidden])")
    page.wait_for_function("() => window.__shared && window.__shared.length === 2")
    assert page.evaluate("window.__shared") == ["sucai-1.jpg", "sucai-2.jpg"]
    assert page.is_visible("#save-zip") and page.is_visible("#share-files")
    assert page.get_attribute("#save-zip", "href") == f"/h5/m/{sunscreen}/cards.zip"
    page.screenshot(path=str(shots / "chrome-forward-sheet.png"))
    assert small_tap_targets(page) == []
    assert console_errors == []
    context.close()


def test_wechat_missed_by_the_server_is_caught_by_the_page(
    browser, live_server, worker, sunscreen, seller_user, shots, console_errors
):
    """A proxy that rewrites the User-Agent header: the server renders the sheet, the page
    still sees WeChat and leaves out what WeChat refuses (the ZIP, Web Share)."""
    context = browser.new_context(**PHONE_3X, user_agent=WECHAT_UA)
    context.route(
        "**/h5/m/*",
        lambda route: route.continue_(headers=route.request.headers | {"user-agent": CHROME_UA}),
    )
    page = context.new_page()
    watch(page, console_errors)
    sign_in(page, live_server, seller_user["name"])
    page.goto(f"{live_server}/h5/m/{sunscreen}")
    assert page.locator("#forward-sheet").count() == 1  # the server did not see WeChat
    page.tap("#forward-button")
    page.wait_for_selector("#forward-sheet:not([hidden])")
    assert page.evaluate("document.body.classList.contains('in-wechat-js')")
    assert page.is_hidden("#save-zip") and page.is_hidden("#share-files")
    assert page.inner_text("#sheet-hint") == "长按图片，保存或发送给朋友"
    page.screenshot(path=str(shots / "wechat-fallback-sheet.png"))
    assert console_errors == []
    context.close()


def test_feed_loads_more_as_the_seller_scrolls(app, browser, live_server, seller_user):
    for i in range(15):
        make_material(app, f"商品{i:02d}", price_cents=1000 + i)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server, seller_user["name"])
    assert page.locator(".item").count() == 12
    page.mouse.wheel(0, 20_000)  # IntersectionObserver sees the sentinel: the next page loads
    page.wait_for_function("() => document.querySelectorAll('.item').length === 15")
    page.locator("#end").wait_for()
    assert "没有更多了" in page.inner_text("#end")
    context.close()


# ---------------------------------------------------------------- embed from another origin


@pytest.fixture
def storefront_page(live_server, sunscreen, seller_user):
    """A static storefront page on another port of 127.0.0.1: a different origin."""
    html = (
        "<!doctype html><meta charset=utf-8><title>小店</title>"
        "<body style='font-family:sans-serif;background:#fafafa'><h1>本店推荐</h1>"
        f"<div data-sucai-material='{sunscreen}' data-sucai-ref='{seller_user['referral_code']}'>"
        "加载中…</div>"
        f"<script src='{live_server}/embed.js'></script></body>"
    ).encode()
    with serving_html(lambda: html) as url:
        yield url


@contextlib.contextmanager
def serving_html(body: Callable[[], bytes]) -> Iterator[str]:
    """A tiny HTTP server on another port of 127.0.0.1 (another origin) answering every GET
    with the page `body()` gives; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            html = body()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):  # quiet
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    thread.join(10)


def test_embed_renders_on_another_origin(
    browser, live_server, worker, storefront_page, sunscreen, seller_user, shots, console_errors
):
    context = browser.new_context(viewport={"width": 480, "height": 900})
    page = context.new_page()
    watch(page, console_errors)
    embed_responses = []
    page.on("response", lambda r: embed_responses.append(r) if "/embed/" in r.url else None)
    page.goto(storefront_page)
    frame = page.frame_locator("iframe")
    frame.locator(".w-buy").wait_for()
    href = frame.locator(".w-buy").get_attribute("href")
    assert href == f"/r/{seller_user['referral_code']}/{sunscreen}"
    frame.locator(".w-img img").evaluate("img => img.decode()")
    # embed.js sized the iframe to the widget from the height the widget posted.
    wait_until(lambda: page.eval_on_selector("iframe", "f => f.style.height") != "520px", 10)
    height = page.eval_on_selector("iframe", "f => f.getBoundingClientRect().height")
    inner = frame.locator("#widget").evaluate("w => w.getBoundingClientRect().height")
    assert abs(height - inner) <= 2
    assert embed_responses and all("set-cookie" not in r.headers for r in embed_responses)
    page.screenshot(path=str(shots / "embed.png"), full_page=True)
    assert console_errors == []
    context.close()


class ConsumerPage:
    """A page on another origin (another port of 127.0.0.1) whose HTML a test sets."""

    html = ""
    url = ""


@pytest.fixture
def consumer_page():
    page = ConsumerPage()
    with serving_html(lambda: page.html.encode()) as url:
        page.url = url
        yield page


def test_oembed_declares_the_height_the_widget_renders(
    browser, live_server, worker, client, sunscreen, seller_user, consumer_page, shots
):
    """A consumer pastes oEmbed's html as it is: the iframe at the declared size must show the
    whole widget, no scrollbar and no blank strip, with and without a seller's code, at our
    width and at a narrower maxwidth."""
    context = browser.new_context(viewport={"width": 800, "height": 900}, locale="zh-CN")
    page = context.new_page()
    for ref in (seller_user["referral_code"], None):
        for maxwidth in (None, 240):
            share = f"{live_server}/m/{sunscreen}" + (f"?ref={ref}" if ref else "")
            query = {"url": share} | ({"maxwidth": maxwidth} if maxwidth else {})
            body = client.get("/oembed", query_string=query).get_json()
            consumer_page.html = f"<!doctype html><body style='margin:0'>{body['html']}</body>"
            page.goto(consumer_page.url)
            frame = page.frame_locator("iframe")
            frame.locator("#widget img").evaluate("img => img.decode()")
            rendered = frame.locator("html").evaluate(
                "h => [h.scrollHeight, document.getElementById('widget')"
                ".getBoundingClientRect().height]"
            )
            assert rendered[0] == body["height"], (ref, maxwidth, rendered, body["height"])
            assert abs(rendered[1] - body["height"]) <= 1, (ref, maxwidth, rendered)
            name = f"oembed-{'ref' if ref else 'plain'}-{body['width']}.png"
            page.screenshot(path=str(shots / name))
    context.close()
