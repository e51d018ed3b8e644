"""GET /api/v1/stats/seller and /api/v1/stats/ops: SQL aggregates on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from materials.models import Click, Conversion, Forward
from materials.platform.deps import get_deps
from media.samples import jpeg_bytes, product_image
from tests.materials.sharing.helpers import live_material, seller_user, storefront_user

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile MicroMessenger/8.0"


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg_bytes(product_image(600, 600, seed=6))


def tap(app, code, material_id, ip, ua=PHONE):
    resp = app.test_client().get(
        f"/r/{code}/{material_id}", headers={"User-Agent": ua}, environ_base={"REMOTE_ADDR": ip}
    )
    assert resp.status_code == 302


def forward(client, seller, material_id):
    url = f"/api/v1/materials/{material_id}/forward"
    assert client.post(url, headers=seller["headers"]).status_code == 201


def report(client, shop, code, order_id, amount, material_id=None):
    body = {"order_id": order_id, "referral_code": code, "amount": amount}
    if material_id:
        body["material_id"] = material_id
    resp = client.post("/api/v1/conversions", headers=shop["headers"], json=body)
    assert resp.status_code == 201, resp.get_json()


@pytest.fixture
def activity(app, client, ops, worker, photo) -> dict:
    a = live_material(client, ops, [photo], title="防晒霜")
    b = live_material(client, ops, [photo], title="咖啡豆")
    s1, s2 = seller_user(app, "小美"), seller_user(app, "阿芳")
    shop = storefront_user(app)
    c1, c2 = s1["referral_code"], s2["referral_code"]
    for seller, material in [(s1, a), (s1, a), (s1, b), (s2, a)]:
        forward(client, seller, material["id"])
    tap(app, c1, a["id"], "10.0.0.1")
    tap(app, c1, a["id"], "10.0.0.1")  # duplicate
    tap(app, c1, a["id"], "10.0.0.2", ua="curl/8.0")  # bot
    tap(app, c1, b["id"], "10.0.0.3")
    tap(app, c2, a["id"], "10.0.0.4")
    report(client, shop, c1, "o-1", "89.00", a["id"])
    report(client, shop, c1, "o-2", "10.50")  # no material named
    report(client, shop, c2, "o-3", "20.00", a["id"])
    return {"a": a, "b": b, "s1": s1, "s2": s2, "shop": shop}


def metrics(forwards, raw, valid, orders, amount, rate, markup="0.00"):
    return {
        "forwards": forwards,
        "clicks": {"raw": raw, "valid": valid},
        "orders": orders,
        "amount": amount,
        "markup": markup,
        "conversion_rate": rate,
    }


def test_seller_stats(client, activity):
    a, b, s1 = activity["a"], activity["b"], activity["s1"]
    body = client.get("/api/v1/stats/seller", headers=s1["headers"]).get_json()
    assert body["seller"]["referral_code"] == s1["referral_code"]
    totals = {k: body["totals"][k] for k in ("forwards", "clicks", "orders", "amount")}
    assert totals == {
        "forwards": 3,
        "clicks": {"raw": 4, "valid": 2},
        "orders": 2,
        "amount": "99.50",
    }
    assert body["totals"]["conversion_rate"] == 1.0
    assert body["by_material"] == [
        {"material_id": a["id"], "title": "防晒霜", **metrics(2, 3, 1, 1, "89.00", 1.0)},
        {"material_id": b["id"], "title": "咖啡豆", **metrics(1, 1, 1, 0, "0.00", 0.0)},
    ]
    days = body["by_day"]
    assert len(days) == 30 and days[-1]["date"] == body["to"]
    assert days[-1]["orders"] == 2 and sum(d["forwards"] for d in days) == 3
    assert all(d["orders"] == 0 for d in days[:-1])
    assert body["utc_offset"] == "+08:00"


def test_ops_stats(client, ops, activity):
    a, b, s1, s2 = (activity[k] for k in ("a", "b", "s1", "s2"))
    body = client.get("/api/v1/stats/ops", headers=ops["headers"]).get_json()
    funnel = body["funnel"]
    assert funnel["forwards"] == 4 and funnel["clicks"] == {"raw": 5, "valid": 3}
    assert funnel["orders"] == 3 and funnel["amount"] == "119.50"
    assert funnel["click_rate"] == 0.75 and funnel["conversion_rate"] == 1.0
    assert body["by"] == "orders"
    assert [m["material_id"] for m in body["top_materials"]] == [a["id"]]
    top = body["top_materials"][0]
    assert (top["forwards"], top["orders"], top["amount"]) == (3, 2, "109.00")
    assert [s["seller_id"] for s in body["top_sellers"]] == [s1["id"], s2["id"]]
    by_forwards = client.get("/api/v1/stats/ops?by=forwards&limit=1", headers=ops["headers"])
    assert [m["material_id"] for m in by_forwards.get_json()["top_materials"]] == [a["id"]]
    by_clicks = client.get("/api/v1/stats/ops?by=clicks", headers=ops["headers"]).get_json()
    assert [m["material_id"] for m in by_clicks["top_materials"]] == [a["id"], b["id"]]
    assert by_clicks["top_sellers"][0]["clicks"] == {"raw": 4, "valid": 2}


def test_days_are_local_days(app, client, ops, activity):
    """Shanghai is UTC+8: 16:30 UTC on the 24th is already the 25th there."""
    deps = get_deps(app)
    late = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 on the 24th in Shanghai
    early = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 on the 25th
    with deps.db.transaction() as s:
        s.execute(update(Conversion).where(Conversion.order_id != "o-2").values(created_at=late))
        s.execute(update(Conversion).where(Conversion.order_id == "o-2").values(created_at=early))
        s.execute(update(Forward).values(created_at=early))
        s.execute(update(Click).values(created_at=late))
    s1 = activity["s1"]
    body = client.get(
        "/api/v1/stats/seller?from=2026-11-24&to=2026-11-25", headers=s1["headers"]
    ).get_json()
    assert (body["from"], body["to"]) == ("2026-11-24", "2026-11-25")
    day24, day25 = body["by_day"]
    assert (day24["date"], day24["orders"], day24["amount"]) == ("2026-11-24", 1, "89.00")
    assert (day25["date"], day25["orders"], day25["amount"]) == ("2026-11-25", 1, "10.50")
    assert (day24["clicks"]["raw"], day25["forwards"]) == (4, 3)
    only25 = client.get(
        "/api/v1/stats/seller?from=2026-11-25&to=2026-11-25", headers=s1["headers"]
    ).get_json()
    assert only25["totals"]["orders"] == 1 and only25["totals"]["clicks"]["raw"] == 0
    ops_day = client.get(
        "/api/v1/stats/ops?from=2026-11-25&to=2026-11-25", headers=ops["headers"]
    ).get_json()
    assert ops_day["funnel"]["forwards"] == 4 and ops_day["funnel"]["orders"] == 1


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=20261101", "from"),
        ("from=2026-11-30&to=2026-11-01", "from"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        # Real dates whose period does not fit in a datetime (year 0 or 10000 in UTC).
        ("to=0001-01-05", "to"),
        ("from=0001-01-01&to=0001-06-01", "from"),
        ("from=9999-12-01&to=9999-12-31", "to"),
    ],
)
def test_bad_periods_are_422(client, seller, query, field):
    resp = client.get(f"/api/v1/stats/seller?{query}", headers=seller["headers"])
    assert resp.status_code == 422 and resp.get_json()["field"] == field


def test_stats_roles_and_ops_arguments(client, ops, seller):
    assert client.get("/api/v1/stats/seller", headers=ops["headers"]).status_code == 403
    assert client.get("/api/v1/stats/ops", headers=seller["headers"]).status_code == 403
    assert client.get("/api/v1/stats/ops").status_code == 401
    for query, field in [
        ("by=likes", "by"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=²", "limit"),
        ("limit=" + "9" * 5000, "limit"),
    ]:
        resp = client.get(f"/api/v1/stats/ops?{query}", headers=ops["headers"])
        assert resp.status_code == 422 and resp.get_json()["field"] == field
    empty = client.get("/api/v1/stats/ops", headers=ops["headers"]).get_json()
    assert empty["funnel"]["conversion_rate"] is None and empty["top_materials"] == []
