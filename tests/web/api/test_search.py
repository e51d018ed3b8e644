"""GET /api/v1/search on both backends: words, pinyin, filters, facets, sorts, highlighting,
hostile strings, bad parameters, publish windows, and a replica that lags the database."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from materials.catalogue import lifecycle as service
from materials.indexing.follower import log_head
from materials.platform.deps import get_deps
from tests.helpers import post_upload, wait_until
from tests.materials.factory import make_material


@pytest.fixture
def catalogue(app, follower) -> dict[str, int]:
    ids = {
        "sunscreen": make_material(
            app,
            "夏季清爽防晒霜 SPF50+",
            copy="轻薄不油腻，一抹成膜！海边出游必备。",
            brand="安热沙",
            category="美妆",
            tags=("防晒", "夏季"),
            price_cents=8900,
            video=True,
            forward_count=5,
        ),
        "spray": make_material(
            app,
            "便携防晒喷雾",
            brand="安热沙",
            category="美妆",
            tags=("防晒",),
            price_cents=12900,
            forward_count=50,
        ),
        "dress": make_material(
            app,
            "法式复古纯棉连衣裙",
            brand="优衣库",
            category="服饰",
            tags=("女装", "夏季"),
            price_cents=19900,
        ),
        "english": make_material(
            app,
            "Organic Cotton Dresses",
            copy="Vintage summer dresses, 100% cotton.",
            brand="ZARA",
            category="服饰",
            tags=("女装",),
            price_cents=29900,
            video=True,
        ),
        "nuts": make_material(
            app, "坚果大礼包", brand="三只松鼠", category="食品", tags=("零食",), price_cents=5990
        ),
        "hostile": make_material(
            app,
            "<script>alert(1)</script>防晒 & 美白",
            copy='<img src=x onerror="alert(1)">防晒',
            category="美妆",
            price_cents=1000,
        ),
        "draft": make_material(app, "防晒霜草稿", category="美妆", publish=False),
    }
    follower.catch_up()
    return ids


def search(client, user, **params) -> dict:
    resp = client.get("/api/v1/search", query_string=params, headers=user["headers"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def ids_of(body: dict) -> list[int]:
    return [item["id"] for item in body["items"]]


def test_chinese_words_pinyin_and_english(client, seller, catalogue):
    c = catalogue
    assert set(ids_of(search(client, seller, q="防晒"))) == {
        c["sunscreen"],
        c["spray"],
        c["hostile"],
    }
    assert ids_of(search(client, seller, q="防晒霜")) == [c["sunscreen"]]
    assert c["dress"] in ids_of(search(client, seller, q="连衣裙"))
    assert c["sunscreen"] in ids_of(search(client, seller, q="fangshaishuang"))
    assert c["sunscreen"] in ids_of(search(client, seller, q="fss"))
    assert ids_of(search(client, seller, q="dress")) == [c["english"]]  # stemmed
    assert ids_of(search(client, seller, q="安热沙 喷雾")) == [c["spray"]]  # brand as a word


def test_filters(client, seller, catalogue):
    c = catalogue

    def found(**params):
        return set(ids_of(search(client, seller, **params)))

    assert found(tag=["防晒", "夏季"]) == {c["sunscreen"]}
    assert found(brand="安热沙") == {c["sunscreen"], c["spray"]}
    assert found(brand="zara") == {c["english"]}  # filters ignore case
    assert found(category="服饰") == {c["dress"], c["english"]}
    assert found(price_min="100", price_max="199.00") == {c["spray"], c["dress"]}
    assert found(has_video="true") == {c["sunscreen"], c["english"]}
    assert found(q="防晒", has_video="false", category="美妆") == {c["spray"], c["hostile"]}
    assert found(brand="没有这个牌子") == set()


def test_facets_count_every_match(client, seller, catalogue):
    body = search(client, seller, per_page=1)
    assert body["total"] == 6 and len(body["items"]) == 1
    facets = body["facets"]
    assert facets["category"][0] == {"value": "美妆", "count": 3}
    assert {"value": "安热沙", "count": 2} in facets["brand"]
    assert {"value": "夏季", "count": 2} in facets["tags"]
    assert facets["has_video"] == {"true": 2, "false": 4}
    narrowed = search(client, seller, q="防晒", category="美妆")["facets"]
    assert narrowed["has_video"] == {"true": 1, "false": 2}


def test_sorts_and_pages(client, seller, catalogue):
    c = catalogue
    forwarded = ids_of(search(client, seller, sort="forwarded"))
    assert forwarded[:2] == [c["spray"], c["sunscreen"]]
    newest = ids_of(search(client, seller, sort="newest"))
    assert newest == sorted(newest, reverse=True)  # published in id order
    relevance = ids_of(search(client, seller, q="防晒霜"))
    assert relevance[0] == c["sunscreen"]
    pages = [ids_of(search(client, seller, sort="newest", per_page=4, page=p)) for p in (1, 2, 3)]
    assert pages[0] + pages[1] == newest and pages[2] == []


def test_summary_and_highlight_are_safe(client, seller, catalogue):
    body = search(client, seller, q="防晒", category="美妆", has_video="true")
    (item,) = body["items"]
    assert item["price"] == "89.00" and item["brand"] == "安热沙"
    assert item["tags"] == ["防晒", "夏季"] and item["has_video"] is True
    assert item["thumbnail"].startswith("http") and item["thumbnail"].endswith(".jpg")
    assert "<mark>防晒</mark>" in item["highlight"]["title"]

    (hostile,) = search(client, seller, q="美白")["items"]
    title, copy = hostile["highlight"]["title"], hostile["highlight"]["copy"]
    assert "<script>" not in title and "&lt;script&gt;" in title
    assert "<mark>美白</mark>" in title and "&amp;" in title
    assert "<img" not in copy and "&lt;img" in copy


HOSTILE = [
    '"',
    '"防晒',
    "防晒)",
    "((防晒",
    "[{]}",
    "AND OR NOT",
    "NOT 防晒",
    "防晒 AND",
    "*",
    "?",
    "防*",
    "fang?hai",
    "title:防晒",
    "防晒^2~",
    "\\",
    "%_%",
    "'; DROP TABLE materials; --",
    "a" * 10_240,
    "防晒" * 5_000,
    "\x00\x01\x07\x1b[31m\x7f",
    "\u202e防晒\u2028霜\ufeff",
    "🧴🌞防晒🔥",
    " ",
]


def test_any_query_string_is_answered(client, seller, catalogue):
    for q in HOSTILE:
        body = search(client, seller, q=q)
        assert isinstance(body["items"], list) and body["total"] >= 0
    assert catalogue["sunscreen"] in ids_of(search(client, seller, q='"防晒'))


BAD_PARAMETERS = [
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "51"}, "per_page"),
    ({"per_page": "ten"}, "per_page"),
    ({"page": "0"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "600", "per_page": "50"}, "page"),
    ({"sort": "popular"}, "sort"),
    ({"has_video": "maybe"}, "has_video"),
    ({"price_min": "cheap"}, "price_min"),
    ({"price_min": "-5"}, "price_min"),
    ({"price_max": "1.234"}, "price_max"),
    ({"price_max": "NaN"}, "price_max"),
    ({"price_max": "1e999999"}, "price_max"),
    ({"price_min": "1" * 5000}, "price_min"),
    ({"page": "9" * 5000}, "page"),
    ({"page": "٣"}, "page"),
    ({"price_min": "100", "price_max": "50"}, "price_max"),
    ({"tag": [f"t{i}" for i in range(11)]}, "tag"),
    ({"brand": "牌" * 101}, "brand"),
]


def test_bad_parameters_are_422_naming_the_field(client, seller, follower):
    for params, field in BAD_PARAMETERS:
        resp = client.get("/api/v1/search", query_string=params, headers=seller["headers"])
        assert resp.status_code == 422, params
        assert resp.mimetype == "application/problem+json"
        assert resp.get_json()["field"] == field, params


def test_every_signed_in_role_may_search(app, client, ops, seller, follower):
    assert client.get("/api/v1/search").status_code == 401
    from tests.helpers import make_user

    storefront = make_user(app, "shop", "storefront")
    for token in (ops["token"], seller["token"], storefront["token"]):
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/search", headers=headers).status_code == 200


def test_503_until_the_index_is_built(client, seller):
    resp = client.get("/api/v1/search", headers=seller["headers"])
    assert resp.status_code == 503
    assert resp.get_json()["rule"] == "index_not_ready" and resp.headers["Retry-After"]


def test_a_lagging_replica_never_shows_a_material_that_is_not_live(app, client, seller, catalogue):
    service.unpublish(get_deps(app), catalogue["spray"])  # the indexer has not seen this yet
    body = search(client, seller, q="防晒")
    assert catalogue["spray"] not in ids_of(body)
    assert catalogue["sunscreen"] in ids_of(body)


def test_publish_window_opens_and_closes_with_no_edit(app, client, seller, follower):
    now = datetime.now(UTC)
    material = make_material(
        app,
        "限时秒杀保温杯",
        publish_at=now + timedelta(seconds=1),
        take_down_at=now + timedelta(seconds=2.5),
    )
    follower.catch_up()
    with get_deps(app).db.read() as s:
        head = log_head(s)

    def shown() -> bool:
        return material in ids_of(search(client, seller, q="保温杯"))

    assert not shown()
    wait_until(shown, timeout=5, interval=0.05)
    assert time.time() >= (now + timedelta(seconds=1)).timestamp()
    wait_until(lambda: not shown(), timeout=5, interval=0.05)
    with get_deps(app).db.read() as s:
        assert log_head(s) == head  # nothing was written: the window alone did it


@pytest.mark.slow
def test_a_real_upload_is_found_with_its_thumbnail(
    app, backend, client, ops, seller, worker, follower, small_jpeg
):
    resp = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")], title="真实上传的防晒霜")
    assert resp.status_code == 201, resp.get_json()
    material = resp.get_json()["id"]

    def ready() -> bool:
        url = f"/api/v1/materials/{material}"
        return client.get(url, headers=ops["headers"]).get_json()["status"] == "ready"

    wait_until(ready, timeout=60)
    url = f"/api/v1/materials/{material}/publish"
    assert client.post(url, headers=ops["headers"]).status_code == 200
    follower.catch_up()
    (item,) = search(client, seller, q="真实上传")["items"]
    with client.get(item["thumbnail"].removeprefix("http://localhost")) as thumb:
        # local disk streams the file; S3 answers with a redirect to a signed URL
        assert thumb.status_code == (302 if backend == "scale" else 200)


# whoosh's exists_in leaves the damaged file open when it raises (its bug, not ours); collect
# it here so the warning lands inside this test's filter.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_damaged_table_of_contents_is_503_not_500(app, client, seller):
    import gc
    from pathlib import Path

    index_dir = Path(get_deps(app).settings.INDEX_DIR)
    index_dir.mkdir(parents=True, exist_ok=True)
    (index_dir / "_MAIN_1.toc").write_bytes(b"garbage" * 10)
    resp = client.get("/api/v1/search?q=x", headers=seller["headers"])
    gc.collect()
    assert resp.status_code == 503
