"""Try-out posts through the pages (signed-in test clients, both backends): the seller's form
on the H5 and their list, the ops review page; the same rules and refusals as the API."""

from __future__ import annotations

import io

import pytest

from materials.platform.deps import get_deps
from tests.helpers import make_user
from tests.materials.factory import make_material
from tests.web.conftest import PASSWORD, csrf_from, sign_in

TEXT = "孩子用了一个月，温和不刺激。"


@pytest.fixture
def origin(app) -> int:
    return make_material(app, "儿童洗发水", price_cents=5900)


def submit_form(client, origin: int, photos, text: str = TEXT, **extra):
    data = {"csrf_token": client.csrf, "text": text, **extra}
    data["photos"] = [(io.BytesIO(body), name) for body, name in photos]
    return client.post(f"/h5/m/{origin}/post", data=data, content_type="multipart/form-data")


def my_posts(app, seller_user) -> list:
    from materials.catalogue import posts
    from materials.models import User

    with get_deps(app).db.read() as s:
        user = s.get(User, seller_user["id"])
    return posts.my_posts(get_deps(app), user)


def test_the_seller_writes_a_post_from_the_material_page_and_follows_it(
    app, seller_client, seller_user, ops_client, origin, small_jpeg
):
    page = seller_client.get(f"/h5/m/{origin}").get_data(as_text=True)
    assert f'href="/h5/m/{origin}/post"' in page
    form = seller_client.get(f"/h5/m/{origin}/post")
    assert form.status_code == 200 and "儿童洗发水" in form.get_data(as_text=True)
    resp = submit_form(seller_client, origin, [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg")])
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/h5/posts")
    (post,) = my_posts(app, seller_user)
    assert post.review == "pending" and len(post.photos) == 2 and post.copy == TEXT
    listing = seller_client.get("/h5/posts").get_data(as_text=True)
    assert "待审核" in listing and f'id="post-{post.id}"' in listing
    # Ops send it back with a reason; the seller sees it, rewrites and resubmits.
    queue = ops_client.get("/ops/review/").get_data(as_text=True)
    assert TEXT in queue and "宝妈小李" in queue
    back = ops_client.post(
        f"/ops/review/{post.id}/request-changes",
        data={"csrf_token": ops_client.csrf, "reason": "<b>请补充</b>使用前后对比"},
    )
    assert back.status_code == 303
    listing = seller_client.get("/h5/posts").get_data(as_text=True)
    assert "&lt;b&gt;请补充&lt;/b&gt;使用前后对比" in listing and "待修改" in listing
    resp = seller_client.post(
        f"/h5/posts/{post.id}",
        data={"csrf_token": seller_client.csrf, "text": TEXT + "前后对比见图。", "resubmit": "1"},
    )
    assert resp.status_code == 303
    (post,) = my_posts(app, seller_user)
    assert post.review == "pending" and post.copy.endswith("前后对比见图。")
    ok = ops_client.post(f"/ops/review/{post.id}/approve", data={"csrf_token": ops_client.csrf})
    assert ok.status_code == 303
    assert my_posts(app, seller_user)[0].review == "approved"
    # In the console a post is a material like the others, marked as the seller's.
    listed = ops_client.get("/ops/").get_data(as_text=True)
    assert "试用体验 · 宝妈小李" in listed
    edit = ops_client.get(f"/ops/m/{post.id}").get_data(as_text=True)
    assert 'id="post-note"' in edit and "审核：已通过" in edit


def test_a_reason_is_needed_to_reject(
    app, seller_client, seller_user, ops_client, origin, small_jpeg
):
    submit_form(seller_client, origin, [(small_jpeg, "a.jpg")])
    (post,) = my_posts(app, seller_user)
    resp = ops_client.post(
        f"/ops/review/{post.id}/reject", data={"csrf_token": ops_client.csrf, "reason": " "}
    )
    assert resp.status_code == 303
    assert "请写明原因" in ops_client.get("/ops/review/").get_data(as_text=True)
    assert my_posts(app, seller_user)[0].review == "pending"


def test_the_form_refuses_what_the_api_refuses(app, seller_client, seller_user, origin, small_jpeg):
    too_many = submit_form(seller_client, origin, [(small_jpeg, f"{i}.jpg") for i in range(10)])
    assert too_many.status_code == 422 and "最多 9 张" in too_many.get_data(as_text=True)
    # What was typed comes back (escaped), nothing is kept.
    xss = "<script>alert(1)</script>"
    not_photo = submit_form(seller_client, origin, [(b"GIF89a....", "x.jpg")], text=xss)
    html = not_photo.get_data(as_text=True)
    assert not_photo.status_code == 415 and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    empty = submit_form(seller_client, origin, [(small_jpeg, "a.jpg")], text="\u200b ")
    assert empty.status_code == 422
    assert my_posts(app, seller_user) == []


@pytest.mark.settings(POSTS_PER_DAY=1)
def test_the_daily_cap_on_the_page(app, seller_client, seller_user, origin, small_jpeg):
    assert submit_form(seller_client, origin, [(small_jpeg, "a.jpg")]).status_code == 303
    resp = submit_form(seller_client, origin, [(small_jpeg, "a.jpg")])
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert "已达上限" in resp.get_data(as_text=True)
    assert len(my_posts(app, seller_user)) == 1


def test_another_sellers_post_and_the_review_page_are_out_of_reach(
    app, seller_client, seller_user, origin, small_jpeg
):
    submit_form(seller_client, origin, [(small_jpeg, "a.jpg")])
    (post,) = my_posts(app, seller_user)
    make_user(app, "另一位店主", "seller", PASSWORD)
    other = app.test_client()
    sign_in(other, "另一位店主")
    token = csrf_from(other.get("/h5/").get_data(as_text=True))
    assert other.get(f"/h5/posts/{post.id}").status_code == 404
    resp = other.post(f"/h5/posts/{post.id}", data={"csrf_token": token, "text": "我的了"})
    assert resp.status_code == 404
    assert my_posts(app, seller_user)[0].copy == TEXT
    assert seller_client.get("/ops/review/").status_code == 403
    resp = seller_client.post(
        f"/ops/review/{post.id}/approve", data={"csrf_token": seller_client.csrf}
    )
    assert resp.status_code == 403
    assert my_posts(app, seller_user)[0].review == "pending"
    # Without the CSRF token the form is refused.
    forged = seller_client.post(f"/h5/m/{origin}/post", data={"text": TEXT})
    assert forged.status_code == 403


def test_a_draft_or_unknown_material_has_no_post_form(app, seller_client):
    draft = make_material(app, "未发布", publish=False)
    assert seller_client.get(f"/h5/m/{draft}/post").status_code == 404
    assert seller_client.get("/h5/m/2147483647/post").status_code == 404


def test_an_approved_posts_markup_is_text_on_the_sellers_page_and_the_feed(
    app, seller_client, seller_user, ops_client, origin, small_jpeg, worker
):
    from tests.helpers import wait_until

    xss = '<img src=x onerror="alert(1)">试用'
    submit_form(seller_client, origin, [(small_jpeg, "a.jpg")], text=xss, title=xss)
    (post,) = my_posts(app, seller_user)
    ops_client.post(f"/ops/review/{post.id}/approve", data={"csrf_token": ops_client.csrf})
    wait_until(lambda: my_posts(app, seller_user)[0].status == "ready", timeout=60)
    for url in (f"/h5/m/{post.id}", "/h5/", f"/m/{post.id}"):
        resp = seller_client.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, url
        assert "<img src=x" not in html and "&lt;img src=x onerror=" in html, url
        assert "作者 " in html and seller_user["name"] in html, url
