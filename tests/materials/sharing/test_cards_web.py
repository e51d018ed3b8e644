"""GET /cards/<material>/<code>/<layout>.jpg on both backends: real renders, real storage, the
QR decoded with zxing-cpp, caching headers, and render-once under a flood of requests."""

from __future__ import annotations

import http.client
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from werkzeug.serving import make_server

from app import create_app
from materials.catalogue.renditions import sweep_orphans
from materials.models import Card
from materials.platform.deps import get_deps
from materials.sharing import cardstore
from media.samples import jpeg_bytes, product_image
from tests.helpers import post_upload
from tests.materials.sharing.helpers import (
    PUBLIC,
    card_url,
    image_size,
    live_material,
    qr_texts,
    ready,
    seller_user,
)

SIZES = {"square": (1080, 1080), "poster": (750, 1334), "story": (1080, 1920)}


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    return [
        jpeg_bytes(product_image(1600, 1200, seed=3)),
        jpeg_bytes(product_image(900, 1200, seed=4)),
    ]


@pytest.fixture
def material(client, ops, worker, photos) -> dict:
    return live_material(client, ops, photos, title="夏季清爽防晒霜", copy="轻薄不油腻，一抹成膜！")


def renders(app) -> dict:
    return dict(cardstore.cache_for(get_deps(app)).renders)


@pytest.mark.parametrize("layout", ["square", "poster", "story", "photo-1", "photo-2"])
def test_every_layout_is_a_card_whose_qr_is_the_referral_url(client, material, seller, layout):
    resp = client.get(card_url(material["id"], seller["referral_code"], layout))
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    referral = f"{PUBLIC}/r/{seller['referral_code']}/{material['id']}"
    assert qr_texts(resp.data) == [referral]
    size = image_size(resp.data)
    if layout in SIZES:
        assert size == SIZES[layout]
    else:  # the n-th photo at display size, its own aspect ratio kept
        assert max(size) == 1080
        assert size[0] > size[1] if layout == "photo-1" else size[0] < size[1]
    assert resp.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.get_etag() == (resp.headers["ETag"].strip('"'), False)  # strong


def test_the_link_preview_card_is_served_like_the_others(client, material, seller):
    """og.jpg: the 1200 x 630 card the share page's og:image names, without a QR."""
    resp = client.get(card_url(material["id"], seller["referral_code"], "og"))
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg"
    assert image_size(resp.data) == (1200, 630)
    assert qr_texts(resp.data) == []
    assert resp.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert client.get(card_url(material["id"], "ZZZZZZZ", "og")).status_code == 404
    assert client.get(card_url(99999, seller["referral_code"], "og")).status_code == 404


def test_revalidation_is_a_304_and_a_second_get_reads_the_stored_card(app, client, material):
    seller = seller_user(app, "小美")
    url = card_url(material["id"], seller["referral_code"], "square")
    first = client.get(url)
    counts = renders(app)
    assert counts == {"base": 1, "card": 1}
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and "must-revalidate" in again.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    second = client.get(url)
    assert second.data == first.data and second.headers["ETag"] == etag
    assert client.head(url).status_code == 200
    assert renders(app) == counts  # neither the 304s nor the repeat rendered anything


