"""POST /api/v1/materials/<id>/forward: what a seller's phone needs for one-tap forwarding, and
the forward it records; GET previews the same and records nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from materials.models import ChangeLog, Forward
from materials.platform.deps import get_deps
from materials.sharing.forwarding import REINDEX_EVERY
from media.samples import jpeg_bytes, product_image
from tests.materials.sharing.helpers import PUBLIC, live_material, qr_texts, seller_user


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    return [jpeg_bytes(product_image(700, 700, seed=i)) for i in range(3)]


def forward(client, seller, material_id):
    return client.post(f"/api/v1/materials/{material_id}/forward", headers=seller["headers"])


def test_forward_gives_text_link_cards_and_video(app, client, ops, worker, photos, short_clip):
    m = live_material(
        client, ops, photos, video=short_clip, title="婴儿连体衣", copy="A类纯棉，软软的～"
    )
    seller = seller_user(app, "宝妈小王")
    resp = forward(client, seller, m["id"])
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    code = seller["referral_code"]
    link = f"{PUBLIC}/r/{code}/{m['id']}"
    assert body["link"] == link and body["referral_code"] == code
    assert body["body"] == body["text"] == f"婴儿连体衣\nA类纯棉，软软的～\n💰 ¥89\n👉 {link}"
    assert body["comment"] == "" and body["price"] == "89.00"
    assert body["copy"] == {"variant_id": None, "own": False, "label": "默认文案"}
    base = f"{PUBLIC}/cards/{m['id']}/{code}"
    assert body["cards"]["square"] == f"{base}/square.jpg"
    assert body["cards"]["photos"] == [f"{base}/photo-{n}.jpg" for n in (1, 2, 3)]
    video = m["assets"][-1]["renditions"]
    assert body["video"] == video["video"]["url"] and body["poster"] == video["poster"]["url"]
    assert resp.headers["Cache-Control"] == "no-store"
    # Every card URL it hands out serves a card whose QR is the seller's link.
    for url in [body["cards"]["square"], *body["cards"]["photos"]]:
        card = client.get(url.removeprefix(PUBLIC))
        assert card.status_code == 200 and qr_texts(card.data) == [link]


def test_each_forward_is_recorded_and_counted(app, client, ops, worker, photos):
    m = live_material(client, ops, photos[:1], copy="")
    a, b = seller_user(app, "甲"), seller_user(app, "乙")
    for _ in range(REINDEX_EVERY + 2):
        assert forward(client, a, m["id"]).status_code == 201
    last = forward(client, b, m["id"]).get_json()
    assert last["forward_count"] == REINDEX_EVERY + 3 and last["video"] is None
    assert "\n\n" not in last["text"]  # no empty copy line
    assert (
        client.get(f"/api/v1/materials/{m['id']}", headers=ops["headers"]).get_json()[
            "forward_count"
        ]
        == REINDEX_EVERY + 3
    )
    with get_deps(app).db.read() as s:
        assert s.scalar(select(func.count()).select_from(Forward)) == REINDEX_EVERY + 3
        logged = s.scalar(
            select(func.count()).select_from(ChangeLog).where(ChangeLog.op == "forward")
        )
    # Counts 1..10 each, then 20 would be the next: the index hears of the first ten.
    assert logged == REINDEX_EVERY


def test_only_live_materials_and_only_sellers(app, client, ops, worker, photos, seller):
    m = live_material(client, ops, photos[:1])
    assert forward(client, ops, m["id"]).status_code == 403
    assert client.post(f"/api/v1/materials/{m['id']}/forward").status_code == 401
    assert forward(client, seller, 99999).status_code == 404
    assert forward(client, seller, 10**12).status_code == 404
    client.post(f"/api/v1/materials/{m['id']}/unpublish", headers=ops["headers"])
    resp = forward(client, seller, m["id"])
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    with get_deps(app).db.read() as s:
        assert s.scalar(select(func.count()).select_from(Forward)) == 0


def test_the_openapi_document_lists_the_sharing_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in [
        "/api/v1/materials/{material_id}/forward",
        "/api/v1/conversions",
        "/api/v1/stats/seller",
        "/api/v1/stats/ops",
        "/cards/{material_id}/{code}/{layout}.jpg",
        "/r/{code}/{material_id}",
    ]:
        assert path in paths, path
