"""Text responses leave compressed (gzip, or br when asked); card JPEGs and small bodies do not.
(JPEG and MP4 are not in COMPRESS_MIMETYPES at all.)"""

from __future__ import annotations

import gzip

import brotli
import pytest

from tests.web.conftest import ready_material

GZIP = {"Accept-Encoding": "gzip"}


def get(client, path: str, **headers):
    """The answer, read and closed (a file response holds its file open until closed)."""
    resp = client.get(path, headers=headers)
    resp.get_data()
    resp.close()
    return resp


def _same_body_both_ways(client, path: str, headers: dict | None = None) -> bytes:
    plain = get(client, path, **(headers or {}))
    packed = get(client, path, **(headers or {}), **GZIP)
    assert plain.status_code == packed.status_code == 200, path
    assert "Content-Encoding" not in plain.headers, path
    assert packed.headers["Content-Encoding"] == "gzip", path
    assert "Accept-Encoding" in packed.headers["Vary"], path
    assert len(packed.data) < len(plain.data), path
    assert gzip.decompress(packed.data) == plain.data, path
    return plain.data


def test_a_page_and_json_come_back_gzip_and_decode_to_the_same_body(app):
    client = app.test_client()  # one client: the page's CSRF token stays the same
    assert b"<form" in _same_body_both_ways(client, "/signin")
    assert b'"openapi"' in _same_body_both_ways(client, "/api/v1/openapi.json")
    assert b"body" in _same_body_both_ways(client, "/static/sucai.css")


def test_brotli_when_the_client_takes_it(client):
    plain = get(client, "/static/sucai.css")
    packed = get(client, "/static/sucai.css", **{"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data


def test_small_bodies_and_byte_ranges_stay_as_they_are(client):
    resp = get(client, "/api/v1/materials", **GZIP)  # a 401 problem+json of ~170 bytes
    assert resp.status_code == 401 and "Content-Encoding" not in resp.headers
    resp = get(client, "/static/sucai.css", **GZIP, Range="bytes=0-99")
    assert resp.status_code == 206 and "Content-Encoding" not in resp.headers
    assert len(resp.data) == 100


@pytest.fixture
def material(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(client, ops_user, [(small_jpeg, "a.jpg")])


def test_a_card_is_not_recompressed_its_page_and_json_are(client, material, ops_user, seller_user):
    card = get(client, f"/cards/{material}/{seller_user['referral_code']}/square.jpg", **GZIP)
    assert card.status_code == 200 and card.mimetype == "image/jpeg"
    assert "Content-Encoding" not in card.headers
    assert card.data[:2] == b"\xff\xd8"
    assert "Accept-Encoding" in card.headers["Vary"]
    # While the share page and the API's JSON about the same material are.
    assert b"<html" in _same_body_both_ways(client, f"/m/{material}")
    assert b'"assets"' in _same_body_both_ways(client, "/api/v1/materials", ops_user["headers"])
