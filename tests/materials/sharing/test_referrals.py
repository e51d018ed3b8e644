"""GET /r/<code>/<material> (redirect, click counting, no open redirect) and
POST /api/v1/conversions (exactly-once attribution), on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from materials.models import Click, Conversion
from materials.platform.deps import get_deps
from materials.sharing.bots import is_bot, is_unfurler
from materials.sharing.referrals import with_ref
from media.samples import jpeg_bytes, product_image
from tests.materials.sharing.helpers import PUBLIC, live_material, seller_user, storefront_user

PRODUCT = "https://shop.example.com/item/7?color=red&size=M%20L&ref=OLD#reviews"
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.43(0x18002b2c) NetType/WIFI"
)
ANDROID = "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 Chrome/118 Mobile"
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.18.78 i",
    "TelegramBot (like TwitterBot)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "",
]


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg_bytes(product_image(800, 600, seed=5))


@pytest.fixture
def material(client, ops, worker, photo) -> dict:
    return live_material(client, ops, [photo], product_url=PRODUCT)


@pytest.fixture
def visitor(app):
    return app.test_client()  # a buyer's phone: no cookies shared with the API clients


def tap(visitor, code, material_id, ua=PHONE, ip="203.0.113.7", method="GET", **headers):
    return visitor.open(
        f"/r/{code}/{material_id}",
        method=method,
        headers={"User-Agent": ua, **headers},
        environ_base={"REMOTE_ADDR": ip},
    )


def clicks(app) -> list[Click]:
    with get_deps(app).db.read() as s:
        return list(s.scalars(select(Click).order_by(Click.id)))


def expected(code: str) -> str:
    return f"https://shop.example.com/item/7?color=red&size=M%20L&ref={code}#reviews"


# ---------------------------------------------------------------- redirect


def test_redirects_to_the_stored_url_with_the_code(visitor, material, seller):
    resp = tap(visitor, seller["referral_code"], material["id"])
    assert resp.status_code == 302
    assert resp.headers["Location"] == expected(seller["referral_code"])
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in resp.headers


def test_with_ref_keeps_the_storefronts_query_as_written():
    assert with_ref("https://s.example/p", "ref", "AB23CD") == "https://s.example/p?ref=AB23CD"
    assert with_ref("https://s.example/p?a=1&&b=%E4%BD%A0#x", "ref", "AB23CD") == (
        "https://s.example/p?a=1&b=%E4%BD%A0&ref=AB23CD#x"
    )
    assert with_ref("https://s.example/p?REF=1&r%65f=2", "ref", "C") == (
        "https://s.example/p?REF=1&ref=C"  # names compare decoded and case-sensitively
    )
    assert with_ref("https://s.example/p?ref", "ref", "C") == "https://s.example/p?ref=C"
    assert with_ref("https://s.example/商品?色=红#评价", "ref", "C") == (
        "https://s.example/%E5%95%86%E5%93%81?%E8%89%B2=%E7%BA%A2&ref=C#%E8%AF%84%E4%BB%B7"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/r//evil.example",
        "/r/{code}//evil.example",
        "/r/{code}/%2F%2Fevil.example",
        "/r/{code}/%2f%2fevil.example%2f{mid}",
        "/r/{code}/\\evil.example",
        "/r/{code}/%5Cevil.example",
        "/r/{code}/https:evil.example",
        "/r/{code}/https%3A%2F%2Fevil.example",
        "/r/{code}/{mid}%2F%2Fevil.example",
        "/r/{code}/{mid}%23@evil.example",
        "/r/{code}/{mid}@evil.example",
        "/r/{code}/{mid}/evil.example",
        "/r/{code}/{mid}/",
        "/r///evil.example/{mid}",
        "/r/%2F%2Fevil.example/{mid}",
        "/r/%5C%5Cevil.example/{mid}",
        "/r/https:evil.example/{mid}",
        "/r/{code}%2F..%2F..%2Fevil.example/{mid}",
        "/r/{code}/{mid}?next=//evil.example",
        "/r/{code}/{mid}?url=https:evil.example&redirect=%2F%5Cevil.example",
        "/r/{code}/{mid}?ref=//evil.example&ref=https:evil.example",
        "/r/{code}/{mid}#//evil.example",
    ],
)
def test_no_open_redirect(visitor, material, seller, path):
    code, mid = seller["referral_code"], material["id"]
    resp = visitor.get(path.format(code=code, mid=mid), headers={"User-Agent": PHONE})
    assert resp.status_code in (302, 404)
    location = resp.headers.get("Location", "")
    assert "evil" not in location.lower()
    if resp.status_code == 302:
        assert location == expected(code)


def test_unknown_code_or_material_is_404_and_not_counted(app, visitor, material, seller):
    for code, mid in [
        ("ZZZZZZZ", material["id"]),
        ("abc", material["id"]),
        (seller["referral_code"], 99999),
        (seller["referral_code"], 10**17),
        (seller["referral_code"], "x1"),
        (seller["referral_code"], f"0{material['id']}"),
    ]:
        assert tap(visitor, code, mid).status_code == 404
    assert clicks(app) == []
    ops_user = app.test_client().get  # an ops user's name is not a referral code
    assert ops_user("/r/ops/1").status_code == 404


def test_taken_down_or_expired_redirects_without_counting(app, client, ops, visitor, material):
    seller = seller_user(app, "下架测试")
    code, mid = seller["referral_code"], material["id"]
    client.post(f"/api/v1/materials/{mid}/unpublish", headers=ops["headers"])
    resp = tap(visitor, code, mid)
    assert resp.status_code == 302 and resp.headers["Location"] == expected(code)
    window = {
        "publish_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "take_down_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    }
    client.post(f"/api/v1/materials/{mid}/publish", headers=ops["headers"], json=window)
    assert tap(visitor, code, mid).status_code == 302
    assert clicks(app) == []


def test_draft_and_scheduled_are_404(app, client, ops, worker, visitor, photo, seller):
    from tests.helpers import post_upload

    resp = post_upload(client, ops["headers"], [(photo, "a.jpg")])
    draft = resp.get_json()["id"]
    assert tap(visitor, seller["referral_code"], draft).status_code == 404
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    url = f"/api/v1/materials/{draft}/publish"
    client.post(url, headers=ops["headers"], json={"publish_at": soon})
    assert tap(visitor, seller["referral_code"], draft).status_code == 404
    assert clicks(app) == []


# ---------------------------------------------------------------- click counting


def test_clicks_are_deduplicated_per_visitor_within_the_window(app, visitor, material, seller):
    code, mid = seller["referral_code"], material["id"]
    tap(visitor, code, mid)
    tap(visitor, code, mid)  # the same phone again
    tap(visitor, code, mid, ua=ANDROID)  # another phone behind the same IP
    tap(visitor, code, mid, ip="198.51.100.9")  # same model, another network
    other = seller_user(app, "另一个卖家")
    tap(visitor, other["referral_code"], mid)  # same phone, another seller's link
    got = [(c.valid, c.reason) for c in clicks(app)]
    assert got == [(True, None), (False, "duplicate"), (True, None), (True, None), (True, None)]
    # Once the window has passed the same phone counts again.
    with get_deps(app).db.transaction() as s:
        long_ago = datetime.now(UTC) - timedelta(
            seconds=get_deps(app).settings.CLICK_WINDOW_SECONDS
        )
        s.execute(update(Click).values(created_at=long_ago - timedelta(seconds=1)))
    tap(visitor, code, mid)
    assert (clicks(app)[-1].valid, clicks(app)[-1].reason) == (True, None)


def test_the_visitor_is_a_keyed_hash_never_the_ip(app, visitor, material, seller):
    tap(visitor, seller["referral_code"], material["id"], ip="203.0.113.77")
    (click,) = clicks(app)
    assert len(click.visitor) == 64 and "203.0.113.77" not in click.visitor
    row = " ".join(str(v) for v in vars(click).values())
    assert "203.0.113" not in row


def test_bots_prefetch_and_head_are_logged_but_not_valid(app, visitor, material, seller):
    code, mid = seller["referral_code"], material["id"]
    for ua in BOTS:  # link unfurlers get the preview page, the others the redirect
        assert tap(visitor, code, mid, ua=ua).status_code == (200 if is_unfurler(ua) else 302)
    for name, value in [
        ("Purpose", "prefetch"),
        ("Sec-Purpose", "prefetch;prerender"),
        ("X-Moz", "prefetch"),
        ("X-Purpose", "preview"),
    ]:
        assert tap(visitor, code, mid, **{name: value}).status_code == 302
    assert tap(visitor, code, mid, method="HEAD").status_code == 302
    reasons = [c.reason for c in clicks(app)]
    assert reasons == ["bot"] * len(BOTS) + ["prefetch"] * 4 + ["head"]
    assert not any(c.valid for c in clicks(app))
    # None of those used up the real visitor's first click.
    tap(visitor, code, mid)
    assert clicks(app)[-1].valid is True


def test_an_unfurler_gets_the_products_preview_and_counts_as_before(app, visitor, material, seller):
    """A chat app drawing a preview of the pasted link gets a 200 page with the material's
    OpenGraph meta and the seller's og card; the hit is logged as a bot's (never valid), just
    as when it got the redirect, so a seller's raw and valid clicks are what they were."""
    code, mid = seller["referral_code"], material["id"]
    resp = tap(visitor, code.lower(), mid, ua=BOTS[0])
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert f'<meta property="og:image" content="{PUBLIC}/cards/{mid}/{code}/og.jpg">' in html
    assert '<meta property="og:image:width" content="1200">' in html
    assert '<meta property="og:image:height" content="630">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert f'<meta property="og:url" content="{PUBLIC}/m/{mid}?ref={code}">' in html
    assert "Location" not in resp.headers and "Set-Cookie" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"
    assert "User-Agent" in resp.headers["Vary"]
    assert [(c.valid, c.reason) for c in clicks(app)] == [(False, "bot")]
    # People still get the redirect, and theirs is the first valid click.
    person = tap(visitor, code, mid)
    assert person.status_code == 302 and "User-Agent" in person.headers["Vary"]
    assert [c.valid for c in clicks(app)] == [False, True]


