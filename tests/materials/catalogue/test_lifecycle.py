"""Edit, publish (now and in a window), take down, list, accounts, the change log, sweeping."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import select

from materials.accounts import CODE_ALPHABET
from materials.catalogue.renditions import sweep_orphans
from materials.catalogue.uploads import spool_dir
from materials.models import ChangeLog
from materials.platform.deps import get_deps
from tests.helpers import make_user, post_upload, wait_until


def create(client, ops, jpeg, **fields) -> dict:
    resp = post_upload(client, ops["headers"], [(jpeg, "a.jpg")], **fields)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def get(client, ops, material_id) -> dict:
    return client.get(f"/api/v1/materials/{material_id}", headers=ops["headers"]).get_json()


def changes(app, material_id) -> list[str]:
    with get_deps(app).db.read() as s:
        rows = s.scalars(
            select(ChangeLog).where(ChangeLog.material_id == material_id).order_by(ChangeLog.seq)
        )
        return [r.op for r in rows]


def test_edit_makes_a_new_version(client, ops, small_jpeg):
    m = create(client, ops, small_jpeg)
    assert m["version"] == 1 and m["tags"] == ["防晒", "夏季"]
    resp = client.patch(
        f"/api/v1/materials/{m['id']}",
        headers=ops["headers"],
        json={"title": "新标题", "price": "79.9", "tags": ["新品", "防晒, 夏季"]},
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["version"] == 2 and body["title"] == "新标题" and body["price"] == "79.90"
    assert body["tags"] == ["新品", "防晒", "夏季"]
    assert body["copy"] == m["copy"]  # untouched fields stay
    assert changes(client.application, m["id"]) == ["create", "edit"]


def test_edit_refuses_bad_fields_and_keeps_data(client, ops, small_jpeg):
    m = create(client, ops, small_jpeg)
    for body, field in [
        ({"price": "free"}, "price"),
        ({"title": ""}, "title"),
        ({"product_url": "ftp://x"}, "product_url"),
        ({"tags": "x"}, "tags"),
        ({"tags": [1, {}, None]}, "tags"),
    ]:
        resp = client.patch(f"/api/v1/materials/{m['id']}", headers=ops["headers"], json=body)
        assert resp.status_code == 422 and resp.get_json()["field"] == field
    resp = client.patch(
        f"/api/v1/materials/{m['id']}",
        headers=ops["headers"],
        data="[1,2",
        content_type="application/json",
    )
    assert resp.status_code == 422
    assert get(client, ops, m["id"])["version"] == 1
    assert (
        client.patch(
            "/api/v1/materials/999", headers=ops["headers"], json={"title": "x"}
        ).status_code
        == 404
    )


def test_hostile_edits_are_422_not_500(client, ops, small_jpeg):
    m = create(client, ops, small_jpeg)
    url = f"/api/v1/materials/{m['id']}"
    for body, field, rule in [
        ({"product_url": "http://[::1"}, "product_url", "url"),  # urlsplit raises
        ({"product_url": "http://shop.example:99999999/"}, "product_url", "url"),
        ({"product_url": "http://shop..example/"}, "product_url", "url"),  # no IDNA form
        ({"title": "\ud800"}, "title", "encoding"),  # a lone surrogate: no UTF-8 for it
        ({"tags": ["ok", "\udfff"]}, "tags", "encoding"),
    ]:
        resp = client.patch(url, headers=ops["headers"], json=body)
        assert resp.status_code == 422, (body, resp.status_code)
        assert (resp.get_json()["field"], resp.get_json()["rule"]) == (field, rule)
    for nested in ("[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000):
        resp = client.patch(
            url, headers=ops["headers"], data=nested, content_type="application/json"
        )
        assert resp.status_code == 422 and resp.get_json()["rule"] == "json"
    assert get(client, ops, m["id"])["version"] == 1


def test_publish_window_and_take_down(client, ops, worker, small_jpeg):
    m = create(client, ops, small_jpeg)
    wait_until(lambda: get(client, ops, m["id"])["status"] == "ready")
    soon = datetime.now(UTC) + timedelta(hours=1)
    later = soon + timedelta(days=1)
    resp = client.post(
        f"/api/v1/materials/{m['id']}/publish",
        headers=ops["headers"],
        json={"publish_at": soon.isoformat(), "take_down_at": later.isoformat()},
    )
    assert resp.status_code == 200
    pub = resp.get_json()["publication"]
    assert pub["state"] == "scheduled" and pub["live"] is False
    resp = client.post(f"/api/v1/materials/{m['id']}/publish", headers=ops["headers"], json={})
    assert resp.get_json()["publication"] == {
        "state": "published",
        "live": True,
        "publish_at": None,
        "take_down_at": None,
    }
    resp = client.post(f"/api/v1/materials/{m['id']}/unpublish", headers=ops["headers"])
    assert resp.get_json()["publication"]["state"] == "taken_down"
    assert changes(client.application, m["id"])[-3:] == ["publish", "publish", "unpublish"]


def test_publish_window_rules(client, ops, small_jpeg):
    m = create(client, ops, small_jpeg)
    url = f"/api/v1/materials/{m['id']}/publish"
    bad = [
        ({"publish_at": "tomorrow"}, "datetime"),
        ({"publish_at": "2026-12-01T08:00:00"}, "timezone"),
        ({"publish_at": "2026-12-02T08:00:00Z", "take_down_at": "2026-12-01T08:00:00Z"}, "window"),
        ({"publish_at": 123}, "datetime"),
        ({"publish_at": "9999-99-99"}, "datetime"),
        # Valid ISO times that fall outside datetime's range in UTC.
        ({"take_down_at": "9999-12-31T23:59:59-23:59"}, "datetime"),
        ({"publish_at": "0001-01-01T00:00:00+23:59"}, "datetime"),
        # In range in UTC, but not in the local zone the pages show it in.
        ({"take_down_at": "9999-12-31T23:59:59Z"}, "datetime"),
    ]
    for body, rule in bad:
        resp = client.post(url, headers=ops["headers"], json=body)
        assert resp.status_code == 422 and resp.get_json()["rule"] == rule, body
    # Unreadable JSON is refused, not taken for "publish now".
    for raw in ("garbage", "null", "[" * 100_000 + "]" * 100_000):
        resp = client.post(url, headers=ops["headers"], data=raw, content_type="application/json")
        assert resp.status_code == 422 and resp.get_json()["rule"] == "json"
    assert get(client, ops, m["id"])["publication"]["state"] == "draft"


def test_list_filters_and_pages(client, ops, small_jpeg):
    for i in range(5):
        create(
            client,
            ops,
            small_jpeg,
            title=f"商品{i}",
            brand="甲" if i % 2 else "乙",
            tags=["奇" if i % 2 else "偶"],
        )
    h = ops["headers"]
    page = client.get("/api/v1/materials?per_page=2&page=2", headers=h).get_json()
    assert page["total"] == 5 and [m["title"] for m in page["items"]] == ["商品2", "商品1"]
    assert client.get("/api/v1/materials?brand=甲", headers=h).get_json()["total"] == 2
    assert client.get("/api/v1/materials?tag=偶", headers=h).get_json()["total"] == 3
    assert client.get("/api/v1/materials?q=商品3", headers=h).get_json()["total"] == 1
    assert client.get("/api/v1/materials?q=%25", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/materials?per_page=1000", headers=h).status_code == 422
    assert client.get("/api/v1/materials?page=-1", headers=h).status_code == 422
    # isdigit() is True for these but int() refuses "²"; and 20 digits is not a page.
    for query in ("page=²", "per_page=١", "page=99999999999999999999", "page=" + "9" * 5000):
        resp = client.get(f"/api/v1/materials?{query}", headers=h)
        assert resp.status_code == 422 and resp.get_json()["rule"] == "range", query


def test_users_create_prints_token_and_code(app):
    seller = make_user(app, "宝妈小王", "seller")
    assert set(seller) == {"id", "name", "role", "token", "referral_code"}
    code = seller["referral_code"]
    assert 6 <= len(code) <= 8 and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("01OIL")
    ops = make_user(app, "ops2", "ops")
    assert "referral_code" not in ops
    result = app.test_cli_runner().invoke(args=["users", "create", "ops2", "--role", "ops"])
    assert result.exit_code != 0 and "exists" in result.output
    codes = {make_user(app, f"s{i}", "seller")["referral_code"] for i in range(30)}
    assert len(codes) == 30


def test_sweep_removes_only_orphans(app, client, ops, worker, small_jpeg):
    m = create(client, ops, small_jpeg)
    wait_until(lambda: get(client, ops, m["id"])["status"] == "ready")
    deps = get_deps(app)
    deps.storage.put_bytes("originals/2020/01/orphan.jpg", b"x", "image/jpeg")
    before = {k for k, _ in deps.storage.list("")}
    assert sweep_orphans(deps) == 1
    after = {k for k, _ in deps.storage.list("")}
    assert before - after == {"originals/2020/01/orphan.jpg"}


def test_uploads_spool_in_the_data_directory(app, settings):
    """Not in the machine's temp directory: what a killed web worker leaves is ours to sweep."""
    spool = Path(settings["DATA_DIR"]) / "spool"
    assert spool_dir(get_deps(app).settings) == spool
    with app.test_request_context("/api/v1/materials", method="POST"):
        spooled = request._get_file_stream(0, "image/jpeg", "a.jpg")
        try:
            path = Path(spooled.name)
            assert path.parent == spool and path.exists()
        finally:
            spooled.close()
        assert not path.exists()