@pytest.mark.settings(ACCEL_REDIRECT="/_stored/")
def test_a_stored_card_is_handed_to_nginx_unread_when_storage_is_local(
    app, client, backend, material, seller, monkeypatch
):
    url = card_url(material["id"], seller["referral_code"], "square")
    first = client.get(url)  # rendered by this request: the bytes are in hand, so sent
    assert first.status_code == 200 and first.data and "X-Accel-Redirect" not in first.headers
    storage = get_deps(app).storage
    if backend == "scale":  # nginx cannot read an object store: the bytes as before
        second = client.get(url)
        assert second.data == first.data and "X-Accel-Redirect" not in second.headers
        return

    def unread(key: str) -> bytes:
        raise AssertionError(f"read {key}")

    monkeypatch.setattr(storage, "get_bytes", unread)
    monkeypatch.setattr(storage, "open", unread)
    second = client.get(url)
    with get_deps(app).db.read() as s:
        key = s.scalar(select(Card.key).where(Card.cache_key == first.headers["ETag"].strip('"')))
    assert second.status_code == 200 and second.data == b""
    assert second.headers["X-Accel-Redirect"] == f"/_stored/{key}"
    assert (storage.root / key).read_bytes() == first.data
    for name in ("ETag", "Cache-Control", "Content-Type", "X-Content-Type-Options"):
        assert second.headers[name] == first.headers[name], name
    revalidated = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304 and "X-Accel-Redirect" not in revalidated.headers
    monkeypatch.undo()
    (storage.root / key).unlink()  # a lost file is rendered again, never handed over as a 404
    third = client.get(url)
    assert third.data == first.data and "X-Accel-Redirect" not in third.headers


def test_an_edit_changes_the_bytes_and_the_etag(client, ops, material, seller):
    url = card_url(material["id"], seller["referral_code"], "poster")
    before = client.get(url)
    resp = client.patch(
        f"/api/v1/materials/{material['id']}", headers=ops["headers"], json={"price": "79.00"}
    )
    assert resp.status_code == 200
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"] and after.data != before.data
    assert qr_texts(after.data) == qr_texts(before.data)  # same seller, same link


def test_a_new_seller_costs_only_the_stamp_and_another_process_reuses_the_stored_base(
    app, settings, client, material
):
    a, b, c = (seller_user(app, name) for name in ("卖家甲", "卖家乙", "卖家丙"))
    client.get(card_url(material["id"], a["referral_code"], "story"))
    assert renders(app) == {"base": 1, "card": 1}
    second = client.get(card_url(material["id"], b["referral_code"], "story"))
    assert renders(app) == {"base": 1, "card": 2}  # the base was reused
    # A second app stands in for another process: no memory in common, same database.
    other = create_app(settings)
    try:
        third = other.test_client().get(card_url(material["id"], c["referral_code"], "story"))
        assert third.status_code == 200 and renders(other) == {"card": 1}
        # A card made from the stored base is byte-identical to one from the fresh base.
        with get_deps(other).db.transaction() as s:
            s.execute(delete(Card).where(Card.cache_key == second.headers["ETag"].strip('"')))
        again = other.test_client().get(card_url(material["id"], b["referral_code"], "story"))
        assert again.data == second.data and renders(other) == {"card": 2}
    finally:
        get_deps(other).db.dispose()


