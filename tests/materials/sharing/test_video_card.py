"""GET /cards/<material>/<code>/video.mp4 on both backends: the material's transcoded video
with the seller's end card, made once and then served from storage like the cards; read back
with ffprobe, decoded through, its last frame's QR read by ZXing-C++ and ZBar."""

from __future__ import annotations

import subprocess
import threading

import pytest
from sqlalchemy import select

from app import create_app
from materials.models import Card
from materials.platform.deps import get_deps
from materials.sharing import cardstore, endcards
from media import video
from media.samples import jpeg_bytes, make_clip, product_image
from tests.conftest import free_port
from tests.helpers import make_user, post_upload
from tests.materials.catalogue.test_upload import fetch
from tests.materials.sharing.helpers import PUBLIC, live_material, ready, seller_user
from tests.media import mp4s
from tests.media.decoders import DECODERS
from tests.web.conftest import sign_in


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    """A 3 s 720p phone clip with sound: transcoded at 720 p, as a real one would be."""
    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    return make_clip(path, seconds=3, width=720, height=1280).read_bytes()


@pytest.fixture(scope="module")
def photo() -> bytes:
    return jpeg_bytes(product_image(1200, 1200, seed=7))


@pytest.fixture
def material(client, ops, worker, photo, clip) -> dict:
    return live_material(client, ops, [photo], video=clip, title="便携榨汁杯", copy="随时随地")


def video_url(material_id, code: str) -> str:
    return f"/cards/{material_id}/{code}/video.mp4"


def get(client, url: str, **headers: str):
    """GET, the body read and the response closed (a video is sent from its file)."""
    with client.get(url, headers=headers) as resp:
        resp.get_data()
        return resp


def renders(app) -> dict:
    return dict(cardstore.cache_for(get_deps(app)).renders)


def transcoded(client, material: dict, tmp_path):
    url = material["assets"][-1]["renditions"]["video"]["url"].removeprefix(PUBLIC)
    (tmp_path / "transcoded.mp4").write_bytes(fetch(client, url))
    return tmp_path / "transcoded.mp4"


def test_the_stamped_video_ends_with_the_sellers_card_and_is_made_once(
    app, client, material, seller, tmp_path
):
    code, mid = seller["referral_code"], material["id"]
    public = app.test_client()
    resp = get(public, video_url(mid, code))
    assert resp.status_code == 200 and resp.mimetype == "video/mp4"
    assert resp.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    etag, weak = resp.get_etag()
    assert etag and not weak
    out = tmp_path / "stamped.mp4"
    out.write_bytes(resp.get_data())
    source = transcoded(client, material, tmp_path)

    assert mp4s.duration(out) == pytest.approx(mp4s.duration(source) + 2, abs=0.1)
    assert mp4s.decode_errors(out) == ""
    assert mp4s.packet_hashes(out)[: len(mp4s.packet_hashes(source))] == mp4s.packet_hashes(source)
    last = mp4s.last_frame(out, tmp_path)
    referral = f"{PUBLIC}/r/{code}/{mid}"
    for name, read in DECODERS.items():
        assert read(last) == [referral], name
    # Made once: the square card it shows and the video; nothing more for the next requests.
    made = renders(app)
    assert made["video"] == 1 and made["card"] == 1
    again = get(public, video_url(mid, code))
    assert again.get_data() == resp.get_data() and again.get_etag() == (etag, False)
    revalidated = get(public, video_url(mid, code), **{"If-None-Match": f'"{etag}"'})
    assert revalidated.status_code == 304
    part = get(public, video_url(mid, code), Range="bytes=0-99")
    assert part.status_code == 206 and part.get_data() == resp.get_data()[:100]
    assert renders(app) == made
    with get_deps(app).db.read() as s:
        key = s.scalar(select(Card.key).where(Card.cache_key == etag))
    assert key.startswith(f"cards/{mid}/v{material['version']}/video-{code.lower()}-")


def test_another_seller_gets_their_own_end_card(app, material, seller, tmp_path):
    other = seller_user(app, "小红")
    public = app.test_client()
    mine = get(public, video_url(material["id"], seller["referral_code"]))
    theirs = get(public, video_url(material["id"], other["referral_code"]))
    assert mine.status_code == theirs.status_code == 200
    assert mine.get_etag() != theirs.get_etag()
    (tmp_path / "theirs.mp4").write_bytes(theirs.get_data())
    last = mp4s.last_frame(tmp_path / "theirs.mp4", tmp_path)
    assert DECODERS["zxing-cpp"](last) == [f"{PUBLIC}/r/{other['referral_code']}/{material['id']}"]
    assert renders(app)["video"] == 2


