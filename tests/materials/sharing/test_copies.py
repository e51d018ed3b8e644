"""The seller's own copy and price (issue 11): ops' variants and first comment, each seller's
pick or own words and markup, the forward as a POST that records the copy it used, referral
prices for storefronts, markup income, and which words sell. Both backends."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from materials.models import Click, Forward, SellerCopy
from materials.platform.deps import get_deps
from materials.sharing import cards
from media.samples import jpeg_bytes, product_image
from tests.materials.factory import make_material
from tests.materials.sharing.helpers import (
    PUBLIC,
    ask_at_once,
    card_url,
    live_material,
    qr_texts,
    seller_user,
    storefront_user,
)

PROBLEM = "application/problem+json"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile MicroMessenger/8.0"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def forward_url(material_id: int) -> str:
    return f"/api/v1/materials/{material_id}/forward"


def post_forward(client, seller, material_id):
    resp = client.post(forward_url(material_id), headers=seller["headers"])
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def add_variant(client, ops, material_id, label, body):
    url = f"/api/v1/materials/{material_id}/variants"
    resp = client.post(url, headers=ops["headers"], json={"label": label, "body": body})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["variants"][-1]["id"]


def set_copy(client, ops, material_id, **changes):
    url = f"/api/v1/materials/{material_id}/copy"
    resp = client.patch(url, headers=ops["headers"], json=changes)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def pick(client, seller, material_id, **choice):
    url = f"/api/v1/materials/{material_id}/my-copy"
    return client.put(url, headers=seller["headers"], json=choice)


def refused(resp, status: int, rule: str, field: str | None = None) -> None:
    body = resp.get_json()
    assert resp.status_code == status and resp.mimetype == PROBLEM, (resp.status_code, body)
    assert body["rule"] == rule, body
    if field:
        assert body["field"] == field, body


def count(app, model) -> int:
    with get_deps(app).db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def tap(app, code, material_id, ip):
    resp = app.test_client().get(
        f"/r/{code}/{material_id}",
        headers={"User-Agent": PHONE},
        environ_base={"REMOTE_ADDR": ip},
    )
    assert resp.status_code == 302


def order(client, shop, code, order_id, amount, material_id):
    body = {"order_id": order_id, "referral_code": code, "amount": amount}
    resp = client.post(
        "/api/v1/conversions", headers=shop["headers"], json=body | {"material_id": material_id}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# ---------------------------------------------------------------- the forward is a POST (issue 9)


def test_reads_of_the_forward_count_nothing_and_a_post_counts_once(app, client, ops):
    mid = make_material(app, "防晒霜", copy="清爽")
    seller = seller_user(app, "小美")
    h = seller["headers"]
    preview = client.get(forward_url(mid), headers=h)
    assert preview.status_code == 200 and preview.headers["Cache-Control"] == "no-store"
    assert preview.get_json()["forward_count"] == 0
    assert client.head(forward_url(mid), headers=h).status_code == 200
    for extra in ({"Purpose": "prefetch"}, {"Sec-Purpose": "prefetch"}, {"X-Moz": "prefetch"}):
        assert client.get(forward_url(mid), headers=h | extra).status_code == 200
    crawler = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}
    assert client.get(forward_url(mid), headers=h | crawler).status_code == 200
    assert count(app, Forward) == 0
    material = client.get(f"/api/v1/materials/{mid}", headers=ops["headers"]).get_json()
    assert material["forward_count"] == 0

    posted = post_forward(client, seller, mid)
    assert posted["forward_count"] == 1 and count(app, Forward) == 1
    assert posted["body"] == preview.get_json()["body"]
    assert client.get(forward_url(mid), headers=h).get_json()["forward_count"] == 1


def test_other_methods_answer_405_with_allow(app, client):
    mid = make_material(app, "防晒霜")
    seller = seller_user(app, "小美")
    for method in ("PUT", "PATCH", "DELETE"):
        resp = client.open(forward_url(mid), method=method, headers=seller["headers"])
        assert resp.status_code == 405, method
        allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
        assert {"GET", "HEAD", "POST"} <= allowed and "PUT" not in allowed
    assert count(app, Forward) == 0


# ---------------------------------------------------------------- ops: variants, comment, markup


def test_ops_write_variants_and_a_first_comment(app, client, ops):
    mid = make_material(app, "防晒霜", copy="默认的话")
    first = add_variant(client, ops, mid, "宝妈版", "带娃出门也不怕晒")
    add_variant(client, ops, mid, " 通勤版\u200b ", "上班路上 ☀️\r\n一抹就走")
    got = set_copy(client, ops, mid, comment="评论区：\n今晚 8 点开团")
    assert [v["label"] for v in got["variants"]] == ["宝妈版", "通勤版"]  # normalised
    assert got["variants"][1]["body"] == "上班路上 ☀️\n一抹就走"
    assert got["comment"] == "评论区：\n今晚 8 点开团" and got["copy"] == "默认的话"
    assert got["markup"] == {"allowed": False, "cap": "0.00"}  # off by default
    url = f"/api/v1/materials/{mid}/variants"
    refused(client.post(url, headers=ops["headers"], json={"label": "x"}), 422, "required", "body")
    refused(
        client.post(url, headers=ops["headers"], json={"label": "\u200b", "body": "x"}),
        422,
        "required",
        "label",
    )
    refused(
        client.post(url, headers=ops["headers"], json={"label": "x" * 41, "body": "y"}),
        422,
        "max_length",
        "label",
    )
    refused(
        client.patch(f"/api/v1/materials/{mid}/copy", headers=ops["headers"], json={}), 422, "empty"
    )
    refused(
        client.patch(
            f"/api/v1/materials/{mid}/copy", headers=ops["headers"], json={"markup_allowed": "yes"}
        ),
        422,
        "type",
    )
    seller = seller_user(app, "小美")
    refused(
        client.post(url, headers=seller["headers"], json={"label": "a", "body": "b"}), 403, "role"
    )
    refused(
        client.post(
            "/api/v1/materials/99999/variants",
            headers=ops["headers"],
            json={"label": "a", "body": "b"},
        ),
        404,
        "not_found",
    )

    # Retired: gone from the picker; a seller who had it forwards the default copy.
    pick(client, seller, mid, variant_id=first)
    assert post_forward(client, seller, mid)["copy"]["label"] == "宝妈版"
    resp = client.delete(f"{url}/{first}", headers=ops["headers"])
    assert resp.status_code == 200 and [v["label"] for v in resp.get_json()["variants"]] == [
        "通勤版"
    ]
    refused(client.delete(f"{url}/{first}", headers=ops["headers"]), 404, "not_found")
    refused(client.delete(f"{url}/{10**12}", headers=ops["headers"]), 404, "not_found")
    assert post_forward(client, seller, mid)["copy"] == {
        "variant_id": None,
        "own": False,
        "label": "默认文案",
    }
    refused(pick(client, seller, mid, variant_id=first), 422, "retired", "variant_id")


def test_at_most_ten_live_variants(app, client, ops):
    mid = make_material(app, "防晒霜")
    ids = [add_variant(client, ops, mid, f"版本{i}", f"文案{i}") for i in range(10)]
    url = f"/api/v1/materials/{mid}/variants"
    refused(
        client.post(url, headers=ops["headers"], json={"label": "多", "body": "多"}),
        409,
        "max_variants",
    )
    assert client.delete(f"{url}/{ids[0]}", headers=ops["headers"]).status_code == 200
    add_variant(client, ops, mid, "第十一", "可以了")


# ---------------------------------------------------------------- sellers: their own copy


def test_a_variant_or_own_words_reach_the_body_with_the_sellers_link(app, client, ops):
    mid = make_material(app, "防晒霜", copy="默认的话", price_cents=8900)
    vid = add_variant(client, ops, mid, "宝妈版", "带娃出门也不怕晒")
    set_copy(client, ops, mid, comment="今晚 8 点开团，评论区见")
    seller = seller_user(app, "小美")
    link = f"{PUBLIC}/r/{seller['referral_code']}/{mid}"

    default = post_forward(client, seller, mid)
    assert default["body"] == f"防晒霜\n默认的话\n💰 ¥89\n👉 {link}"
    assert default["comment"] == "今晚 8 点开团，评论区见"  # apart from the body, no link in it

    mine = pick(client, seller, mid, variant_id=vid).get_json()
    assert mine["copy"] == {"variant_id": vid, "own": False, "label": "宝妈版"}
    assert mine["body"] == "带娃出门也不怕晒" and mine["price"] == "89.00"
    assert (
        post_forward(client, seller, mid)["body"] == f"防晒霜\n带娃出门也不怕晒\n💰 ¥89\n👉 {link}"
    )

    own = "我自己用了一个夏天\u200b，\r\n真的不油！"
    mine = pick(client, seller, mid, own_text=own).get_json()
    assert mine["copy"]["own"] and mine["own_text"] == "我自己用了一个夏天，\n真的不油！"
    body = post_forward(client, seller, mid)["body"]
    assert body == f"防晒霜\n我自己用了一个夏天，\n真的不油！\n💰 ¥89\n👉 {link}"

    with get_deps(app).db.read() as s:
        used = [(f.variant_id, f.own_copy) for f in s.scalars(select(Forward).order_by(Forward.id))]
    assert used == [(None, False), (vid, False), (None, True)]


@pytest.mark.parametrize(
    "text",
    [
        "去 https://evil.example/buy 买",
        "看 www.taobao.com",
        "淘宝taobao.com搜",
        "加我 t.cn/abc",
        f"{PUBLIC}/r/ABCDEFG/1",
        "sucai.test/r/ABCDEFG/1",
    ],
)
def test_sellers_type_no_links_the_service_adds_theirs(app, client, text):
    mid = make_material(app, "防晒霜")
    seller = seller_user(app, "小美")
    refused(pick(client, seller, mid, own_text=text), 422, "link", "own_text")
    assert count(app, SellerCopy) == 0


def test_hostile_choices_are_precise_422s_and_leave_nothing(app, client, ops):
    mid = make_material(app, "防晒霜")
    other = make_material(app, "咖啡豆")
    theirs = add_variant(client, ops, other, "别人的", "别的素材的文案")
    seller = seller_user(app, "小美")
    refused(pick(client, seller, mid, variant_id=theirs), 422, "other_material", "variant_id")
    refused(pick(client, seller, mid, variant_id=0), 422, "type", "variant_id")
    refused(pick(client, seller, mid, variant_id="1"), 422, "type", "variant_id")
    refused(pick(client, seller, mid, own_text="   \u200b "), 422, "required", "own_text")
    refused(pick(client, seller, mid, own_text="a\x00b"), 422, "control_chars", "own_text")
    limit = get_deps(app).settings.MAX_TEXT_CHARS
    refused(pick(client, seller, mid, own_text="好" * (limit + 1)), 422, "max_length", "own_text")
    refused(pick(client, seller, 99999, own_text="好"), 404, "not_found")
    draft = make_material(app, "草稿", publish=False)
    refused(pick(client, seller, draft, own_text="好"), 404, "not_found")
    refused(
        client.put(
            f"/api/v1/materials/{mid}/my-copy",
            headers=seller["headers"],
            data="[]",
            content_type="application/json",
        ),
        422,
        "json",
    )
    refused(pick(client, ops, mid, own_text="好"), 403, "role")
    refused(client.put(f"/api/v1/materials/{mid}/my-copy", headers=seller["headers"]), 422, "json")
    assert count(app, SellerCopy) == 0


def test_another_sellers_copy_is_never_readable(app, client, ops):
    mid = make_material(app, "防晒霜", copy="默认的话")
    a, b = seller_user(app, "小美"), seller_user(app, "阿芳")
    set_copy(client, ops, mid, markup_allowed=True, markup_cap="20")
    assert pick(client, a, mid, own_text="小美的秘密话术", markup="7").status_code == 200
    for url in (forward_url(mid), f"/api/v1/materials/{mid}/my-copy"):
        seen = client.get(url, headers=b["headers"]).get_data(as_text=True)
        assert "小美的秘密话术" not in seen and "96.00" not in seen
    assert "小美的秘密话术" in client.get(forward_url(mid), headers=a["headers"]).get_json()["body"]
    # Ops see the material's copy settings, never a seller's own words.
    settings = client.get(f"/api/v1/materials/{mid}/copy", headers=ops["headers"])
    assert "小美的秘密话术" not in settings.get_data(as_text=True)


# ---------------------------------------------------------------- markup


def test_markup_is_off_by_default_and_capped_with_precise_refusals(app, client, ops):
    mid = make_material(app, "防晒霜", price_cents=8900)
    seller = seller_user(app, "小美")
    refused(pick(client, seller, mid, markup="5"), 422, "markup_off", "markup")
    set_copy(client, ops, mid, markup_allowed=True, markup_cap="10.00")
    refused(pick(client, seller, mid, markup="10.01"), 422, "above_cap", "markup")
    refused(pick(client, seller, mid, markup="-1"), 422, "negative", "markup")
    refused(pick(client, seller, mid, markup=-1), 422, "negative", "markup")
    refused(pick(client, seller, mid, markup="1.234"), 422, "decimals", "markup")
    refused(pick(client, seller, mid, markup="5元"), 422, "number", "markup")
    refused(pick(client, seller, mid, markup="1e3"), 422, "number", "markup")
    refused(pick(client, seller, mid, markup=5.5), 422, "type", "markup")
    assert count(app, SellerCopy) == 0

    mine = pick(client, seller, mid, markup="5.5").get_json()
    assert (mine["markup"], mine["asked_markup"], mine["price"]) == ("5.50", "5.50", "94.50")
    shared = post_forward(client, seller, mid)
    assert shared["price"] == "94.50" and "💰 ¥94.50\n" in shared["body"]
    # Ops lower the cap: what applies follows at once; switch it off: the price is theirs.
    set_copy(client, ops, mid, markup_cap="3")
    assert post_forward(client, seller, mid)["price"] == "92.00"
    set_copy(client, ops, mid, markup_allowed=False)
    mine = client.get(f"/api/v1/materials/{mid}/my-copy", headers=seller["headers"]).get_json()
    assert (mine["markup"], mine["asked_markup"], mine["price"]) == ("0.00", "5.50", "89.00")


def test_storefronts_read_a_referrals_price(app, client, ops):
    mid = make_material(app, "防晒霜", price_cents=8900)
    set_copy(client, ops, mid, markup_allowed=True, markup_cap="20")
    a, b = seller_user(app, "小美"), seller_user(app, "阿芳")
    pick(client, a, mid, markup="6")
    shop = storefront_user(app)

    def price(code, material):
        return client.get(
            "/api/v1/prices",
            query_string={"code": code, "material": material},
            headers=shop["headers"],
        )

    got = price(a["referral_code"].lower(), mid)
    assert got.status_code == 200, got.get_json()
    assert got.get_json() == {
        "referral_code": a["referral_code"],
        "material_id": mid,
        "base_price": "89.00",
        "markup": "6.00",
        "price": "95.00",
        "currency": "CNY",
    }
    assert price(b["referral_code"], mid).get_json()["price"] == "89.00"
    refused(price("ZZZZZZZ", mid), 404, "not_found")
    refused(price(a["referral_code"], 99999), 404, "not_found")
    refused(price(a["referral_code"], make_material(app, "草稿", publish=False)), 404, "not_found")
    refused(price(a["referral_code"], 0), 422, "range", "material")
    refused(price("", mid), 422, "required", "code")
    resp = client.get(
        "/api/v1/prices", query_string={"code": a["referral_code"]}, headers=shop["headers"]
    )
    refused(resp, 422, "required", "material")
    resp = client.get(
        "/api/v1/prices",
        query_string={"code": a["referral_code"], "material": mid},
        headers=a["headers"],
    )
    refused(resp, 403, "role")


def test_markup_income_is_apart_from_sales_and_orders_go_to_the_variant(app, client, ops):
    mid = make_material(app, "防晒霜", price_cents=8900)
    vid = add_variant(client, ops, mid, "宝妈版", "带娃出门也不怕晒")
    set_copy(client, ops, mid, markup_allowed=True, markup_cap="20")
    a, b = seller_user(app, "小美"), seller_user(app, "阿芳")
    shop = storefront_user(app)
    pick(client, a, mid, variant_id=vid, markup="6")
    post_forward(client, a, mid)
    post_forward(client, b, mid)
    tap(app, a["referral_code"], mid, "10.0.0.1")
    tap(app, b["referral_code"], mid, "10.0.0.2")
    assert order(client, shop, a["referral_code"], "o-1", "95.00", mid)["markup"] == "6.00"
    order(client, shop, a["referral_code"], "o-2", "190.00", mid)
    assert order(client, shop, b["referral_code"], "o-3", "89.00", mid)["markup"] == "0.00"

    mine = client.get("/api/v1/stats/seller", headers=a["headers"]).get_json()
    assert mine["totals"]["amount"] == "285.00" and mine["totals"]["markup"] == "12.00"
    assert mine["by_material"][0]["markup"] == "12.00"
    assert (
        client.get("/api/v1/stats/seller", headers=b["headers"]).get_json()["totals"]["markup"]
        == "0.00"
    )
    funnel = client.get("/api/v1/stats/ops", headers=ops["headers"]).get_json()["funnel"]
    assert (funnel["amount"], funnel["markup"]) == ("374.00", "12.00")

    rows = client.get(
        "/api/v1/stats/variants", query_string={"material": mid}, headers=ops["headers"]
    )
    assert rows.status_code == 200, rows.get_json()
    by = {r["label"]: r for r in rows.get_json()["variants"]}
    assert list(by) == ["默认文案", "宝妈版", "卖家自编"]
    assert (by["宝妈版"]["forwards"], by["宝妈版"]["clicks"]["valid"], by["宝妈版"]["orders"]) == (
        1,
        1,
        2,
    )
    assert by["宝妈版"]["amount"] == "285.00"
    assert (
        by["默认文案"]["forwards"],
        by["默认文案"]["clicks"]["valid"],
        by["默认文案"]["orders"],
    ) == (1, 1, 1)
    assert by["卖家自编"]["forwards"] == 0
    refused(
        client.get(
            "/api/v1/stats/variants", query_string={"material": 99999}, headers=ops["headers"]
        ),
        404,
        "not_found",
    )
    refused(
        client.get("/api/v1/stats/variants", query_string={"material": mid}, headers=a["headers"]),
        403,
        "role",
    )


def test_a_click_goes_to_the_copy_of_the_latest_forward_before_it(app, client, ops):
    mid = make_material(app, "防晒霜")
    v1 = add_variant(client, ops, mid, "一", "第一版")
    v2 = add_variant(client, ops, mid, "二", "第二版")
    seller = seller_user(app, "小美")
    code = seller["referral_code"]
    tap(app, code, mid, "10.0.0.9")  # before any forward: the seller's choice then (default)
    pick(client, seller, mid, variant_id=v1)
    post_forward(client, seller, mid)
    tap(app, code, mid, "10.0.0.1")
    pick(client, seller, mid, variant_id=v2)  # picked, not yet forwarded: clicks stay with v1
    tap(app, code, mid, "10.0.0.2")
    post_forward(client, seller, mid)
    tap(app, code, mid, "10.0.0.3")
    with get_deps(app).db.read() as s:
        got = [c.variant_id for c in s.scalars(select(Click).order_by(Click.id))]
    assert got == [None, v1, v1, v2]


def test_concurrent_forwards_clicks_and_orders_count_per_variant(app, client, ops):
    mid = make_material(app, "防晒霜", price_cents=1000)
    set_copy(client, ops, mid, markup_allowed=True, markup_cap="5")
    variants = [add_variant(client, ops, mid, f"版{i}", f"文案{i}") for i in range(3)]
    sellers = [seller_user(app, f"卖家{i}") for i in range(6)]
    shop = storefront_user(app)
    # Sellers 0-2 each forward variant i, 3-4 their own words, 5 the default; 2 markups.
    for i, seller in enumerate(sellers):
        choice = {"variant_id": variants[i]} if i < 3 else {"own_text": f"我是{i}"} if i < 5 else {}
        assert (
            pick(client, seller, mid, **choice, markup="2" if i in (0, 3) else "0").status_code
            == 200
        )
    per_seller = 8
    start = threading.Barrier(len(sellers))

    def work(i: int) -> None:
        c = app.test_client()
        start.wait()
        for n in range(per_seller):
            assert c.post(forward_url(mid), headers=sellers[i]["headers"]).status_code == 201
            if n % 4 == 3:
                tap(app, sellers[i]["referral_code"], mid, f"10.{i}.{n}.1")

    with ThreadPoolExecutor(len(sellers)) as pool:
        list(pool.map(work, range(len(sellers))))
    for i, seller in enumerate(sellers):
        order(
            client,
            shop,
            seller["referral_code"],
            f"o-{i}",
            "12.00" if i in (0, 3) else "10.00",
            mid,
        )

    assert count(app, Forward) == per_seller * len(sellers)
    material = client.get(f"/api/v1/materials/{mid}", headers=ops["headers"]).get_json()
    assert material["forward_count"] == per_seller * len(sellers)
    rows = client.get(
        "/api/v1/stats/variants", query_string={"material": mid}, headers=ops["headers"]
    )
    by = {(r["variant_id"], r["own"]): r for r in rows.get_json()["variants"]}
    for v in variants:
        assert (
            by[(v, False)]["forwards"],
            by[(v, False)]["clicks"]["valid"],
            by[(v, False)]["orders"],
        ) == (per_seller, 2, 1)
    own = by[(None, True)]
    assert (own["forwards"], own["clicks"]["valid"], own["orders"], own["markup"]) == (
        16,
        4,
        2,
        "2.00",
    )
    default = by[(None, False)]
    assert (default["forwards"], default["clicks"]["valid"], default["orders"]) == (8, 2, 1)
    assert (
        by[(variants[0], False)]["markup"] == "2.00"
        and by[(variants[1], False)]["markup"] == "0.00"
    )


def test_forwards_from_several_processes_at_once_count_per_variant(app, client, ops, settings):
    """Three OS processes (as gunicorn's workers are), each its own app on the same database,
    posting forwards for sellers with different picks at the same instant."""
    mid = make_material(app, "防晒霜")
    v1 = add_variant(client, ops, mid, "一", "第一版")
    v2 = add_variant(client, ops, mid, "二", "第二版")
    picks = [{"variant_id": v1}, {"variant_id": v2}, {"own_text": "我的话"}, {}]
    sellers = [seller_user(app, f"卖家{i}") for i in range(len(picks))]
    for seller, choice in zip(sellers, picks, strict=True):
        assert pick(client, seller, mid, **choice).status_code == 200
    each = 6
    posts = [f"POST {s['token']} {forward_url(mid)}" for s in sellers for _ in range(each)]
    answers = ask_at_once(settings, posts[0::3], posts[1::3], posts[2::3])
    assert [a["status"] for a in answers] == [201] * len(posts)
    counts = sorted(json.loads(a["body"])["forward_count"] for a in answers)
    assert counts == list(range(1, len(posts) + 1))  # each forward its own count, none lost
    rows = client.get(
        "/api/v1/stats/variants", query_string={"material": mid}, headers=ops["headers"]
    )
    by = {(r["variant_id"], r["own"]): r["forwards"] for r in rows.get_json()["variants"]}
    assert by == {(None, False): each, (v1, False): each, (v2, False): each, (None, True): each}


# ---------------------------------------------------------------- cards and pages show the price


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg_bytes(product_image(640, 640, seed=11))


def test_a_markup_changes_that_sellers_cards_and_no_one_elses(app, client, ops, worker, photo):
    m = live_material(client, ops, [photo], title="防晒霜")
    mid = m["id"]
    a, b = seller_user(app, "小美"), seller_user(app, "阿芳")
    before = {}
    for who in (a, b):
        for layout in ("square", "photo-1"):
            resp = client.get(card_url(mid, who["referral_code"], layout))
            assert resp.status_code == 200
            before[(who["name"], layout)] = (resp.headers["ETag"], resp.data)
    set_copy(client, ops, mid, markup_allowed=True, markup_cap="20")
    pick(client, a, mid, markup="10")
    deps, now = get_deps(app), datetime.now(UTC)
    spec = cards.resolve(deps, str(mid), a["referral_code"], "square", now)
    assert spec.content.price_cents == 9900
    assert (
        cards.resolve(deps, str(mid), b["referral_code"], "square", now).content.price_cents == 8900
    )

    after = {}
    for who in (a, b):
        for layout in ("square", "photo-1"):
            resp = client.get(card_url(mid, who["referral_code"], layout))
            after[(who["name"], layout)] = (resp.headers["ETag"], resp.data)
            assert qr_texts(resp.data) == [f"{PUBLIC}/r/{who['referral_code']}/{mid}"]
    assert after[("小美", "square")][0] != before[("小美", "square")][0]
    assert after[("小美", "square")][1] != before[("小美", "square")][1]
    # The 9-grid photo draws no price; the other seller's cards keep their key and bytes.
    assert after[("小美", "photo-1")] == before[("小美", "photo-1")]
    assert after[("阿芳", "square")] == before[("阿芳", "square")]
    assert after[("阿芳", "photo-1")] == before[("阿芳", "photo-1")]
    # The share page and the unfurler's price follow the link's seller.
    page = client.get(f"/m/{mid}?ref={a['referral_code']}").get_data(as_text=True)
    assert "99" in page and 'content="99.00"' in page
    plain = client.get(f"/m/{mid}?ref={b['referral_code']}").get_data(as_text=True)
    assert 'content="89.00"' in plain and 'content="99.00"' not in plain
    unfurler = {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
    preview = client.get(f"/r/{a['referral_code']}/{mid}", headers=unfurler)
    assert preview.status_code == 200 and 'content="99.00"' in preview.get_data(as_text=True)
    assert "¥</span>99" in preview.get_data(as_text=True)


def test_hostile_copy_and_comment_are_text_everywhere(app, client, ops, worker, photo):
    m = live_material(client, ops, [photo], title="防晒霜", copy=XSS)
    mid = m["id"]
    add_variant(client, ops, mid, XSS[:40], XSS)
    set_copy(client, ops, mid, comment=XSS)
    seller = seller_user(app, "小美")
    shared = post_forward(client, seller, mid)
    assert XSS in shared["body"] and shared["comment"] == XSS  # JSON: the text as it is
    # The card draws it as characters (the renderer takes text, never markup), and renders.
    spec = cards.resolve(
        get_deps(app), str(mid), seller["referral_code"], "square", datetime.now(UTC)
    )
    assert spec.content.copy == XSS
    card = client.get(card_url(mid, seller["referral_code"], "square"))
    assert card.status_code == 200 and card.mimetype == "image/jpeg"
    page = client.get(f"/m/{mid}?ref={seller['referral_code']}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


# ---------------------------------------------------------------- the document


NEW_OPERATIONS = {
    ("/api/v1/materials/{material_id}/forward", "post"): ("forwardMaterial", ["seller"], 404),
    ("/api/v1/materials/{material_id}/forward", "get"): ("previewForward", ["seller"], 404),
    ("/api/v1/materials/{material_id}/copy", "get"): ("getCopySettings", ["ops"], 404),
    ("/api/v1/materials/{material_id}/copy", "patch"): ("patchCopySettings", ["ops"], 422),
    ("/api/v1/materials/{material_id}/variants", "post"): ("createVariant", ["ops"], 409),
    ("/api/v1/materials/{material_id}/variants/{variant_id}", "delete"): (
        "retireVariant",
        ["ops"],
        404,
    ),
    ("/api/v1/materials/{material_id}/my-copy", "get"): ("getMyCopy", ["seller"], 404),
    ("/api/v1/materials/{material_id}/my-copy", "put"): ("putMyCopy", ["seller"], 422),
    ("/api/v1/prices", "get"): ("referralPrice", ["storefront"], 404),
    ("/api/v1/stats/variants", "get"): ("variantStats", ["ops"], 404),
}


def test_the_document_covers_every_new_operation_with_its_problems(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for (path, method), (op_id, roles, status) in NEW_OPERATIONS.items():
        op = doc["paths"][path][method]
        assert op["operationId"] == op_id and op["x-role"] == roles, (path, method)
        for code in ("401", "403", "422", str(status)):
            assert PROBLEM in op["responses"][code]["content"], (path, method, code)
        for param in op.get("parameters", []):
            if param["in"] == "path":
                assert param["schema"]["maximum"] == 2**31 - 1, (path, param)
    mine = doc["paths"]["/api/v1/materials/{material_id}/my-copy"]["put"]
    schema = mine["requestBody"]["content"]["application/json"]["schema"]
    body = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert set(body["properties"]) == {"variant_id", "own_text", "markup"}
    # Own words: up to SUCAI_MAX_TEXT_CHARS (5000 here), not blank, or null.
    assert "{0,4998}" in str(body["properties"]["own_text"])
    assert "x-setting" not in str(doc)
