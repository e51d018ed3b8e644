"""口碑指数 in the domain, on both backends: the product key, the Bayesian index and its order,
the 潜力 mark, one rating per seller and product (concurrent requests included), and what an
edit of the product URL does to the ratings."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from materials.accounts import create_user
from materials.catalogue import lifecycle, ratings
from materials.catalogue.products import normalise, product_key
from materials.catalogue.ratings import Prior, Scores, Tally, word_of_mouth
from materials.models import ChangeLog, Rating
from materials.platform.deps import get_deps
from tests.materials.factory import make_material


def sellers(app, n: int, prefix: str = "s"):
    db = get_deps(app).db
    return [create_user(db, f"{prefix}{i}", "seller")[0] for i in range(n)]


def rate_all(app, users, material_id: int, *values: int, comment: str = "") -> None:
    deps, now = get_deps(app), datetime.now(UTC)
    scores = Scores(*values, comment=comment) if len(values) == 4 else Scores(*(values * 4))
    for user in users:
        ratings.rate(deps, user, material_id, scores, now)


def count_ratings(app) -> int:
    with get_deps(app).db.read() as s:
        return s.scalar(select(func.count()).select_from(Rating))


# ---------------------------------------------------------------- the product key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://shop.example.com/item/1", "http://SHOP.example.com:80/item/1/"),
        ("https://shop.example.com/item/1#reviews", "https://shop.example.com/item/1"),
        ("https://s.example.com/i?id=7&sku=2", "https://s.example.com/i?sku=2&id=7"),
        ("https://s.example.com/i?id=7&utm_source=wx&ref=ABC", "https://s.example.com/i?id=7"),
        ("https://s.example.com/商品/1", "https://s.example.com/%E5%95%86%E5%93%81/1"),
    ],
)
def test_one_product_however_its_url_is_spelled(a, b):
    assert product_key(a, 1) == product_key(b, 2)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://s.example.com/i?id=7", "https://s.example.com/i?id=8"),
        ("https://a.example.com/item/1", "https://b.example.com/item/1"),
        ("https://s.example.com/item/1", "https://s.example.com/item/2"),
        ("https://s.example.com:8443/item/1", "https://s.example.com/item/1"),
    ],
)
def test_other_products_other_keys(a, b):
    assert product_key(a, 1) != product_key(b, 1)


def test_no_readable_url_is_a_product_of_its_own():
    assert normalise("not a url") is None
    assert product_key("", 42) == "m:42"
    assert product_key("https://s.example.com/1", 42).startswith("u:")
    assert len(product_key("https://s.example.com/" + "x" * 1900, 1)) <= 80


# ---------------------------------------------------------------- the index


PRIOR = Prior(5.0, 10)


def test_bayesian_average_per_dimension_and_overall():
    # 3 ratings: performance 9+8+10, price 6+6+6, design 4+5+6, packaging 10+10+10
    wom = word_of_mouth(Tally(3, (27, 18, 15, 30)), PRIOR, min_ratings=10)
    assert wom.breakdown["performance"] == pytest.approx((50 + 27) / 13)
    assert wom.breakdown["price_acceptance"] == pytest.approx((50 + 18) / 13)
    assert wom.index == pytest.approx((50 + 90 / 4) / 13)
    assert wom.index == pytest.approx(sum(wom.breakdown.values()) / 4)
    assert word_of_mouth(Tally(), PRIOR, 10).index == 5.0  # no ratings: the prior


def test_two_enthusiastic_ratings_do_not_outrank_two_hundred_good_ones(app):
    raves = make_material(app, "网红面膜", product_url="https://s.example.com/rave")
    good = make_material(app, "经典面霜", product_url="https://s.example.com/good")
    everyone = sellers(app, 200)
    rate_all(app, everyone[:2], raves, 10)
    rate_all(app, everyone, good, 8)
    board = ratings.board(get_deps(app))
    assert [row.material.id for row in board.rows] == [good, raves]
    top, second = (row.word_of_mouth for row in board.rows)
    assert top.ratings == 200 and second.ratings == 2
    assert top.index == pytest.approx((50 + 1600) / 210)
    assert second.index == pytest.approx((50 + 20) / 12)  # 5.83, though both rated 10


@pytest.mark.settings(POTENTIAL_MIN_RATINGS=3)
def test_potential_needs_the_threshold_and_enough_ratings(app):
    at_line = make_material(app, "刚好及格", product_url="https://s.example.com/a")
    too_few = make_material(app, "评分太少", product_url="https://s.example.com/b")
    below = make_material(app, "不及格", product_url="https://s.example.com/c")
    three = sellers(app, 3)
    rate_all(app, three, at_line, 5)  # (10 * 5 + 15) / 13 = 5.0 exactly
    rate_all(app, three[:2], too_few, 10)
    rate_all(app, three, below, 4)
    marks = {r.material.id: r.word_of_mouth.potential for r in ratings.board(get_deps(app)).rows}
    assert marks == {at_line: True, too_few: False, below: False}
    only = ratings.board(get_deps(app), potential_only=True)
    assert [r.material.id for r in only.rows] == [at_line] and only.total == 1


# ---------------------------------------------------------------- one rating per seller


def test_rating_again_replaces_and_materials_of_one_product_share_it(app):
    first = make_material(app, "防晒霜 · 海边", product_url="https://s.example.com/p?id=1")
    second = make_material(app, "防晒霜 · 通勤", product_url="https://S.example.com/p/?id=1")
    (seller,) = sellers(app, 1)
    deps, now = get_deps(app), datetime.now(UTC)
    assert ratings.rate(deps, seller, first, Scores(3, 3, 3, 3), now) is True
    assert ratings.rate(deps, seller, second, Scores(9, 8, 7, 6, "改主意了"), now) is False
    assert count_ratings(app) == 1
    mine = ratings.own_rating(deps, seller, first, now)
    assert (mine.performance, mine.packaging, mine.comment) == (9, 6, "改主意了")
    a = ratings.material_index(deps, first, now).word_of_mouth
    b = ratings.material_index(deps, second, now).word_of_mouth
    assert a == b and a.ratings == 1


def test_concurrent_ratings_by_one_seller_leave_one(app):
    material = make_material(app, "抢购款", product_url="https://s.example.com/rush")
    (seller,) = sellers(app, 1)
    deps = get_deps(app)
    start, outcomes, errors = threading.Barrier(8), [], []

    def put(n: int) -> None:
        start.wait()
        try:
            outcomes.append(ratings.rate(deps, seller, material, Scores(n, n, n, n), utcnow()))
        except Exception as exc:  # noqa: BLE001 - any failure fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(outcomes) == [False] * 7 + [True]  # exactly one of them made it
    assert count_ratings(app) == 1
    with deps.db.read() as s:
        row = s.scalar(select(Rating))
    assert row.performance == row.packaging and 1 <= row.performance <= 8


def utcnow() -> datetime:
    return datetime.now(UTC)


def test_every_rating_change_logs_each_material_of_the_product(app):
    a = make_material(app, "同款一", product_url="https://s.example.com/same")
    b = make_material(app, "同款二", product_url="https://s.example.com/same")
    other = make_material(app, "别的", product_url="https://s.example.com/other")
    (seller,) = sellers(app, 1)
    deps = get_deps(app)

    def logged() -> list[int]:
        with deps.db.read() as s:
            rows = s.scalars(select(ChangeLog.material_id).where(ChangeLog.op == "rating"))
            return sorted(rows)

    ratings.rate(deps, seller, a, Scores(7, 7, 7, 7), utcnow())
    assert logged() == sorted([a, b])
    ratings.remove_rating(deps, seller, b, utcnow())
    assert logged() == sorted([a, b, a, b])
    assert other not in logged()


def test_a_corrected_product_url_keeps_the_ratings(app):
    material = make_material(app, "错链接", product_url="https://s.example.com/typo")
    rate_all(app, sellers(app, 3), material, 8)
    lifecycle.update_material(
        get_deps(app), material, {"product_url": "https://s.example.com/fixed"}
    )
    wom = ratings.material_index(get_deps(app), material, utcnow()).word_of_mouth
    assert wom.ratings == 3


def test_leaving_a_shared_product_leaves_its_ratings_with_it(app):
    stays = make_material(app, "原商品", product_url="https://s.example.com/shared")
    leaves = make_material(app, "换商品", product_url="https://s.example.com/shared")
    rate_all(app, sellers(app, 2), stays, 9)
    lifecycle.update_material(get_deps(app), leaves, {"product_url": "https://s.example.com/new"})
    deps = get_deps(app)
    assert ratings.material_index(deps, stays, utcnow()).word_of_mouth.ratings == 2
    assert ratings.material_index(deps, leaves, utcnow()).word_of_mouth.ratings == 0