def test_not_live_unknown_and_malformed_are_404(app, client, ops, worker, photos, material, seller):
    code, mid = seller["referral_code"], material["id"]
    public = app.test_client()  # a visitor: its cookies never reach the API client
    for url in [
        card_url(99999, code, "square"),
        card_url(10**17, code, "square"),
        card_url(mid, "ZZZZZZZ", "square"),
        card_url(mid, "0O1IL", "square"),
        card_url(mid, code, "round"),
        card_url(mid, code, "photo-0"),
        card_url(mid, code, "photo-3"),  # it has two photos
        card_url(mid, code, "photo-01"),
        card_url(f"0{mid}", code, "square"),
        card_url(f"{mid}.0", code, "square"),
        f"/cards/{mid}/{code}/square.png",
        f"/cards/{mid}//{code}/square.jpg",
    ]:
        assert public.get(url).status_code == 404, url
    ops_h = ops["headers"]
    never = post_upload(client, ops_h, [(photos[0], "a.jpg")]).get_json()["id"]
    ready(client, ops, never)  # processed, never published: a draft
    down = live_material(client, ops, photos[:1])
    client.post(f"/api/v1/materials/{down['id']}/unpublish", headers=ops_h)  # taken down
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    client.post(f"/api/v1/materials/{mid}/publish", headers=ops_h, json={"publish_at": soon})
    for material_id in (never, down["id"], mid):
        assert public.get(card_url(material_id, code, "square")).status_code == 404
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    gone = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    window = {"publish_at": past, "take_down_at": gone}
    client.post(f"/api/v1/materials/{mid}/publish", headers=ops_h, json=window)
    assert public.get(card_url(mid, code, "square")).status_code == 404  # expired
    client.post(f"/api/v1/materials/{mid}/publish", headers=ops_h, json={})
    assert public.get(card_url(mid, code.lower(), "square")).status_code == 200


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _fetch_all(port: int, path: str, n: int) -> list[tuple[int, bytes, str]]:
    barrier, results = threading.Barrier(n), [None] * n

    def fetch(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        conn.request("GET", path)
        resp = conn.getresponse()
        results[i] = (resp.status, resp.read(), resp.getheader("ETag"))
        conn.close()

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_parallel_first_requests_render_once(app, material, seller):
    server, thread = _serve(app)
    try:
        path = card_url(material["id"], seller["referral_code"], "square")
        results = _fetch_all(server.server_port, path, 50)
    finally:
        server.shutdown()
        thread.join()
    assert {status for status, _, _ in results} == {200}
    assert len({body for _, body, _ in results}) == 1 and len({e for _, _, e in results}) == 1
    assert renders(app) == {"base": 1, "card": 1}


def test_two_processes_flooded_at_once_render_once(app, settings, material, seller):
    """Two apps share only the database and storage, as two gunicorn workers do: the claim
    row, not an in-process lock, is what keeps them from rendering twice."""
    other = create_app(settings)
    servers = [_serve(app), _serve(other)]
    path = card_url(material["id"], seller["referral_code"], "photo-1")
    out: list = []
    try:
        workers = [
            threading.Thread(target=lambda p=srv.server_port: out.extend(_fetch_all(p, path, 10)))
            for srv, _ in servers
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        for srv, thread in servers:
            srv.shutdown()
            thread.join()
        get_deps(other).db.dispose()
    assert len(out) == 20 and {status for status, _, _ in out} == {200}
    assert len({body for _, body, _ in out}) == 1
    total = renders(app).get("card", 0) + renders(other).get("card", 0)
    assert total == 1
    assert renders(app).get("base", 0) + renders(other).get("base", 0) == 1


def test_a_stale_claim_is_taken_over_and_a_lost_object_rendered_again(app, client, material):
    seller = seller_user(app, "阿芳")
    spec_url = card_url(material["id"], seller["referral_code"], "square")
    first = client.get(spec_url)
    key = first.headers["ETag"].strip('"')
    deps = get_deps(app)
    with deps.db.read() as s:
        row = s.scalar(select(Card).where(Card.cache_key == key))
    deps.storage.delete(row.key)  # the stored object is gone: render it again
    assert client.get(spec_url).data == first.data
    # A claim left behind by a process that died mid-render.
    long_ago = datetime.now(UTC) - timedelta(seconds=cardstore.CLAIM_STALE_SECONDS + 5)
    with deps.db.transaction() as s:
        s.execute(
            update(Card).where(Card.cache_key == key).values(key="", size=0, created_at=long_ago)
        )
    assert client.get(spec_url).data == first.data
    with deps.db.read() as s:
        assert s.scalar(select(Card.size).where(Card.cache_key == key)) == len(first.data)


def test_the_orphan_sweep_keeps_cards_and_bases(app, client, material, seller):
    client.get(card_url(material["id"], seller["referral_code"], "square"))
    deps = get_deps(app)
    stored = {k for k, _ in deps.storage.list("cards/")}
    assert len(stored) == 2  # the base and the card
    assert sweep_orphans(deps) == 0
    assert {k for k, _ in deps.storage.list("cards/")} == stored