@pytest.mark.settings(ORPHAN_GRACE_SECONDS=3600)
def test_sweep_removes_spool_files_a_killed_worker_left(app):
    """The fault drill found upload spool files that web workers SIGKILLed mid-request left
    behind, S3 downloads of SIGKILLed job workers, and a sweep that never looked at them."""
    deps = get_deps(app)
    spool = spool_dir(deps.settings)
    left = spool / "sucai-up-left"
    left.write_bytes(b"half an upload")
    two_hours_ago = time.time() - 7200
    os.utime(left, (two_hours_ago, two_hours_ago))
    live = spool / "sucai-up-live"  # a request reading its body now: within the grace
    live.write_bytes(b"an upload arriving")
    # a worker's download or transcode directory, left by a SIGKILLed job / one in progress
    job, running = spool / "sucai-abc", spool / "sucai-v-def"
    for d in (job, running):
        d.mkdir()
        (d / "object.jpg").write_bytes(b"x")
    for p in (job, job / "object.jpg"):
        os.utime(p, (two_hours_ago, two_hours_ago))
    assert sweep_orphans(deps) == 2
    assert not left.exists() and live.exists()
    assert not job.exists() and (running / "object.jpg").exists()


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and "/api/v1/materials" in doc["paths"]


def test_openapi_lists_every_api_route(app):
    import re

    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in doc["paths"], f"{path} is not in the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"][path], f"{method} {path} undocumented"