def test_the_404_rules_are_the_cards(app, client, ops, worker, photo, material, seller):
    code, mid = seller["referral_code"], material["id"]
    public = app.test_client()
    no_video = live_material(client, ops, [photo])
    draft = post_upload(client, ops["headers"], [(photo, "a.jpg")]).get_json()["id"]
    ready(client, ops, draft)
    for url in [
        video_url(99999, code),
        video_url(mid, "ZZZZZZZ"),
        video_url(f"0{mid}", code),
        video_url(no_video["id"], code),
        video_url(draft, code),
        f"/cards/{mid}/{code}/video.webm",
    ]:
        page = get(public, url, Accept="text/html")
        assert page.status_code == 404 and page.mimetype == "text/html", url
        problem = get(public, url, Accept="application/json")
        assert problem.status_code == 404 and problem.mimetype == "application/problem+json", url
    client.post(f"/api/v1/materials/{mid}/unpublish", headers=ops["headers"])  # taken down
    assert get(public, video_url(mid, code)).status_code == 404
    assert "video" not in renders(app)  # nothing was made for any of them


@pytest.mark.settings(ACCEL_REDIRECT="/_stored/")
def test_a_stored_video_is_handed_to_nginx_when_storage_is_local(app, backend, material, seller):
    public = app.test_client()
    url = video_url(material["id"], seller["referral_code"])
    resp = get(public, url)
    if backend == "scale":  # nginx cannot read an object store: the bytes from the app
        assert resp.status_code == 200 and resp.get_data()[4:8] == b"ftyp"
        return
    with get_deps(app).db.read() as s:
        key = s.scalar(select(Card.key).where(Card.cache_key == resp.get_etag()[0]))
    assert resp.status_code == 200 and resp.get_data() == b""
    assert resp.headers["X-Accel-Redirect"] == f"/_stored/{key}"
    assert resp.headers["Content-Type"] == "video/mp4"
    assert (get_deps(app).storage.root / key).read_bytes()[4:8] == b"ftyp"


def test_the_forward_offers_the_stamped_video(app, client, ops, worker, photo, material, seller):
    code, mid = seller["referral_code"], material["id"]
    body = client.get(f"/api/v1/materials/{mid}/forward", headers=seller["headers"]).get_json()
    assert body["cards"]["video"] == f"{PUBLIC}{video_url(mid, code)}"
    assert body["video"] == material["assets"][-1]["renditions"]["video"]["url"]
    plain = live_material(client, ops, [photo])
    url = f"/api/v1/materials/{plain['id']}/forward"
    assert client.get(url, headers=seller["headers"]).get_json()["cards"]["video"] is None
    # The seller's page, inside WeChat and outside, plays and offers the stamped video.
    user = make_user(app, "视频小店", "seller", "pw-视频小店-1")
    browser = app.test_client()
    assert sign_in(browser, user["name"], "pw-视频小店-1").status_code == 303
    code = user["referral_code"]
    wechat = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 MicroMessenger/8.0.50"
    for agent in (wechat, "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile"):
        page = browser.get(f"/h5/m/{mid}", headers={"User-Agent": agent})
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and f'src="{video_url(mid, code)}"' in html, agent
        assert f"视频结尾带你的二维码和推广码 {code}" in html


def test_database_or_storage_down_is_a_503(app, settings, backend, material, seller):
    url = video_url(material["id"], seller["referral_code"])
    dead = f"http://127.0.0.1:{free_port()}"
    if backend == "scale":
        broken = settings | {"STORAGE_URL": f"s3://K:S@nobucket?endpoint_url={dead}"}
        rule = "storage_down"
    else:
        broken = settings | {"DATABASE_URL": f"postgresql+psycopg://u@127.0.0.1:{free_port()}/x"}
        rule = "database_down"
    down = create_app(broken)
    try:
        resp = get(down.test_client(), url, Accept="application/json")
        assert resp.status_code == 503 and resp.get_json()["rule"] == rule
    finally:
        get_deps(down).db.dispose()


def test_parallel_first_requests_stamp_once(app, material, seller):
    url = video_url(material["id"], seller["referral_code"])
    answers: list = []

    def ask() -> None:
        answers.append(get(app.test_client(), url))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.get_data() for a in answers}) == 1
    assert renders(app)["video"] == 1


def test_a_video_no_end_card_can_join_is_a_404_naming_the_rule(
    app, material, seller, tmp_path, caplog
):
    """A stored video that is not our transcode's (encoded with other parameters, as a restore
    or a hand edit could leave) cannot take the end card by stream copy: no request and no wait
    makes it, so a 404 naming the rule, logged for ops, and nothing stored."""
    deps = get_deps(app)
    key = endcards.video_key(deps, material["id"])
    other = tmp_path / "other.mp4"
    subprocess.run(
        [video.ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=720x1280:rate=30:duration=2",
         "-c:v", "libx264", "-preset", "medium", "-crf", "30", "-pix_fmt", "yuv420p", str(other)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    deps.storage.put_file(key, other, "video/mp4")
    url = video_url(material["id"], seller["referral_code"])
    resp = get(app.test_client(), url, Accept="application/json")
    assert resp.status_code == 404 and resp.get_json()["rule"] == "unusable_video"
    assert "cannot take an end card" in caplog.text
    with deps.db.read() as s:
        assert not s.scalars(select(Card).where(Card.key.like("%.mp4"))).all()
