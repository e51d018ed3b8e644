"""WeChat share data on the share page (/m/<id>) and the seller's page (/h5/m/<id>): present, with
a CSP allowing exactly WeChat's script origin, only on those pages and only while WeChat is
configured; nothing at all otherwise. In Chromium (-m browser): inside WeChat (its user agent)
our script fetches the config and calls wx.config and the share functions, with WeChat's SDK
answered by a recorder; elsewhere it loads nothing."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from materials.platform.deps import get_deps
from materials.sharing.wechat import JSSDK_SCRIPT, jssdk_signature
from tests.web.conftest import ready_material
from tests.wechat_standin import StandIn

APP_ID, SECRET = "wxsucai0000000002", "mp-secret"
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560(0x28002F30) NetType/WIFI"
)


@pytest.fixture
def standin():
    server = StandIn({APP_ID: SECRET}).start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings, request):
    """WeChat is configured for the tests that ask for the stand-in, and only for them."""
    if "standin" not in request.fixturenames:
        return settings
    url = request.getfixturevalue("standin").url
    return settings | {"WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SECRET, "WECHAT_API_URL": url}


@pytest.fixture
def live(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(
        client,
        ops_user,
        [(small_jpeg, "a.jpg")],
        title="婴儿纯棉连体衣",
        copy="A类纯棉，无荧光剂，宝宝贴身穿也放心。" * 5,
    )


def share_data(html: str) -> dict | None:
    match = re.search(r'<script type="application/json" id="wechat-share">(.*?)</script>', html)
    return json.loads(unescape(match.group(1))) if match else None


def script_src(resp) -> str:
    csp = resp.headers["Content-Security-Policy"]
    return next(d for d in csp.split("; ") if d.startswith("script-src "))


def test_nothing_wechat_while_it_is_not_configured(client, live, seller_client, seller_user):
    code = seller_user["referral_code"]
    for resp in (client.get(f"/m/{live}?ref={code}"), seller_client.get(f"/h5/m/{live}")):
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert (
            share_data(html) is None and "wechat-share" not in html and "res.wx.qq.com" not in html
        )
        assert script_src(resp) == "script-src 'self'"
    resp = client.get("/wechat/jssdk-config", query_string={"url": "http://127.0.0.1/m/1"})
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_the_share_page_carries_the_sellers_share_card(app, client, live, seller_user, standin):
    urls, code = get_deps(app).urls, seller_user["referral_code"]
    resp = client.get(f"/m/{live}?ref={code}")
    html = resp.get_data(as_text=True)
    data = share_data(html)
    assert data == {
        "sdk": JSSDK_SCRIPT,
        "config": "/wechat/jssdk-config",
        "jsApiList": ["updateAppMessageShareData", "updateTimelineShareData"],
        "share": {
            "title": "婴儿纯棉连体衣",
            "desc": data["share"]["desc"],
            "link": urls.referral(code, live),
            "imgUrl": urls.absolute(urls.card(live, code, "square")),
        },
    }
    desc = data["share"]["desc"]
    assert desc.startswith("A类纯棉，无荧光剂") and desc.endswith("…") and len(desc) == 60
    assert 'src="/static/js/wechat-share.js' in html
    assert script_src(resp) == "script-src 'self' https://res.wx.qq.com"
    assert "Set-Cookie" not in resp.headers
    assert standin.counts == {}  # a page costs WeChat nothing: only its script asks, for config


def test_without_a_code_the_share_card_is_the_page_and_its_photo(app, client, live, standin):
    urls = get_deps(app).urls
    share = share_data(client.get(f"/m/{live}?ref=ZZZZZZZ").get_data(as_text=True))["share"]
    assert share["link"] == urls.absolute(urls.share(live))
    assert share["imgUrl"].startswith(urls.absolute("/media/renditions/"))


def test_the_sellers_page_carries_their_share_card(app, live, seller_client, seller_user, standin):
    urls, code = get_deps(app).urls, seller_user["referral_code"]
    resp = seller_client.get(f"/h5/m/{live}")
    share = share_data(resp.get_data(as_text=True))["share"]
    assert share["link"] == urls.referral(code, live)
    assert share["imgUrl"] == urls.absolute(urls.card(live, code, "square"))
    assert script_src(resp) == "script-src 'self' https://res.wx.qq.com"


def test_only_those_pages_may_load_wechats_script(client, live, seller_client, standin):
    for resp in (
        client.get(f"/embed/{live}"),
        client.get("/signin"),
        seller_client.get("/h5/"),
        client.get("/wechat/jssdk-config", query_string={"url": "x"}),
    ):
        assert script_src(resp) == "script-src 'self'", resp.request.path


# ---------------------------------------------------------------- in Chromium

# WeChat's SDK as the page sees it, recording every call (res.wx.qq.com is not reachable here).
SDK_RECORDER = """
window.__wx = [];
window.wx = {
  config: function (c) { __wx.push(["config", c]); },
  ready: function (f) { setTimeout(f, 0); },
  error: function () {},
  updateAppMessageShareData: function (d) { __wx.push(["appMessage", d]); },
  updateTimelineShareData: function (d) { __wx.push(["timeline", d]); }
};
"""


def _open(browser, user_agent: str, url: str, sdk_requests: list, errors: list):
    context = browser.new_context(user_agent=user_agent, locale="zh-CN")

    def answer_sdk(route) -> None:
        sdk_requests.append(route.request.url)
        route.fulfill(body=SDK_RECORDER, content_type="text/javascript")

    context.route("https://res.wx.qq.com/**", answer_sdk)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.goto(url)
    return context, page


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"])
def test_inside_wechat_the_page_configures_the_sdk_and_sets_its_card(
    app, browser, live_server, live, seller_user, standin
):
    code, urls = seller_user["referral_code"], get_deps(app).urls
    page_url = f"{live_server}/m/{live}?ref={code}"
    sdk_requests, errors = [], []
    context, page = _open(browser, WECHAT_UA, page_url + "#photos", sdk_requests, errors)
    try:
        page.wait_for_function("() => window.__wx && window.__wx.length === 3")
        calls = dict(page.evaluate("() => window.__wx.map(c => [c[0], c[1]])"))
    finally:
        context.close()
    assert sdk_requests == [JSSDK_SCRIPT] and errors == []
    config = calls["config"]
    assert config["debug"] is False and config["appId"] == APP_ID
    assert config["jsApiList"] == ["updateAppMessageShareData", "updateTimelineShareData"]
    ticket = standin.tickets[-1]
    expected = jssdk_signature(ticket, config["nonceStr"], config["timestamp"], page_url)
    assert config["signature"] == expected  # signed for the URL without its #fragment
    card = urls.absolute(urls.card(live, code, "square"))
    assert calls["appMessage"]["link"] == urls.referral(code, live)
    assert calls["appMessage"]["imgUrl"] == card and calls["appMessage"]["desc"]
    assert calls["timeline"] == {
        "title": "婴儿纯棉连体衣",
        "link": urls.referral(code, live),
        "imgUrl": card,
    }


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded"])
def test_outside_wechat_the_page_loads_no_sdk_and_asks_nothing(browser, live_server, live, standin):
    sdk_requests, errors = [], []
    context, page = _open(
        browser, "Mozilla/5.0 Chrome/120", f"{live_server}/m/{live}", sdk_requests, errors
    )
    try:
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert sdk_requests == [] and errors == [] and standin.counts == {}
