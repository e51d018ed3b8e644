"""Upload → store → process → ready, on both backends, with real files and a real worker."""

from __future__ import annotations

import functools
import io
import struct
import time
import zlib

import pytest
from PIL import Image

from materials.platform.deps import get_deps
from media.samples import jpeg_bytes, make_clip, png_bytes, product_image
from tests import hostile
from tests.helpers import post_upload, upload_form, wait_until


def upload(client, ops, photos, video=None, headers=None, **fields):
    return post_upload(client, {**ops["headers"], **(headers or {})}, photos, video, **fields)


def fetch(client, url: str) -> bytes:
    """A rendition URL, following the S3 backend's redirect to a presigned URL."""
    with client.get(url) as resp:
        if resp.status_code == 302:
            import urllib.request

            with urllib.request.urlopen(resp.headers["Location"], timeout=10) as r:  # noqa: S310
                return r.read()
        assert resp.status_code == 200, (url, resp.status_code)
        return resp.data


def wait_ready(client, ops, material_id: int, timeout: float = 60) -> dict:
    def done():
        body = client.get(f"/api/v1/materials/{material_id}", headers=ops["headers"]).get_json()
        return body if body["status"] != "processing" else None

    return wait_until(done, timeout)


def test_upload_photos_and_video_becomes_ready(client, ops, worker, media_dir, backend):
    big = jpeg_bytes(product_image(4000, 3000, seed=1))
    png = png_bytes(product_image(800, 600, seed=2))
    # Stored sideways (landscape pixels) with orientation 6: upright it is portrait.
    sideways = jpeg_bytes(product_image(1200, 900, seed=3), orientation=6, gps=True)
    clip = make_clip(media_dir / "phone.mp4", seconds=10, width=1080, height=1920).read_bytes()

    started = time.monotonic()
    resp = upload(
        client,
        ops,
        [(big, "big.jpg"), (png, "shot.png"), (sideways, "gps.jpg")],
        (clip, "phone.mp4"),
    )
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert created["status"] == "processing"
    assert [a["kind"] for a in created["assets"]] == ["photo", "photo", "photo", "video"]

    body = wait_ready(client, ops, created["id"])
    elapsed = time.monotonic() - started
    print(f"\n[{backend}] upload to ready: {elapsed:.1f} s")
    assert body["status"] == "ready", body
    assert elapsed < 60

    photos = body["assets"][:3]
    for asset in photos:
        for name in ("display", "thumb"):
            data = fetch(client, asset["renditions"][name]["url"])
            im = Image.open(io.BytesIO(data))
            assert im.format == "JPEG"
            assert not im.getexif(), f"{name} of {asset['original_filename']} kept EXIF"
            assert b"Exif" not in data[:2000] and b"SucaiPhone" not in data
    assert (
        max(
            photos[0]["renditions"]["display"]["width"],
            photos[0]["renditions"]["display"]["height"],
        )
        == 1080
    )

    upright = Image.open(io.BytesIO(fetch(client, photos[2]["renditions"]["display"]["url"])))
    assert upright.height > upright.width  # rotated to portrait
    # The red marker drawn top-left of the stored pixels sits top-right once upright (rot 90 cw).
    w, h = upright.size
    assert upright.getpixel((w - 10, 10))[0] > 200 and upright.getpixel((10, 10))[0] < 200

    video = body["assets"][3]
    mp4 = fetch(client, video["renditions"]["video"]["url"])
    assert _codec(mp4) == b"avc1"
    assert mp4.index(b"moov") < mp4.index(b"mdat"), "index (moov) must precede the media data"
    assert (video["renditions"]["video"]["width"], video["renditions"]["video"]["height"]) == (
        720,
        1280,
    )
    poster = Image.open(io.BytesIO(fetch(client, video["renditions"]["poster"]["url"])))
    assert poster.size == (720, 1280)


def _codec(mp4: bytes) -> bytes:
    i = mp4.index(b"stsd")
    return mp4[i + 16 : i + 20]


def test_originals_are_not_served(client, ops, worker, small_jpeg):
    resp = upload(client, ops, [(small_jpeg, "a.jpg")])
    material_id = resp.get_json()["id"]
    wait_ready(client, ops, material_id)
    deps = get_deps(client.application)
    key = next(k for k, _ in deps.storage.list("originals/"))
    assert client.get(f"/media/{key}").status_code == 404
    assert client.get("/media/../../etc/passwd").status_code == 404