def test_an_unfurler_of_a_taken_down_material_follows_the_redirect(
    client, ops, visitor, material, seller
):
    client.post(f"/api/v1/materials/{material['id']}/unpublish", headers=ops["headers"])
    resp = tap(visitor, seller["referral_code"], material["id"], ua=BOTS[0])
    assert resp.status_code == 302
    assert tap(visitor, "ZZZZZZZ", material["id"], ua=BOTS[0]).status_code == 404


def test_people_are_not_bots():
    for ua in (PHONE, ANDROID, "Mozilla/5.0 (Windows NT 10.0) Chrome/120 Safari/537.36"):
        assert not is_bot(ua), ua


def test_simultaneous_taps_by_one_visitor_count_once(app, material, seller):
    code, mid = seller["referral_code"], material["id"]
    barrier = threading.Barrier(12)

    def go() -> None:
        phone = app.test_client()
        barrier.wait()
        assert tap(phone, code, mid).status_code == 302

    threads = [threading.Thread(target=go) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = clicks(app)
    assert len(rows) == 12 and sum(c.valid for c in rows) == 1


# ---------------------------------------------------------------- conversions


def order(code: str, **extra) -> dict:
    return {"order_id": "A-1001", "referral_code": code, "amount": "89.00", **extra}


def test_a_conversion_counts_once_and_a_replay_returns_it(app, client, material, seller):
    shop = storefront_user(app)
    body = order(seller["referral_code"], material_id=material["id"])
    first = client.post("/api/v1/conversions", headers=shop["headers"], json=body)
    assert first.status_code == 201, first.get_json()
    got = first.get_json()
    assert got["amount"] == "89.00" and got["material_id"] == material["id"]
    assert got["referral_code"] == seller["referral_code"] and got["order_id"] == "A-1001"
    again = client.post("/api/v1/conversions", headers=shop["headers"], json=body)
    assert again.status_code == 200 and again.get_json() == got
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = client.post(
        "/api/v1/conversions", headers=shop["headers"], json={**body, "amount": "1.00"}
    )
    assert changed.status_code == 409 and changed.get_json()["field"] == "order_id"
    # The same order id from another storefront is another order.
    other = storefront_user(app, "shop2")
    resp = client.post("/api/v1/conversions", headers=other["headers"], json=body)
    assert resp.status_code == 201
    with get_deps(app).db.read() as s:
        assert s.scalar(select(func.count()).select_from(Conversion)) == 2


@pytest.mark.parametrize(
    "change, field, rule",
    [
        ({"referral_code": "ZZZZZZZ"}, "referral_code", "unknown_code"),
        ({"referral_code": ""}, "referral_code", "required"),
        ({"order_id": ""}, "order_id", "required"),
        ({"order_id": 12}, "order_id", "type"),
        ({"order_id": "x" * 101}, "order_id", "max_length"),
        ({"order_id": "\ud800"}, "order_id", "encoding"),
        ({"amount": "abc"}, "amount", "number"),
        ({"amount": "-1"}, "amount", "money"),
        ({"amount": "1.234"}, "amount", "money"),
        ({"amount": 89.1}, "amount", "type"),
        ({"amount": None}, "amount", "required"),
        ({"material_id": 99999}, "material_id", "unknown_material"),
        ({"material_id": 10**12}, "material_id", "type"),
        ({"material_id": "one"}, "material_id", "type"),
        ({"material_id": True}, "material_id", "type"),
    ],
)
def test_conversion_validation_names_the_field(app, client, seller, change, field, rule):
    shop = storefront_user(app)
    resp = client.post(
        "/api/v1/conversions",
        headers=shop["headers"],
        json={**order(seller["referral_code"]), **change},
    )
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert (resp.get_json()["field"], resp.get_json()["rule"]) == (field, rule)


def test_conversions_need_a_storefront_and_json(app, client, seller):
    body = order(seller["referral_code"])
    assert client.post("/api/v1/conversions", json=body).status_code == 401
    resp = client.post("/api/v1/conversions", headers=seller["headers"], json=body)
    assert resp.status_code == 403
    shop = storefront_user(app)
    resp = client.post("/api/v1/conversions", headers=shop["headers"], data="order_id=1")
    assert resp.status_code == 422
    resp = client.post(
        "/api/v1/conversions", headers=shop["headers"], data="[1", content_type="application/json"
    )
    assert resp.status_code == 422
    deep = "[" * 100_000 + "]" * 100_000  # RecursionError in json.loads, not ValueError
    resp = client.post(
        "/api/v1/conversions", headers=shop["headers"], data=deep, content_type="application/json"
    )
    assert resp.status_code == 422 and resp.get_json()["rule"] == "json"


def test_concurrent_duplicate_reports_count_once(app, seller):
    shop = storefront_user(app)
    barrier, results = threading.Barrier(16), []
    body = order(seller["referral_code"], order_id="RACE-1")

    def report() -> None:
        c = app.test_client()
        barrier.wait()
        resp = c.post("/api/v1/conversions", headers=shop["headers"], json=body)
        results.append((resp.status_code, resp.get_json()["id"]))

    threads = [threading.Thread(target=report) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 15 + [201]
    assert len({i for _, i in results}) == 1
    with get_deps(app).db.read() as s:
        assert s.scalar(select(func.count()).select_from(Conversion)) == 1
