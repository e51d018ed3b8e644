"""CSRF on every state-changing route, framing and security headers on every page, and hostile
copy shown as text in pages, embeds and oEmbed."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from app import create_app
from materials.catalogue.lifecycle import get_material
from materials.platform.deps import get_deps
from tests.helpers import make_user
from tests.web.conftest import csrf_from, ready_material

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FRAMEABLE = ("/embed/", "/embed.js")
ARG_RE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _path(rule, values: dict) -> str:
    """A concrete URL for a rule, filling each argument from `values` (or "1")."""
    return ARG_RE.sub(lambda m: str(values.get(m.group(1), "1")), rule.rule)


def unsafe_routes(app) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & UNSAFE):
            out.append((rule.endpoint, method, rule))
    return out


@pytest.fixture
def material(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(client, ops_user, [(small_jpeg, "a.jpg")])


# ---------------------------------------------------------------- CSRF


@pytest.mark.parametrize("who", ["ops", "seller"])
def test_every_state_changing_route_refuses_a_session_request_without_csrf(
    app, request, who, material
):
    client = request.getfixturevalue(f"{who}_client")
    routes = unsafe_routes(app)
    assert {"auth.signin", "auth.signout", "ops.bulk", "seller.favorite", "api.create"} <= {
        endpoint for endpoint, _, _ in routes
    }
    for endpoint, method, rule in routes:
        path = _path(rule, {"material_id": material, "material": material})
        resp = client.open(path, method=method, data={"action": "publish", "ids": [material]})
        assert resp.status_code == 403, (endpoint, method, resp.status_code)
        assert "CSRF" in resp.get_data(as_text=True) or "csrf" in resp.get_data(as_text=True)


def test_a_wrong_token_or_a_foreign_origin_is_refused_too(ops_client, material):
    path = f"/ops/m/{material}/unpublish"
    assert ops_client.post(path, data={"csrf_token": "forged"}).status_code == 403
    resp = ops_client.post(
        path, data={"csrf_token": ops_client.csrf}, headers={"Origin": "https://evil.example"}
    )
    assert resp.status_code == 403
    # An Origin urlsplit cannot parse is foreign too (was a 500), on the pages and the API.
    for url in (path, f"/api/v1/materials/{material}/unpublish"):
        resp = ops_client.post(
            url,
            data={"csrf_token": ops_client.csrf},
            headers={"Origin": "http://[::1", "X-CSRF-Token": ops_client.csrf},
        )
        assert resp.status_code == 403, url
    api = ops_client.post(
        f"/api/v1/materials/{material}/unpublish",
        headers={"Origin": "http://[::1", "X-CSRF-Token": ops_client.csrf},
    )
    assert api.get_json()["rule"] == "csrf_origin"
    assert ops_client.post(path, data={"csrf_token": ops_client.csrf}).status_code == 303


def test_sign_in_needs_a_token_even_without_a_cookie(app, ops_user):
    fresh = app.test_client()
    resp = fresh.post("/signin", data={"name": ops_user["name"], "password": "x"})
    assert resp.status_code == 403


def test_pages_calling_the_api_send_the_token_in_a_header(ops_client, material):
    url = f"/api/v1/materials/{material}/unpublish"
    assert ops_client.post(url).status_code == 403
    resp = ops_client.post(url, headers={"X-CSRF-Token": ops_client.csrf})
    assert resp.status_code == 200
    assert resp.get_json()["publication"]["state"] == "taken_down"


def test_bearer_tokens_work_unchanged_without_csrf(client, ops_user, material):
    resp = client.post(f"/api/v1/materials/{material}/unpublish", headers=ops_user["headers"])
    assert resp.status_code == 200
    resp = client.post(f"/api/v1/materials/{material}/unpublish")
    assert resp.status_code == 401 and "Bearer" in resp.headers["WWW-Authenticate"]


def _order(seller_user: dict, order_id: str) -> dict:
    return {"order_id": order_id, "referral_code": seller_user["referral_code"], "amount": "9.90"}


@pytest.fixture
def storefront(app) -> dict:
    shop = make_user(app, "小店", "storefront")
    return {"Authorization": f"Bearer {shop['token']}"}


@pytest.mark.parametrize("cookie", ["junk", ""])
def test_a_bearer_request_is_not_refused_for_a_cookie_without_a_session(
    app, storefront, seller_user, cookie
):
    # A storefront client that keeps cookies (ours or a stale one) got 403 on every write.
    client = app.test_client()
    client.set_cookie("sucai_session", cookie)
    resp = client.post("/api/v1/conversions", headers=storefront, json=_order(seller_user, "B-1"))
    assert resp.status_code == 201, resp.get_json()


def test_a_valid_bearer_token_wins_over_a_signed_in_session(ops_client, storefront, seller_user):
    # No CSRF token: the bearer header is what authenticates, and a browser never sends it by
    # itself. Had the ops session been used, the answer would be 403 (role).
    resp = ops_client.post(
        "/api/v1/conversions", headers=storefront, json=_order(seller_user, "B-2")
    )
    assert resp.status_code == 201, resp.get_json()


def test_a_session_request_without_a_token_is_refused(ops_client, seller_client, seller_user):
    for client in (ops_client, seller_client):
        resp = client.post("/api/v1/conversions", json=_order(seller_user, "B-3"))
        assert resp.status_code == 403 and resp.get_json()["rule"] == "csrf"


def test_pages_take_no_bearer_so_a_bearer_header_skips_no_csrf_there(ops_client, ops_user):
    resp = ops_client.post("/ops/bulk", data={"action": "publish"}, headers=ops_user["headers"])
    assert resp.status_code == 403 and "CSRF" in resp.get_data(as_text=True)


# ---------------------------------------------------------------- headers


def _get_paths(app, values: dict) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            paths.append(_path(rule, values))
    return paths


@pytest.mark.parametrize("who", ["anonymous", "ops", "seller"])
def test_every_page_refuses_framing_except_the_embeds(app, request, who, material, seller_user):
    client = app.test_client() if who == "anonymous" else request.getfixturevalue(f"{who}_client")
    key = get_material(get_deps(app), material).photos[0].rendition("thumb").key
    values = {
        "material_id": material,
        "material": material,
        "code": seller_user["referral_code"],
        "layout": "square",
        "key": key,
        "filename": "sucai.css",
    }
    paths = _get_paths(app, values) + ["/no-such-page", f"/m/{material}?ref=NOPE"]
    for path in paths:
        resp = client.get(path)
        resp.close()  # file responses (static, media) hold the file open until closed
        headers = resp.headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        csp = headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp, path
        if path.startswith(FRAMEABLE):
            assert "frame-ancestors *" in csp and "X-Frame-Options" not in headers, path
        else:
            assert "frame-ancestors 'none'" in csp, path
            assert headers["X-Frame-Options"] == "DENY", path


def test_cookies_are_httponly_and_samesite_lax(app, ops_user):
    client = app.test_client()
    resp = client.get("/signin")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_behind_https(settings):
    app = create_app(settings | {"PUBLIC_URL": "https://sucai.example.com"})
    try:
        resp = app.test_client().get("/signin")
        assert "Secure" in resp.headers["Set-Cookie"]
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        get_deps(app).db.dispose()


def test_the_embeds_neither_read_nor_set_a_session(ops_client, material, seller_user):
    code = seller_user["referral_code"]
    for path in (f"/embed/{material}?ref={code}", "/embed.js", f"/m/{material}?ref={code}"):
        resp = ops_client.get(path)
        body = resp.get_data(as_text=True)
        resp.close()
        assert resp.status_code == 200, path
        assert "Set-Cookie" not in resp.headers, path
        assert "Cookie" not in resp.headers.get("Vary", ""), path
        assert 'name="csrf-token"' not in body, path


# ---------------------------------------------------------------- hostile copy


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_LINK = '<a href="javascript:alert(1)">点我</a> javascript:alert(1)'
HOSTILE = {
    "title": f"防晒霜{SCRIPT}",
    "copy": f"好用{IMG}\n{JS_LINK}",
    "brand": IMG,
    "category": SCRIPT,
    "tags": [f"{IMG}"],
}
RAW = (SCRIPT, "<img src=x", "onerror=alert(1)>", 'href="javascript:', '<a href="javascript')


class PageScan(HTMLParser):
    """What a page would run: scripts, event handlers, javascript: URLs, inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.json_blocks: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("type") == "application/json":
                self._in_json = True
            elif not attrs.get("src"):
                self.problems.append("inline <script>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…> (CSP blocks it)")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"<{tag} {name}={value}>")
        if tag in ("img", "svg") and "x" == attrs.get("src"):
            self.problems.append("injected <img>")

    def handle_endtag(self, tag):  # noqa: ANN001
        if tag == "script":
            self._in_json = False

    def handle_data(self, data):  # noqa: ANN001
        if self._in_json:
            self.json_blocks.append(data)


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    return parser


