"""Session sign-in and sign-out, roles, the sign-in rate limit, and the API accepting sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from app import create_app
from materials.accounts import hash_password
from materials.models import User
from materials.platform.deps import get_deps
from tests.helpers import make_user, post_upload
from tests.web.conftest import PASSWORD, csrf_from, sign_in


def test_ops_and_sellers_land_on_their_home(app, ops_user, seller_user):
    for user, home in ((ops_user, "/ops/"), (seller_user, "/h5/")):
        client = app.test_client()
        resp = sign_in(client, user["name"])
        assert resp.status_code == 303 and resp.location == home
        assert client.get("/").location == home


def test_anonymous_visitors_are_sent_to_sign_in_and_back(app, ops_user):
    client = app.test_client()
    assert client.get("/").location == "/signin"
    resp = client.get("/ops/new")
    assert resp.status_code == 302 and resp.location == "/signin?next=/ops/new"
    token = csrf_from(client.get(resp.location).get_data(as_text=True))
    form = {"name": ops_user["name"], "password": PASSWORD, "csrf_token": token, "next": "/ops/new"}
    assert client.post("/signin", data=form).location == "/ops/new"


def test_next_never_leaves_the_site(app, ops_user):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:1"):
        client = app.test_client()
        token = csrf_from(client.get("/signin").get_data(as_text=True))
        form = {"name": ops_user["name"], "password": PASSWORD, "csrf_token": token}
        assert client.post("/signin", data=form | {"next": target}).location == "/ops/"


def test_wrong_password_and_unknown_name_look_the_same(app, ops_user):
    client = app.test_client()
    bodies = []
    for name, password in ((ops_user["name"], "wrong"), ("nobody", PASSWORD)):
        token = csrf_from(client.get("/signin").get_data(as_text=True))
        resp = client.post(
            "/signin", data={"name": name, "password": password, "csrf_token": token}
        )
        assert resp.status_code == 401
        bodies.append(resp.get_data(as_text=True))
        assert "用户名或密码不对" in bodies[-1]
    assert client.get("/ops/").status_code == 302


def test_storefronts_cannot_sign_in_to_pages(app):
    make_user(app, "小店", "storefront", PASSWORD)
    assert sign_in(app.test_client(), "小店").status_code == 401


def test_sign_in_is_rate_limited_per_ip_and_name(app, ops_user, seller_user):
    client = app.test_client()

    def attempt(name: str, password: str):
        token = csrf_from(client.get("/signin").get_data(as_text=True))
        return client.post(
            "/signin", data={"name": name, "password": password, "csrf_token": token}
        )

    for _ in range(5):
        assert attempt(ops_user["name"], "guess").status_code == 401
    resp = attempt(ops_user["name"], PASSWORD)  # even the right password waits now
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert "尝试次数过多" in resp.get_data(as_text=True)
    assert attempt(seller_user["name"], PASSWORD).status_code == 303  # another name is fine


def test_roles_are_enforced_on_pages(ops_client, seller_client):
    assert seller_client.get("/ops/").status_code == 403
    assert seller_client.get("/ops/stats").status_code == 403
    assert ops_client.get("/h5/").status_code == 403
    assert ops_client.get("/h5/stats").status_code == 403
    resp = seller_client.post("/ops/bulk", data={"csrf_token": seller_client.csrf})
    assert resp.status_code == 403


def test_roles_are_enforced_on_the_api_with_a_session(seller_client, ops_client):
    assert seller_client.get("/api/v1/materials").status_code == 403
    assert ops_client.get("/api/v1/materials").status_code == 200


def test_sign_out_ends_the_session(ops_client):
    resp = ops_client.post("/signout", data={"csrf_token": ops_client.csrf})
    assert resp.status_code == 303 and resp.location == "/signin"
    assert ops_client.get("/ops/").status_code == 302
    assert ops_client.get("/api/v1/materials").status_code == 401


def test_a_new_password_signs_old_sessions_out(app, ops_client, ops_user):
    with get_deps(app).db.transaction() as s:
        s.execute(
            update(User)
            .where(User.id == ops_user["id"])
            .values(password_hash=hash_password("new password"))
        )
    assert ops_client.get("/ops/").status_code == 302


# ---------------------------------------------------------------- rate limits (Flask-Limiter)


def attempt(app, name: str, password: str, ip: str = "127.0.0.1"):
    """One sign-in from a fresh browser at `ip`: the limits count per IP, not per cookie."""
    client = app.test_client()
    token = csrf_from(client.get("/signin").get_data(as_text=True))
    form = {"name": name, "password": password, "csrf_token": token}
    return client.post("/signin", data=form, environ_base={"REMOTE_ADDR": ip})


def test_a_success_forgets_that_names_failures(app, ops_user):
    for _ in range(4):
        assert attempt(app, ops_user["name"], "guess").status_code == 401
    assert attempt(app, ops_user["name"], PASSWORD).status_code == 303
    for _ in range(5):
        assert attempt(app, ops_user["name"], "typo").status_code == 401
    resp = attempt(app, ops_user["name"], PASSWORD)
    assert resp.status_code == 429 and resp.headers["Cache-Control"] == "private, no-store"


def test_failures_from_one_ip_are_limited_across_names(app, ops_user):
    for i in range(30):
        assert attempt(app, f"nobody{i}", "guess").status_code == 401
    resp = attempt(app, ops_user["name"], PASSWORD)
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 900
    assert attempt(app, ops_user["name"], PASSWORD, ip="198.51.100.9").status_code == 303


def test_sign_in_works_and_is_limited_while_redis_is_down(settings, ops_user):
    # Nothing listens on port 1: the app must start (no I/O at construction) and sign-in must
    # work, counting failures in memory meanwhile.
    down = create_app(settings | {"RATELIMIT_STORAGE_URL": "redis://127.0.0.1:1/0"})
    try:
        assert attempt(down, ops_user["name"], PASSWORD).status_code == 303
        for _ in range(5):
            assert attempt(down, ops_user["name"], "guess").status_code == 401
        assert attempt(down, ops_user["name"], PASSWORD).status_code == 429
    finally:
        get_deps(down).db.dispose()


@pytest.mark.parametrize("backend", ["scale"])  # memory:// counts in each process by design
def test_the_limit_holds_across_app_instances_sharing_redis(app, settings, ops_user):
    other = create_app(settings)  # another worker or node: same Redis, same QUEUE_NAME
    try:
        assert get_deps(app).settings.RATELIMIT_STORAGE_URL.startswith("redis://")
        for i in range(5):
            assert attempt((app, other)[i % 2], ops_user["name"], "guess").status_code == 401
        assert attempt(other, ops_user["name"], PASSWORD).status_code == 429
        assert attempt(app, ops_user["name"], PASSWORD).status_code == 429
    finally:
        get_deps(other).db.dispose()


def test_uploads_are_limited_per_user(settings, ops_user, small_jpeg):
    limited = create_app(settings | {"UPLOAD_RATE_LIMIT": "2/hour"})
    try:
        client = limited.test_client()
        photos = [(small_jpeg, "a.jpg")]
        for _ in range(2):
            assert post_upload(client, ops_user["headers"], photos).status_code == 201
        resp = post_upload(client, ops_user["headers"], photos)
        assert resp.status_code == 429 and resp.mimetype == "application/problem+json"
        assert resp.get_json()["rule"] == "rate_limit"
        assert 0 < int(resp.headers["Retry-After"]) <= 3600
        colleague = make_user(limited, "运营小张", "ops")
        headers = {"Authorization": f"Bearer {colleague['token']}"}
        assert post_upload(client, headers, photos).status_code == 201
    finally:
        get_deps(limited).db.dispose()


def test_an_empty_upload_limit_means_none(settings, ops_user, small_jpeg):
    unlimited = create_app(settings | {"UPLOAD_RATE_LIMIT": ""})
    try:
        client = unlimited.test_client()
        for _ in range(3):
            resp = post_upload(client, ops_user["headers"], [(small_jpeg, "a.jpg")])
            assert resp.status_code == 201
    finally:
        get_deps(unlimited).db.dispose()