def upload_then_break(client, ops, paused_worker, files, broken: int, data: bytes) -> int:
    """Upload good files, put `data` in storage under file `broken`'s key, then let the worker
    run. A cut file is refused at upload now; one can still be in storage from before."""
    resp = upload(client, ops, files)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    deps = get_deps(client.application)
    deps.storage.put_bytes(_asset_key(deps, created["assets"][broken]["id"]), data, "image/jpeg")
    paused_worker()
    return created["id"]


def test_failed_processing_is_visible_and_retryable(client, ops, paused_worker, small_jpeg):
    deps = get_deps(client.application)
    # Valid header, broken body: fails in the worker.
    broken = small_jpeg[: len(small_jpeg) // 3]
    files = [(small_jpeg, "ok.jpg"), (small_jpeg, "broken.jpg")]
    material_id = upload_then_break(client, ops, paused_worker, files, 1, broken)
    body = wait_ready(client, ops, material_id)
    assert body["status"] == "failed"
    assert "broken.jpg" in body["error"]
    assert body["assets"][1]["status"] == "failed"

    # Put a good file under the same key, then retry: the material becomes ready.
    key = _asset_key(deps, body["assets"][1]["id"])
    deps.storage.put_bytes(key, small_jpeg, "image/jpeg")
    resp = client.post(f"/api/v1/materials/{material_id}/retry", headers=ops["headers"])
    assert resp.status_code == 202
    assert wait_ready(client, ops, material_id)["status"] == "ready"
    again = client.post(f"/api/v1/materials/{material_id}/retry", headers=ops["headers"])
    assert again.status_code == 409


def _asset_key(deps, asset_id: int) -> str:
    from materials.models import Asset

    with deps.db.read() as s:
        return s.get(Asset, asset_id).key


def test_failed_material_cannot_be_published(client, ops, paused_worker, small_jpeg):
    cut = small_jpeg[: len(small_jpeg) // 2]
    material_id = upload_then_break(client, ops, paused_worker, [(small_jpeg, "cut.jpg")], 0, cut)
    assert wait_ready(client, ops, material_id)["status"] == "failed"
    resp = client.post(f"/api/v1/materials/{material_id}/publish", headers=ops["headers"])
    assert resp.status_code == 409


def test_idempotency_key_replays(client, ops, small_jpeg):
    headers = {"Idempotency-Key": "upload-123"}
    first = upload(client, ops, [(small_jpeg, "a.jpg")], headers=headers)
    second = upload(client, ops, [(small_jpeg, "a.jpg")], headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == second.get_json()["id"]
    listing = client.get("/api/v1/materials", headers=ops["headers"]).get_json()
    assert listing["total"] == 1
    deps = get_deps(client.application)
    assert len(list(deps.storage.list("originals/"))) == 1


# ------------------------------------------------------------------ hostile input


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


HLS = b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
HOSTILE_PHOTOS = {
    "bomb": (png_claiming(40000, 40000), "bomb.png", 413, "max_pixels"),
    "eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "x.jpg", 415, "type"),
    "html": (b"<html><body><script>alert(1)</script></body></html>", "x.jpg", 415, "type"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg", 415, "type"),
    "empty": (b"", "empty.jpg", 422, "empty"),
}
HOSTILE_VIDEOS = {
    "hls": (HLS, "clip.mp4", "type"),
    "concat": (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "clip.mp4", "type"),
    # A fake ftyp box in front of a playlist: passes the sniff, the forced demuxer refuses it.
    "ftyp_hls": (
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + HLS,
        "clip.mp4",
        "unreadable_video",
    ),
    "photo_as_video": (None, "clip.mp4", "type"),
}


def snapshot(app) -> tuple:
    from sqlalchemy import func, select

    from materials.models import Asset, ChangeLog, Material, Rendition

    deps = get_deps(app)
    with deps.db.read() as s:
        counts = tuple(
            s.scalar(select(func.count()).select_from(m))
            for m in (Material, Asset, Rendition, ChangeLog)
        )
    return counts, sorted(k for k, _ in deps.storage.list(""))


@pytest.fixture
def baseline(client, ops, small_jpeg):
    """One good material already there: a bad upload must leave it and nothing else."""
    assert upload(client, ops, [(small_jpeg, "keep.jpg")]).status_code == 201
    return snapshot(client.application)


@pytest.mark.parametrize("case", sorted(HOSTILE_PHOTOS))
def test_hostile_photo_refused_and_nothing_kept(client, ops, baseline, small_jpeg, case):
    data, name, status, rule = HOSTILE_PHOTOS[case]
    resp = upload(client, ops, [(small_jpeg, "fine.jpg"), (data, name)])
    assert resp.status_code == status, resp.get_json()
    problem = resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert problem["rule"] == rule and problem["field"] == "photos[1]"
    if data:
        assert problem["file"] == name
    assert snapshot(client.application) == baseline


@pytest.mark.parametrize("case", sorted(HOSTILE_VIDEOS))
def test_hostile_video_refused_and_nothing_kept(client, ops, baseline, small_jpeg, case):
    data, name, rule = HOSTILE_VIDEOS[case]
    resp = upload(client, ops, [(small_jpeg, "fine.jpg")], (data or small_jpeg, name))
    assert resp.status_code == 415, resp.get_json()
    assert resp.get_json()["rule"] == rule and resp.get_json()["field"] == "video"
    assert snapshot(client.application) == baseline


# Files found in the field that cost far more than they look or hold less than they claim
# (issue 9). Made when first used: some take a moment to craft.
@functools.cache
def costly_photo(case: str) -> bytes:
    photo = product_image(640, 480, seed=1)
    makers = {
        "too_many_scans": lambda: hostile.scan_bomb_jpeg(256, 256, scans=301),
        # Pillow's limit is 1 MB inflated; the field's chunk inflated to 1 GB.
        "ztxt_bomb": lambda: hostile.png_with_bomb(b"zTXt", 64 << 20),
        "iccp_bomb": lambda: hostile.png_with_bomb(b"iCCP", 64 << 20),
        "truncated_jpeg": lambda: (j := jpeg_bytes(photo))[: len(j) // 3],
        "truncated_png": lambda: (p := png_bytes(photo))[: len(p) // 2],
        "truncated_webp": lambda: (w := _webp(photo))[: len(w) // 2],
        "declares_more": lambda: hostile.jpeg_declaring(6000, 6000, real=64),
    }
    return makers[case]()


def _webp(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "WEBP")
    return buf.getvalue()


COSTLY_PHOTOS = {
    "too_many_scans": (422, "max_scans"),
    "ztxt_bomb": (413, "decompression_bomb"),
    "iccp_bomb": (413, "decompression_bomb"),
    "truncated_jpeg": (422, "truncated"),
    "truncated_png": (422, "truncated"),
    "truncated_webp": (422, "truncated"),
    "declares_more": (422, "incomplete"),
}


@pytest.mark.parametrize("case", sorted(COSTLY_PHOTOS))
def test_costly_or_incomplete_photo_refused_and_nothing_kept(
    client, ops, baseline, small_jpeg, case
):
    status, rule = COSTLY_PHOTOS[case]
    name = f"{case}.{'png' if 'png' in case or 'bomb' in case else 'jpg'}"
    resp = upload(client, ops, [(small_jpeg, "fine.jpg"), (costly_photo(case), name)])
    assert resp.status_code == status, resp.get_json()
    problem = resp.get_json()
    assert (problem["rule"], problem["field"], problem["file"]) == (rule, "photos[1]", name)
    assert snapshot(client.application) == baseline


@pytest.mark.settings(MAX_DECODE_SECONDS=1, MAX_JPEG_SCANS=100_000)
def test_scan_bomb_under_the_scan_limit_is_stopped_by_the_cpu_limit(
    client, ops, baseline, small_jpeg
):
    # 200 end-of-band scans over 6000×6000: ~8 s of decoding here, in 227 KB. The scan count
    # is allowed, so only the CPU limit (1 s) stands between it and a pinned thread.
    bomb = hostile.scan_bomb_jpeg(6000, 6000, scans=200)
    started = time.monotonic()
    resp = upload(client, ops, [(small_jpeg, "fine.jpg"), (bomb, "scans.jpg")])
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["rule"] == "too_costly" and resp.get_json()["file"] == "scans.jpg"
    # Stopped at 1 s of CPU, or at the wall limit (2 × 1 + 2 s) when the box is busy; the
    # margin is for the good photo and a loaded CI machine. Unbounded, it decodes for ~8 s.
    assert time.monotonic() - started < 4 + 3
    assert snapshot(client.application) == baseline


@pytest.mark.settings(MAX_DECODE_SECONDS=2)
def test_exif_that_points_into_later_segments_is_cheap_and_turned(client, ops, worker):
    # ImageOps.exif_transpose spent 16 s of CPU and 525 MB on this 656 KB file: the worker
    # would fail it on the 2 s limit. Reading the orientation tag ourselves costs nothing.
    bomb = hostile.exif_bomb_jpeg(tags=200, segments=10, orientation=6)
    resp = upload(client, ops, [(bomb, "exif.jpg")])
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["assets"][0]["width"], resp.get_json()["assets"][0]["height"]) == (
        90,
        120,
    )
    body = wait_ready(client, ops, resp.get_json()["id"], timeout=30)
    assert body["status"] == "ready", body
    display = body["assets"][0]["renditions"]["display"]
    assert (display["width"], display["height"]) == (90, 120)  # stored 120×90, orientation 6
    upright = Image.open(io.BytesIO(fetch(client, display["url"])))
    assert not upright.getexif()


def test_worker_refuses_a_stored_scan_bomb_with_a_reason(client, ops, paused_worker, small_jpeg):
    # Stored before these checks existed: the worker applies them again, and says which.
    bomb = hostile.scan_bomb_jpeg(256, 256, scans=301)
    material_id = upload_then_break(client, ops, paused_worker, [(small_jpeg, "old.jpg")], 0, bomb)
    body = wait_ready(client, ops, material_id)
    assert body["status"] == "failed"
    assert body["assets"][0]["error"].startswith("max_scans: ")
    deps = get_deps(client.application)
    assert list(deps.storage.list("renditions/")) == []


def test_video_whose_edit_list_plays_past_the_cap_is_refused(
    client, ops, baseline, small_jpeg, short_clip
):
    # mvhd and mdhd say 2 s; the edit list plays those 2 s 300 times: 10 minutes.
    replayed = hostile.replayed_mp4(short_clip, repeat=300)
    resp = upload(client, ops, [(small_jpeg, "fine.jpg")], (replayed, "loop.mp4"))
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()
    assert (problem["rule"], problem["field"], problem["file"]) == (
        "max_duration",
        "video",
        "loop.mp4",
    )
    assert "plays for more than" in problem["detail"]
    assert snapshot(client.application) == baseline


def test_path_traversal_filename_is_only_metadata(client, ops, small_jpeg):
    resp = upload(client, ops, [(small_jpeg, "../../../../etc/passwd.jpg")])
    assert resp.status_code == 201
    asset = resp.get_json()["assets"][0]
    assert asset["original_filename"] == "../../../../etc/passwd.jpg"
    deps = get_deps(client.application)
    key = _asset_key(deps, asset["id"])
    assert key.startswith("originals/") and ".." not in key and "passwd" not in key


@pytest.mark.settings(MAX_PHOTO_BYTES=50_000)
def test_oversize_file_refused(app, client, ops, baseline):
    big = jpeg_bytes(product_image(1500, 1500, seed=4), quality=95)
    assert len(big) > 50_000
    resp = upload(client, ops, [(big, "big.jpg")])
    assert resp.status_code == 413
    assert resp.get_json()["rule"] == "max_bytes"
    assert snapshot(client.application) == baseline


def test_oversize_body_refused_while_streaming(app, client, ops, baseline):
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    resp = upload(client, ops, [(b"\xff\xd8\xff" + b"\0" * 200_000, "huge.jpg")])
    assert resp.status_code == 413
    assert resp.mimetype == "application/problem+json"
    assert snapshot(client.application) == baseline


def test_too_many_photos(client, ops, baseline, small_jpeg):
    resp = upload(client, ops, [(small_jpeg, f"{i}.jpg") for i in range(10)])
    assert resp.status_code == 422 and resp.get_json()["rule"] == "max_items"
    assert snapshot(client.application) == baseline


@pytest.mark.parametrize(
    "field,value,rule",
    [
        ("title", "", "required"),
        ("title", "x" * 201, "max_length"),
        ("price", "abc", "number"),
        ("price", "-1", "money"),
        ("price", "1.234", "money"),
        ("price", "NaN", "number"),
        ("price", "1e999999", "number"),
        ("price", ".", "money"),
        ("product_url", "javascript:alert(1)", "url"),
        ("product_url", "//evil.example", "url"),
        ("title", "bad\x00title", "control_chars"),
    ],
)
def test_field_rules(client, ops, baseline, small_jpeg, field, value, rule):
    resp = upload(client, ops, [(small_jpeg, "a.jpg")], **{field: value})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["field"] == field and body["rule"] == rule, body
    assert snapshot(client.application) == baseline


def test_requires_ops_token(client, seller, small_jpeg):
    form = upload_form([(small_jpeg, "a.jpg")])
    resp = client.post("/api/v1/materials", data=form, content_type="multipart/form-data")
    assert resp.status_code == 401 and "Bearer" in resp.headers["WWW-Authenticate"]
    resp = client.post(
        "/api/v1/materials",
        data=upload_form([(small_jpeg, "a.jpg")]),
        headers={"Authorization": "Bearer nope"},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 401
    resp = client.post(
        "/api/v1/materials",
        data=upload_form([(small_jpeg, "a.jpg")]),
        headers=seller["headers"],
        content_type="multipart/form-data",
    )
    assert resp.status_code == 403