@pytest.fixture
def hostile(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(client, ops_user, [(small_jpeg, "a.jpg")], **HOSTILE)


def _assert_text_only(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: {raw!r} reached the page unescaped"
    assert scan(html).problems == [], where


def test_hostile_copy_is_text_in_every_page(app, ops_client, seller_client, hostile, seller_user):
    code = seller_user["referral_code"]
    seller_client.post(f"/h5/m/{hostile}/favorite", headers={"X-CSRF-Token": seller_client.csrf})
    pages = {
        ops_client: ["/ops/", f"/ops/m/{hostile}", "/ops/?q=" + quote(SCRIPT), "/ops/stats"],
        seller_client: [
            "/h5/",
            "/h5/?tab=category",
            f"/h5/m/{hostile}",
            "/h5/search?q=" + quote("防晒"),
            "/h5/search?q=" + quote(SCRIPT),
            "/h5/favorites",
            "/h5/stats",
        ],
        app.test_client(): [
            f"/m/{hostile}",
            f"/m/{hostile}?ref={code}",
            f"/embed/{hostile}",
            f"/embed/{hostile}?ref={code}",
            "/signin?next=" + quote(IMG),
        ],
    }
    for client, paths in pages.items():
        for path in paths:
            resp = client.get(path)
            assert resp.status_code == 200, path
            html = resp.get_data(as_text=True)
            _assert_text_only(html, path)
            if "/h5/m/" in path or path.startswith("/m/") or path.startswith("/embed/"):
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_the_forward_payload_is_json_that_cannot_close_its_script_block(seller_client, hostile):
    html = seller_client.get(f"/h5/m/{hostile}").get_data(as_text=True)
    blocks = scan(html).json_blocks
    assert len(blocks) == 1
    payload = json.loads(blocks[0])
    assert IMG in payload["text"] and JS_LINK in payload["text"]  # the exact copy, as data


def test_hostile_copy_is_escaped_in_oembed_html(client, app, hostile, seller_user):
    base = get_deps(app).settings.PUBLIC_URL
    url = f"{base}/m/{hostile}?ref={seller_user['referral_code']}"
    body = client.get("/oembed", query_string={"url": url, "format": "json"}).get_json()
    assert body["title"] == HOSTILE["title"]  # JSON carries the text as it is
    html = body["html"]
    assert html.startswith("<iframe ") and html.endswith("></iframe>")
    _assert_text_only(html, "oembed html")
    assert 'title="防晒霜&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert html.count("<") == 2  # the iframe's open and close tags, nothing else


def test_hostile_search_input_is_shown_as_text(seller_client):
    resp = seller_client.get("/h5/search?q=" + quote(IMG))
    assert resp.status_code == 200
    _assert_text_only(resp.get_data(as_text=True), "search")


def test_csrf_token_is_on_every_form(ops_client, seller_client, hostile):
    for client, path in (
        (ops_client, "/ops/"),
        (ops_client, f"/ops/m/{hostile}"),
        (seller_client, f"/h5/m/{hostile}"),
        (seller_client, "/h5/stats"),
    ):
        html = client.get(path).get_data(as_text=True)
        forms = html.count('method="post"')
        assert forms and html.count('name="csrf_token"') >= forms, path
        assert csrf_from(html) == client.csrf


def test_public_404s_set_no_cookie(client):
    for url in ["/cards/999/ABCDEFG/square.jpg", "/r/ABCDEFG/999", "/m/999", "/embed/999"]:
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert "Set-Cookie" not in resp.headers, url
