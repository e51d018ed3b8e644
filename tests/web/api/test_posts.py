"""Try-out posts through the API on both backends: every review transition, the post's life as
a material (live nowhere until approved, then forwarded with anyone's code and credited to its
author), what the author sees, and hostile input (each a precise 4xx, nothing left behind)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from materials.catalogue import browse
from materials.catalogue.ratings import Prior
from materials.indexing.documents import load_docs
from materials.models import Asset, ChangeLog, Material
from materials.platform.deps import get_deps
from tests.helpers import post_multipart, wait_until
from tests.materials.factory import make_material
from tests.materials.sharing.helpers import card_url, qr_texts, seller_user

PROBLEM = "application/problem+json"


def public(client) -> str:
    return get_deps(client.application).settings.PUBLIC_URL


TEXT = "用了一周，清爽不黏腻，带娃出门补涂也方便。"


def post_post(client, headers: dict, material_id, photos, video=None, **fields):
    """POST /api/v1/posts: the product's material, the text (and fields), files as bytes."""
    form = {"material_id": str(material_id), "text": TEXT} | fields
    form["photos"] = [(io.BytesIO(body), name) for body, name in photos]
    if video:
        form["video"] = (io.BytesIO(video[0]), video[1])
    return post_multipart(client, "/api/v1/posts", headers, form)


@pytest.fixture
def origin(app) -> int:
    return make_material(app, "夏季清爽防晒霜", price_cents=8900, brand="安热沙", tags=("防晒",))


@pytest.fixture
def author(app) -> dict:
    return seller_user(app, "宝妈小李")


@pytest.fixture
def other(app) -> dict:
    return seller_user(app, "社区店阿芳")


