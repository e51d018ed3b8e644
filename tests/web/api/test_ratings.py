"""The 口碑指数 API on both backends: a seller's own rating (PUT/GET/DELETE), the index, ops'
selection board; hostile input, roles, unknown and unpublished materials; and search: the
index in the documents, kept fresh through the change log, sort=index, the bounded boost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from materials.accounts import create_user
from materials.catalogue import lifecycle, ratings
from materials.catalogue.ratings import Scores
from materials.models import ChangeLog, Material, Rating
from materials.platform.deps import get_deps
from tests.helpers import make_user
from tests.materials.factory import make_material

PROBLEM = "application/problem+json"
GOOD = {"performance": 8, "price_acceptance": 7, "design": 9, "packaging": 6}


@pytest.fixture
def material(app) -> int:
    return make_material(app, "补水面膜", product_url="https://s.example.com/mask")


@pytest.fixture
def other_seller(app) -> dict:
    user = make_user(app, "seller2", "seller")
    return user | {"headers": {"Authorization": f"Bearer {user['token']}"}}


@pytest.fixture
def storefront(app) -> dict:
    user = make_user(app, "shop", "storefront")
    return user | {"headers": {"Authorization": f"Bearer {user['token']}"}}


def put(client, user, material_id, body):
    return client.put(f"/api/v1/materials/{material_id}/rating", json=body, headers=user["headers"])


def counts(app) -> tuple[int, int]:
    """(ratings, change-log rows): what a refused request must leave as it was."""
    with get_deps(app).db.read() as s:
        n = s.scalar(select(func.count()).select_from(Rating))
        return n, s.scalar(select(func.count()).select_from(ChangeLog))


def index_of(client, user, material_id) -> dict:
    resp = client.get(f"/api/v1/materials/{material_id}/index", headers=user["headers"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# ---------------------------------------------------------------- the seller's own rating


def test_rate_read_replace_withdraw(client, seller, material):
    resp = put(client, seller, material, GOOD | {"comment": "  很好用\u200b "})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json() | {"created_at": None, "updated_at": None} == {
        "material_id": material,
        **GOOD,
        "comment": "很好用",
        "created_at": None,
        "updated_at": None,
    }
    again = put(client, seller, material, {**GOOD, "design": 3})
    assert again.status_code == 200 and again.get_json()["design"] == 3
    assert again.get_json()["comment"] == ""  # a rating is replaced whole
    got = client.get(f"/api/v1/materials/{material}/rating", headers=seller["headers"])
    assert got.status_code == 200 and got.get_json()["design"] == 3
    body = index_of(client, seller, material)
    assert body["ratings"] == 1
    assert body["breakdown"]["design"] == round((10 * 5.0 + 3) / 11, 2)
    assert body["prior"] == {"mean": 5.0, "weight": 10} and body["threshold"] == 5.0
    gone = client.delete(f"/api/v1/materials/{material}/rating", headers=seller["headers"])
    assert gone.status_code == 204
    assert index_of(client, seller, material)["ratings"] == 0
    missing = client.get(f"/api/v1/materials/{material}/rating", headers=seller["headers"])
    assert missing.status_code == 404 and missing.get_json()["rule"] == "no_rating"


def test_concurrent_puts_by_one_seller_leave_one_rating(app, seller, material):
    start, statuses = threading.Barrier(6), []

    def send(n: int) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(put(client, seller, material, {**GOOD, "design": n}).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] * 5 + [201]
    assert counts(app)[0] == 1


def test_another_seller_cannot_touch_mine(app, client, seller, other_seller, material):
    assert put(client, seller, material, GOOD).status_code == 201
    url = f"/api/v1/materials/{material}/rating"
    assert client.get(url, headers=other_seller["headers"]).status_code == 404
    assert client.delete(url, headers=other_seller["headers"]).status_code == 404
    assert put(client, other_seller, material, {**GOOD, "performance": 1}).status_code == 201
    mine = client.get(url, headers=seller["headers"]).get_json()
    assert mine["performance"] == 8
    assert index_of(client, seller, material)["ratings"] == 2


@pytest.mark.parametrize("role", ["ops", "storefront"])
def test_ops_and_storefronts_cannot_rate(app, client, ops, storefront, material, role):
    user = {"ops": ops, "storefront": storefront}[role]
    before = counts(app)
    url = f"/api/v1/materials/{material}/rating"
    for resp in (
        put(client, user, material, GOOD),
        client.get(url, headers=user["headers"]),
        client.delete(url, headers=user["headers"]),
    ):
        assert resp.status_code == 403 and resp.mimetype == PROBLEM
        assert resp.get_json()["rule"] == "role"
    assert counts(app) == before


def test_roles_of_the_index_and_the_board(client, ops, seller, storefront, material):
    assert index_of(client, ops, material)["ratings"] == 0
    url = f"/api/v1/materials/{material}/index"
    assert client.get(url, headers=storefront["headers"]).status_code == 403
    assert client.get("/api/v1/ops/selection", headers=seller["headers"]).status_code == 403
    assert client.get("/api/v1/ops/selection").status_code == 401


def test_unknown_and_unpublished_materials_are_404(app, client, ops, seller):
    draft = make_material(app, "草稿", publish=False, product_url="https://s.example.com/d")
    down = make_material(app, "已下架", product_url="https://s.example.com/t")
    lifecycle.unpublish(get_deps(app), down)
    before = counts(app)
    for material_id in (draft, down, 999_999, 2**31 - 1):
        url = f"/api/v1/materials/{material_id}"
        for resp in (
            put(client, seller, material_id, GOOD),
            client.get(f"{url}/rating", headers=seller["headers"]),
            client.delete(f"{url}/rating", headers=seller["headers"]),
            client.get(f"{url}/index", headers=seller["headers"]),
        ):
            assert resp.status_code == 404, (material_id, resp.get_json())
            assert resp.mimetype == PROBLEM
    assert counts(app) == before
    # Ops see every material's index, as they see every material.
    assert index_of(client, ops, draft)["ratings"] == 0


# ---------------------------------------------------------------- hostile input

HOSTILE = [
    ({**GOOD, "performance": 0}, "performance", "range"),
    ({**GOOD, "design": 11}, "design", "range"),
    ({**GOOD, "packaging": -3}, "packaging", "range"),
    ({**GOOD, "price_acceptance": 7.5}, "price_acceptance", "type"),
    ({**GOOD, "performance": "8"}, "performance", "type"),
    ({**GOOD, "performance": True}, "performance", "type"),
    ({**GOOD, "performance": None}, "performance", "type"),
    ({**GOOD, "performance": [8]}, "performance", "type"),
    ({**GOOD, "performance": 10**40}, "performance", "range"),
    ({k: v for k, v in GOOD.items() if k != "design"}, "design", "required"),
    ({}, "performance", "required"),
    ({**GOOD, "comment": "好" * 201}, "comment", "max_length"),
    ({**GOOD, "comment": "ok\x00"}, "comment", "control_chars"),
    ({**GOOD, "comment": "\ud800"}, "comment", "encoding"),
    ({**GOOD, "comment": 5}, "comment", "type"),
]


@pytest.mark.parametrize(("body", "field", "rule"), HOSTILE)
def test_hostile_ratings_are_precise_422s_leaving_nothing(
    app, client, seller, material, body, field, rule
):
    before = counts(app)
    resp = put(client, seller, material, body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.mimetype == PROBLEM
    problem = resp.get_json()
    assert (problem["field"], problem["rule"]) == (field, rule), problem
    assert counts(app) == before


def test_an_integral_float_is_a_whole_number(client, seller, material):
    resp = put(client, seller, material, {**GOOD, "performance": 8.0})
    assert resp.status_code == 201 and resp.get_json()["performance"] == 8


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("[1, 2]", "application/json"), ("not json", "application/json"), ("a=1", "text/plain")],
)
def test_bodies_that_are_no_json_object(client, seller, material, data, content_type):
    resp = client.put(
        f"/api/v1/materials/{material}/rating",
        data=data,
        content_type=content_type,
        headers=seller["headers"],
    )
    assert resp.status_code == 422 and resp.get_json()["rule"] in ("json", "content_type")


def test_a_comment_is_kept_as_text(client, seller, material):
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert put(client, seller, material, {**GOOD, "comment": script}).status_code == 201
    got = client.get(f"/api/v1/materials/{material}/rating", headers=seller["headers"])
    assert got.get_json()["comment"] == script  # JSON carries it as the text it is


# ---------------------------------------------------------------- the board


def test_the_board_ranks_by_index_with_the_dimensions(app, client, ops, material):
    deps, now = get_deps(app), datetime.now(UTC)
    twin = make_material(app, "补水面膜 · 第二篇", product_url="https://S.example.com/mask/")
    weak = make_material(app, "普通面膜", product_url="https://s.example.com/weak")
    for i in range(12):
        user = create_user(deps.db, f"r{i}", "seller")[0]
        ratings.rate(deps, user, material, Scores(9, 8, 7, 10), now)
        ratings.rate(deps, user, weak, Scores(4, 4, 4, 4), now)
    body = client.get("/api/v1/ops/selection", headers=ops["headers"]).get_json()
    assert body["total"] == 2 and body["min_ratings"] == 10
    first, second = body["items"]
    # The product shows through its newest material; both of its materials are counted.
    assert (first["rank"], first["material_id"], first["materials"]) == (1, twin, 2)
    assert first["potential"] is True and second["potential"] is False
    assert first["breakdown"]["packaging"] == round((50 + 120) / 22, 2)
    assert first["index"] == round((50 + 12 * 8.5) / 22, 2)
    assert second["material_id"] == weak and second["index"] < 5.0
    only = client.get("/api/v1/ops/selection?potential=true", headers=ops["headers"])
    assert [i["material_id"] for i in only.get_json()["items"]] == [twin]
    bad = client.get("/api/v1/ops/selection?limit=0", headers=ops["headers"])
    assert bad.status_code == 422 and bad.get_json()["field"] == "limit"


# ---------------------------------------------------------------- search


def rate_many(app, material_id: int, n: int, score: int, prefix: str) -> list:
    deps, now = get_deps(app), datetime.now(UTC)
    users = [create_user(deps.db, f"{prefix}{i}", "seller")[0] for i in range(n)]
    for user in users:
        ratings.rate(deps, user, material_id, Scores(score, score, score, score), now)
    return users


def search(app, q: str = "", **options):
    return get_deps(app).search.search(q, now=datetime.now(UTC), **options)


def test_sort_by_index_follows_ratings_through_the_change_log(app, client, seller, follower):
    loved = make_material(app, "面膜 甲", product_url="https://s.example.com/1")
    unrated = make_material(app, "面膜 乙", product_url="https://s.example.com/2")
    disliked = make_material(app, "面膜 丙", product_url="https://s.example.com/3")
    follower.catch_up()
    fans = rate_many(app, loved, 5, 9, "a")
    rate_many(app, disliked, 5, 2, "b")
    follower.catch_up()  # ratings reach the index only through the change log
    resp = client.get(
        "/api/v1/search", query_string={"q": "面膜", "sort": "index"}, headers=seller["headers"]
    )
    items = resp.get_json()["items"]
    assert [i["id"] for i in items] == [loved, unrated, disliked]
    assert [i["ratings"] for i in items] == [5, 0, 5]
    assert items[0]["index"] == round((50 + 45) / 15, 2) and items[1]["index"] == 5.0
    # Withdrawn ratings move the product again: 4 of 5 gone leaves (50 + 9) / 11 = 5.36.
    for user in fans[:4]:
        ratings.remove_rating(get_deps(app), user, loved, datetime.now(UTC))
    follower.catch_up()
    hits = search(app, "面膜", sort="index").hits
    assert [h.id for h in hits] == [loved, unrated, disliked]
    for user in fans[4:]:
        ratings.remove_rating(get_deps(app), user, loved, datetime.now(UTC))
    follower.catch_up()
    # Unrated both: equal index, the newest first.
    assert [h.id for h in search(app, "面膜", sort="index").hits] == [unrated, loved, disliked]


def test_the_index_lifts_equal_matches_but_never_a_much_weaker_one(app, follower):
    """Each rated material has an unrated twin of the same text: scores are compared within one
    index state (BM25's statistics move as documents are rewritten)."""
    weak_copy = "洁面、爽肤水、乳液、防晒、卸妆、眼霜、精华、面膜体验装一片，出差旅行都方便带。"

    def made(title: str, copy: str, n: int) -> int:
        return make_material(app, title, copy=copy, product_url=f"https://s.example.com/{n}")

    strong = made("玻尿酸补水面膜", "补水面膜，一片补水", 1)
    weak, weak_twin = made("洗面奶旅行套装", weak_copy, 2), made("洗面奶旅行套装", weak_copy, 3)
    good, good_twin = made("蚕丝面膜", "", 4), made("蚕丝面膜", "", 5)
    rate_many(app, weak, 60, 10, "w")  # (50 + 600) / 70 = 9.29: x(1 + 0.2 * 4.29 / 5) = 1.171
    rate_many(app, good, 30, 9, "g")  # (50 + 270) / 40 = 8.0: x1.12
    follower.catch_up()
    hits = search(app, "面膜").hits
    score = {h.id: h.score for h in hits}
    order = [h.id for h in hits]
    # The boost is as stated (kept in thousandths), and never above 1.2 ...
    assert score[weak] / score[weak_twin] == pytest.approx(1 + 0.2 * (650 / 70 - 5) / 5, abs=1e-3)
    assert score[good] / score[good_twin] == pytest.approx(1.12, abs=1e-3)
    # ... so between equal matches the better-rated product comes first ...
    assert order.index(good) < order.index(good_twin)
    assert order.index(weak) < order.index(weak_twin)
    # ... and a much better text match (over 1.2 times the score) still wins over the
    # best-rated weak one.
    assert score[strong] > 1.2 * score[weak_twin]
    assert order.index(strong) < order.index(weak)


def test_the_library_clamps_any_boost(tmp_path):
    from search import SearchIndex

    index = SearchIndex.open_or_create(tmp_path / "ix")
    now = datetime.now(UTC)
    docs = [
        {"id": 1, "title": "面膜", "version": 1, "boost": 50.0},
        {"id": 2, "title": "面膜", "version": 1, "boost": 0.1},
        {"id": 3, "title": "面膜", "version": 1},
    ]
    index.upsert(docs)
    score = {h.id: h.score for h in index.search("面膜", now=now).hits}
    index.close()
    assert score[1] == pytest.approx(1.2 * score[3]) and score[2] == pytest.approx(score[3])


def test_the_reconcile_catches_a_rating_no_log_row_announced(app, follower):
    """Ratings change no version: the periodic reconcile compares the index too."""
    material = make_material(app, "面膜 丁", product_url="https://s.example.com/lost")
    follower.catch_up()
    seller = create_user(get_deps(app).db, "quiet", "seller")[0]
    with get_deps(app).db.transaction() as s:  # as if its change-log row had been lost
        s.add(
            Rating(
                seller_id=seller.id,
                product_key=s.get(Material, material).product_key,
                material_id=material,
                performance=10,
                price_acceptance=10,
                design=10,
                packaging=10,
            )
        )
    follower.catch_up()
    assert follower.index.column("rating")[material] == 5000
    assert follower.reconcile() == 1
    assert follower.index.column("rating")[material] == round((50 + 10) / 11 * 1000)
    assert follower.reconcile() == 0
