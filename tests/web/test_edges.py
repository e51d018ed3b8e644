"""Clean answers at the edges: Allow on every 405, errors by Accept on public URLs, NUL in a
query string, unread bodies, invisible characters and sneaky URLs in what ops type."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from materials.models import Conversion, Material
from materials.platform.deps import get_deps
from tests.conftest import free_port, wait_for_port
from tests.helpers import make_user, post_upload

ROOT = Path(__file__).resolve().parents[2]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
IMG = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/materials", {"GET", "POST"}),
        ("PUT", "/api/v1/conversions", {"POST"}),
        ("POST", "/cards/1/ABCDEFG/square.jpg", {"GET"}),
        ("DELETE", "/h5/", {"GET"}),
    ],
)
def test_every_405_says_what_is_allowed(client, method, path, allowed):
    resp = client.open(path, method=method)
    assert resp.status_code == 405
    assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}


@pytest.mark.parametrize("path", ["/cards/1/ABCDEFG/square.jpg", "/r/ABCDEFG/1"])
def test_unknown_card_or_link_is_problem_json_for_programs(client, path):
    for accept in (None, "*/*", IMG, "application/json"):
        resp = client.get(path, headers={"Accept": accept} if accept else {})
        assert resp.status_code == 404
        assert resp.mimetype == "application/problem+json", accept
        assert resp.get_json()["rule"] == "not_found"
    page = client.get(path, headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.mimetype == "text/html"


@pytest.mark.parametrize("path", ["/m/999", "/embed/999"])
def test_unknown_share_page_is_a_page_for_people_and_json_for_programs(client, path):
    assert client.get(path, headers={"Accept": BROWSER}).mimetype == "text/html"
    assert client.get(path).mimetype == "text/html"
    resp = client.get(path, headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "path", ["/api/v1/materials?tag=%00", "/api/v1/materials?brand=a%00", "/api/v1/search?tag=%00"]
)
def test_nul_in_a_filter_is_a_422_on_both_backends(client, ops, path):
    resp = client.get(path, headers=ops["headers"])
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["rule"] == "control_chars"


def test_nul_in_the_search_box_is_answered_or_refused_never_a_500(client, ops):
    listing = client.get("/api/v1/materials?q=a%00b", headers=ops["headers"])
    assert listing.status_code == 422 and listing.get_json()["field"] == "q"
    search = client.get("/api/v1/search?q=a%00b", headers=ops["headers"])
    assert search.status_code in (200, 503)  # 503 only while no index is built


def test_invisible_titles_and_tags_are_normalised(app, client, ops, small_jpeg):
    blank = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")], title="\u3164\u200b ")
    assert blank.status_code == 422 and blank.get_json()["rule"] == "required"
    resp = post_upload(
        client, ops["headers"], [(small_jpeg, "a.jpg")], tags=["防晒", "防晒\u200b", "\ufeff夏季"]
    )
    assert resp.status_code == 201
    assert resp.get_json()["tags"] == ["防晒", "夏季"]
    with get_deps(app).db.read() as s:
        assert s.scalar(select(func.count()).select_from(Material)) == 1


@pytest.mark.parametrize(
    "url", ["https://shop.example.com\t@evil.example/", "https://a:b@shop.example.com/1"]
)
def test_a_product_url_that_would_lead_elsewhere_is_refused(client, ops, small_jpeg, url):
    resp = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")], product_url=url)
    assert resp.status_code == 422
    assert resp.get_json()["field"] == "product_url" and resp.get_json()["rule"] == "url"


def test_an_order_id_with_a_zero_width_space_is_the_same_order(app, client, ops, small_jpeg):
    seller = make_user(app, "seller", "seller")
    shop = make_user(app, "shop", "storefront")
    headers = {"Authorization": f"Bearer {shop['token']}"}
    order = {"referral_code": seller["referral_code"], "amount": "89.00"}
    first = client.post("/api/v1/conversions", json=order | {"order_id": "A-1"}, headers=headers)
    again = client.post(
        "/api/v1/conversions", json=order | {"order_id": "A-1\u200b"}, headers=headers
    )
    assert (first.status_code, again.status_code) == (201, 200)
    with get_deps(app).db.read() as s:
        assert s.scalar(select(func.count()).select_from(Conversion)) == 1


@pytest.fixture
def gunicorn(settings) -> str:
    port = free_port()
    env = {**os.environ, **{f"SUCAI_{k}": str(v) for k, v in settings.items()}}
    cmd = [sys.executable, "-m", "flask", "--app", "app", "release"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "app:create_app()"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"),
            *("--worker-class", "gthread"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        # The first answer waits for the worker's warm-up (jieba, fontconfig): seconds on a
        # busy machine. The test is about the answers after it.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        conn.close()
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_refused_upload_gets_its_answer_not_a_reset(gunicorn):
    host, port = gunicorn.split(":")
    # Larger than the socket buffers: unread, it would be a reset (BrokenPipe) every time.
    body = b"x" * 8_000_000
    for _ in range(5):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request(
            "POST",
            "/api/v1/materials",
            body=body,
            headers={"Authorization": "Bearer wrong", "Content-Type": "multipart/form-data; b=x"},
        )
        resp = conn.getresponse()
        assert resp.status == 401
        assert b"token" in resp.read()
        conn.close()