def submit(client, author: dict, origin: int, jpeg: bytes, **fields) -> dict:
    resp = post_post(
        client, author["headers"], origin, [(jpeg, "a.jpg"), (jpeg, "b.jpg")], **fields
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def get_post(client, user: dict, post_id: int):
    return client.get(f"/api/v1/posts/{post_id}", headers=user["headers"])


def decide(client, ops: dict, post_id: int, action: str, reason: str | None = None):
    body = {"reason": reason} if reason is not None else None
    return client.post(f"/api/v1/posts/{post_id}/{action}", headers=ops["headers"], json=body)


def ready(client, ops: dict, post_id: int) -> None:
    wait_until(lambda: get_post(client, ops, post_id).get_json()["status"] == "ready", 120)


def snapshot(app) -> tuple:
    deps = get_deps(app)
    with deps.db.read() as s:
        counts = tuple(
            s.scalar(select(func.count()).select_from(m)) for m in (Material, Asset, ChangeLog)
        )
    return counts, sorted(k for k, _ in deps.storage.list(""))


def not_public(client, seller: dict, post_id: int) -> None:
    """Nowhere a seller or the public could meet it."""
    code = seller["referral_code"]
    for url in (f"/m/{post_id}", f"/r/{code}/{post_id}", card_url(post_id, code, "square")):
        assert client.get(url).status_code == 404, url
    forward = client.get(f"/api/v1/materials/{post_id}/forward", headers=seller["headers"])
    assert forward.status_code == 404
    deps = get_deps(client.application)
    assert post_id not in [m.id for m in browse.live_feed(deps, q="清爽").items]
    with deps.db.read() as s:
        docs, gone = load_docs(s, [post_id], Prior.of(deps.settings))  # the indexer's: nothing
    assert docs == [] and gone == {post_id}


# ---------------------------------------------------------------- the life of a post


def test_a_submitted_post_waits_live_nowhere_then_approved_is_forwarded_by_others(
    app, client, ops, author, other, origin, small_jpeg, worker
):
    post = submit(client, author, origin, small_jpeg)
    assert post["review"] == "pending" and post["publication"]["state"] == "draft"
    assert post["author"] == {"id": post["author"]["id"], "name": "宝妈小李"}
    assert post["origin"] == {"id": origin, "title": "夏季清爽防晒霜"}
    assert post["text"] == TEXT and post["title"] == "夏季清爽防晒霜 · 试用体验"
    ready(client, ops, post["id"])  # processed, and still nowhere
    not_public(client, other, post["id"])
    queue = client.get("/api/v1/review", headers=ops["headers"]).get_json()["items"]
    assert [p["id"] for p in queue] == [post["id"]]

    resp = decide(client, ops, post["id"], "approve")
    assert resp.status_code == 200, resp.get_json()
    approved = resp.get_json()
    assert approved["review"] == "approved" and approved["publication"]["live"] is True
    assert approved["page"] == f"{public(client)}/m/{post['id']}"
    assert client.get("/api/v1/review", headers=ops["headers"]).get_json()["items"] == []
    # A material like any other: the product's price and link, forwardable by anyone.
    material = client.get(f"/api/v1/materials/{post['id']}", headers=ops["headers"]).get_json()
    assert material["price"] == "89.00" and "试用体验" in material["tags"]
    # The forward is a POST (a GET only previews, counting nothing).
    share = client.post(f"/api/v1/materials/{post['id']}/forward", headers=other["headers"])
    assert share.status_code == 201
    link = f"{public(client)}/r/{other['referral_code']}/{post['id']}"
    assert link in share.get_json()["text"]
    card = client.get(card_url(post["id"], other["referral_code"], "square"))
    assert card.status_code == 200 and qr_texts(card.data) == [link]
    page = client.get(f"/m/{post['id']}").get_data(as_text=True)
    assert "作者" in page and "宝妈小李" in page
    # The author sees what others' forwards brought; their own forward is not counted there.
    client.post(f"/api/v1/materials/{post['id']}/forward", headers=author["headers"])
    client.get(f"/r/{other['referral_code']}/{post['id']}", headers={"User-Agent": "Mozilla/5.0"})
    mine = client.get("/api/v1/posts", headers=author["headers"]).get_json()["items"]
    assert [p["id"] for p in mine] == [post["id"]]
    assert mine[0]["reach"]["forwards"] == 1 and mine[0]["reach"]["clicks"]["valid"] == 1
    assert mine[0]["forward_count"] == 2
    # Take-down works as for any material.
    down = client.post(f"/api/v1/materials/{post['id']}/unpublish", headers=ops["headers"])
    assert down.status_code == 200
    assert client.get(f"/m/{post['id']}").status_code == 404


def test_rejected_with_a_reason_the_author_sees_and_never_published(
    client, ops, author, origin, small_jpeg
):
    post = submit(client, author, origin, small_jpeg)
    resp = decide(client, ops, post["id"], "reject", "照片与商品不符\u200b")
    assert resp.status_code == 200 and resp.get_json()["review"] == "rejected"
    seen = get_post(client, author, post["id"]).get_json()
    assert seen["reason"] == "照片与商品不符" and seen["reviewed_at"]
    for action in ("approve", "reject", "request-changes"):
        again = decide(client, ops, post["id"], action, None if action == "approve" else "x")
        assert again.status_code == 409 and again.get_json()["rule"] == "review_state"
    # Ops cannot publish it around the review either.
    publish = client.post(f"/api/v1/materials/{post['id']}/publish", headers=ops["headers"])
    assert publish.status_code == 409 and publish.get_json()["rule"] == "in_review"
    edit = client.patch(
        f"/api/v1/posts/{post['id']}", headers=author["headers"], json={"text": "改"}
    )
    assert edit.status_code == 409


def test_sent_back_edited_and_resubmitted(client, ops, author, origin, small_jpeg):
    post = submit(client, author, origin, small_jpeg)
    resubmit = f"/api/v1/posts/{post['id']}/resubmit"
    assert client.post(resubmit, headers=author["headers"]).status_code == 409  # still pending
    resp = decide(client, ops, post["id"], "request-changes", "请补充使用时长")
    assert resp.get_json()["review"] == "changes_requested"
    assert get_post(client, author, post["id"]).get_json()["reason"] == "请补充使用时长"
    edit = client.patch(
        f"/api/v1/posts/{post['id']}",
        headers=author["headers"],
        json={"text": "  用了两周，" + TEXT + "  ", "title": "两周试用"},
    )
    assert edit.status_code == 200, edit.get_json()
    edited = edit.get_json()
    assert edited["text"] == "用了两周，" + TEXT and edited["title"] == "两周试用"
    assert edited["version"] == post["version"] + 1 and edited["review"] == "changes_requested"
    again = client.post(resubmit, headers=author["headers"])
    assert again.status_code == 200 and again.get_json()["review"] == "pending"
    assert decide(client, ops, post["id"], "approve").get_json()["review"] == "approved"


def test_a_trusted_sellers_post_skips_the_queue(client, ops, author, origin, small_jpeg):
    trust = client.put(
        f"/api/v1/sellers/{author['id']}/trust", headers=ops["headers"], json={"trusted": True}
    )
    assert trust.status_code == 200 and trust.get_json()["trusted"] is True
    post = submit(client, author, origin, small_jpeg)
    assert post["review"] == "approved" and post["publication"]["state"] == "published"
    assert client.get("/api/v1/review", headers=ops["headers"]).get_json()["items"] == []
    untrust = client.put(
        f"/api/v1/sellers/{author['id']}/trust", headers=ops["headers"], json={"trusted": False}
    )
    assert untrust.get_json()["trusted"] is False
    assert submit(client, author, origin, small_jpeg)["review"] == "pending"


def test_trust_only_for_sellers_and_only_a_boolean(client, ops, author):
    url = f"/api/v1/sellers/{author['id']}/trust"
    for body in ({"trusted": "yes"}, {"trusted": 1}, {}, {"trusted": None}):
        resp = client.put(url, headers=ops["headers"], json=body)
        assert resp.status_code == 422 and resp.get_json()["field"] == "trusted", body
    resp = client.put(
        f"/api/v1/sellers/{ops['id']}/trust", headers=ops["headers"], json={"trusted": True}
    )
    assert resp.status_code == 404
    resp = client.put(
        "/api/v1/sellers/2147483647/trust", headers=ops["headers"], json={"trusted": True}
    )
    assert resp.status_code == 404


# ---------------------------------------------------------------- who may do what


def test_another_sellers_post_is_not_found(client, ops, author, other, origin, small_jpeg):
    post = submit(client, author, origin, small_jpeg)
    decide(client, ops, post["id"], "request-changes", "请补充")
    url = f"/api/v1/posts/{post['id']}"
    assert client.get(url, headers=other["headers"]).status_code == 404
    resp = client.patch(url, headers=other["headers"], json={"text": "我的"})
    assert resp.status_code == 404 and resp.mimetype == PROBLEM
    assert client.post(f"{url}/resubmit", headers=other["headers"]).status_code == 404
    assert client.get("/api/v1/posts", headers=other["headers"]).get_json()["items"] == []
    assert get_post(client, author, post["id"]).get_json()["text"] == TEXT
    # An ops material is no post, for its author's API either.
    assert client.get(f"/api/v1/posts/{origin}", headers=ops["headers"]).status_code == 404


def test_ops_actions_by_a_seller_are_forbidden(client, author, origin, small_jpeg):
    post = submit(client, author, origin, small_jpeg)
    calls = [
        ("post", f"/api/v1/posts/{post['id']}/approve", None),
        ("post", f"/api/v1/posts/{post['id']}/reject", {"reason": "x"}),
        ("post", f"/api/v1/posts/{post['id']}/request-changes", {"reason": "x"}),
        ("get", "/api/v1/review", None),
        ("put", f"/api/v1/sellers/{author['id']}/trust", {"trusted": True}),
    ]
    for method, url, body in calls:
        resp = getattr(client, method)(url, headers=author["headers"], json=body)
        assert resp.status_code == 403 and resp.get_json()["rule"] == "role", url
    assert get_post(client, author, post["id"]).get_json()["review"] == "pending"


def test_only_sellers_submit(app, client, ops, origin, small_jpeg):
    resp = post_post(client, ops["headers"], origin, [(small_jpeg, "a.jpg")])
    assert resp.status_code == 403
    assert post_post(client, {}, origin, [(small_jpeg, "a.jpg")]).status_code == 401


# ---------------------------------------------------------------- hostile input


@pytest.fixture
def baseline(app, origin):
    return snapshot(app)


def _refused(app, resp, status: int, rule: str, field: str, baseline) -> dict:
    assert resp.status_code == status, resp.get_json()
    assert resp.mimetype == PROBLEM
    problem = resp.get_json()
    assert problem["rule"] == rule and problem["field"] == field, problem
    assert snapshot(app) == baseline
    return problem


def test_too_many_photos(app, client, author, origin, baseline, small_jpeg):
    resp = post_post(
        client, author["headers"], origin, [(small_jpeg, f"{i}.jpg") for i in range(10)]
    )
    _refused(app, resp, 422, "max_items", "photos", baseline)


def test_no_photo(app, client, author, origin, baseline):
    resp = post_post(client, author["headers"], origin, [])
    _refused(app, resp, 422, "required", "photos", baseline)


@pytest.mark.settings(MAX_PHOTO_BYTES=50_000)
def test_oversize_photo(app, client, author, origin, baseline):
    from media.samples import jpeg_bytes, product_image

    big = jpeg_bytes(product_image(1600, 1600, seed=9), quality=98)
    assert len(big) > 50_000
    resp = post_post(client, author["headers"], origin, [(big, "big.jpg")])
    assert resp.status_code == 413 and resp.mimetype == PROBLEM
    assert snapshot(app) == baseline


def test_malformed_files(app, client, author, origin, baseline, small_jpeg):
    cases = [
        ([(b"<svg onload=alert(1)>", "x.jpg")], None, 415, "type", "photos[0]"),
        ([(small_jpeg[: len(small_jpeg) // 2], "cut.jpg")], None, 422, "truncated", "photos[0]"),
        ([(small_jpeg, "a.jpg")], (small_jpeg, "clip.mp4"), 415, "type", "video"),
        ([(b"", "empty.jpg")], None, 422, "empty", "photos[0]"),
    ]
    for photos, video, status, rule, field in cases:
        resp = post_post(client, author["headers"], origin, photos, video)
        _refused(app, resp, status, rule, field, baseline)


@pytest.mark.parametrize(
    "fields,rule,field",
    [
        ({"text": "   "}, "required", "text"),
        ({"text": "\u200b\u200b"}, "required", "text"),
        ({"text": "好" * 5001}, "max_length", "text"),
        ({"text": "ok\x00"}, "control_chars", "text"),
        ({"title": "长" * 201}, "max_length", "title"),
        ({"material_id": "1e3"}, "range", "material_id"),
        ({"material_id": "-1"}, "range", "material_id"),
    ],
)
def test_field_rules(app, client, author, origin, baseline, small_jpeg, fields, rule, field):
    fields = dict(fields)  # the parameters are shared by both backends' runs
    material_id = fields.pop("material_id", origin)
    resp = post_post(client, author["headers"], material_id, [(small_jpeg, "a.jpg")], **fields)
    _refused(app, resp, 422, rule, field, baseline)


def test_a_post_about_a_material_that_is_not_live(app, client, author, baseline, small_jpeg):
    draft = make_material(app, "未发布的商品", publish=False)
    baseline = snapshot(app)
    for material_id in (draft, 2147483647):
        resp = post_post(client, author["headers"], material_id, [(small_jpeg, "a.jpg")])
        _refused(app, resp, 404, "not_found", "material_id", baseline)


def test_review_reasons_are_required_and_bounded(client, ops, author, origin, small_jpeg):
    post = submit(client, author, origin, small_jpeg)
    for body, rule in (
        ({}, "required"),
        ({"reason": " "}, "required"),
        ({"reason": "长" * 501}, "max_length"),
    ):
        resp = client.post(f"/api/v1/posts/{post['id']}/reject", headers=ops["headers"], json=body)
        assert resp.status_code == 422 and resp.get_json()["rule"] == rule, body
        assert resp.get_json()["field"] == "reason"
    bad = client.post(
        f"/api/v1/posts/{post['id']}/reject",
        headers=ops["headers"] | {"Content-Type": "application/json"},
        data="not json",
    )
    assert bad.status_code == 422 and bad.get_json()["rule"] == "json"
    assert get_post(client, author, post["id"]).get_json()["review"] == "pending"


@pytest.mark.settings(POSTS_PER_DAY=2)
def test_the_daily_cap(app, client, author, other, origin, small_jpeg):
    submit(client, author, origin, small_jpeg)
    submit(client, author, origin, small_jpeg)
    before = snapshot(app)
    resp = post_post(client, author["headers"], origin, [(small_jpeg, "a.jpg")])
    assert resp.status_code == 429 and resp.mimetype == PROBLEM
    assert resp.get_json()["rule"] == "daily_posts"
    zone = ZoneInfo(get_deps(app).settings.TIMEZONE)
    now = datetime.now(UTC).astimezone(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), zone)
    wait = int(resp.headers["Retry-After"])
    assert abs(wait - (midnight - now).total_seconds()) <= 5
    assert snapshot(app) == before
    # Another seller's count is their own; yesterday's posts are not today's.
    submit(client, other, origin, small_jpeg)
    with get_deps(app).db.transaction() as s:
        for m in s.scalars(select(Material).where(Material.author_id == author["id"])):
            m.created_at = m.created_at - timedelta(days=1)
    submit(client, author, origin, small_jpeg)


def test_markup_in_the_text_is_text_on_pages_and_cards(
    app, client, ops, author, other, origin, small_jpeg, worker, indexer
):
    xss = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    post = submit(client, author, origin, small_jpeg, text=xss + " 好用", title=xss)
    ready(client, ops, post["id"])
    decide(client, ops, post["id"], "approve")
    assert get_post(client, author, post["id"]).get_json()["text"] == xss + " 好用"
    pages = [client.get(f"/m/{post['id']}?ref={other['referral_code']}")]
    for page in pages:
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert" in html

    def hits():
        found = client.get("/api/v1/search", query_string={"q": "好用"}, headers=other["headers"])
        return found.status_code == 200 and found.get_json()["items"]

    (hit,) = wait_until(hits, 30)
    assert hit["id"] == post["id"]
    assert (
        "<script" not in json.dumps(hit["highlight"]) and "&lt;script" in hit["highlight"]["copy"]
    )
    for layout in ("square", "poster", "story"):
        card = client.get(card_url(post["id"], other["referral_code"], layout))
        assert card.status_code == 200 and card.mimetype == "image/jpeg"
        assert qr_texts(card.data) == [f"{public(client)}/r/{other['referral_code']}/{post['id']}"]


@pytest.mark.settings(POSTS_PER_DAY=1)
def test_two_posts_at_once_against_a_cap_of_one(app, author, origin, small_jpeg):
    """The cap holds at commit: the seller's row is locked (SQLite: the write transaction),
    so two uploads that both passed the early check are counted one after the other."""
    import threading

    barrier, answers = threading.Barrier(2), []

    def one() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(post_post(client, author["headers"], origin, [(small_jpeg, "a.jpg")]))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status_code for r in answers) == [201, 429]
    with get_deps(app).db.read() as s:
        count = s.scalar(select(func.count()).where(Material.author_id == author["id"]))
    assert count == 1
