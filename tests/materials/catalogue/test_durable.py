"""Acknowledged work is done without anyone pressing a button: lost enqueues, dead workers,
a storage blip. The queue, the database, the storage and the worker processes are real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from materials.catalogue import leases, renditions
from materials.models import FAILED, PROCESSING, Asset, Rendition, utcnow
from materials.platform.deps import get_deps
from media.samples import jpeg_bytes, make_clip, product_image
from tests.conftest import Weed, _truncate_pg
from tests.helpers import post_upload, wait_until

ROOT = Path(__file__).resolve().parents[3]
FAST = {"JOB_LEASE_SECONDS": 2, "REAP_SECONDS": 1, "ENQUEUE_GRACE_SECONDS": 1}


def upload(client, ops, photos, video=None, headers=None):
    resp = post_upload(client, {**ops["headers"], **(headers or {})}, photos, video)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def status(client, ops, material_id: int) -> dict:
    return client.get(f"/api/v1/materials/{material_id}", headers=ops["headers"]).get_json()


def ready(client, ops, material_id: int, timeout: float = 60) -> dict:
    return wait_until(
        lambda: (body := status(client, ops, material_id))["status"] == "ready" and body, timeout
    )


def assets(app, material_id: int) -> list[Asset]:
    with get_deps(app).db.read() as s:
        return list(s.scalars(select(Asset).where(Asset.material_id == material_id)))


def rendition_rows(app, material_id: int) -> list[tuple[int, str]]:
    with get_deps(app).db.read() as s:
        stmt = (
            select(Rendition.asset_id, Rendition.name)
            .join(Asset, Asset.id == Rendition.asset_id)
            .where(Asset.material_id == material_id)
        )
        return sorted(s.execute(stmt).all())


def lose_queued_tasks(app) -> None:
    """What a web worker killed between its commit and its enqueue leaves: rows, no task."""
    get_deps(app).queue.huey.flush()


@pytest.mark.settings(**FAST)
def test_a_lost_enqueue_is_found_and_done(app, client, ops, small_jpeg):
    created = upload(client, ops, [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg")])
    lose_queued_tasks(app)
    deps = get_deps(app)
    assert leases.requeue_stuck(deps) == []  # within the grace: its task may still come
    found = wait_until(lambda: leases.requeue_stuck(deps), 10, interval=0.2)
    assert sorted(found) == sorted(a["id"] for a in created["assets"])
    consumer = deps.queue.consumer(workers=2, periodic=False)
    consumer.start()
    try:
        ready(client, ops, created["id"])
    finally:
        consumer.stop(graceful=True)
    assert len(rendition_rows(app, created["id"])) == 4  # display + thumb each, once


@pytest.mark.settings(**FAST)
def test_a_held_lease_is_not_taken_twice_and_a_dead_one_is(app, client, ops, small_jpeg):
    created = upload(client, ops, [(small_jpeg, "a.jpg")])
    lose_queued_tasks(app)
    deps, asset_id = get_deps(app), created["assets"][0]["id"]
    first = leases.claim(deps, asset_id)  # a worker takes it ... and dies
    assert first is not None and first.attempts == 1
    assert leases.claim(deps, asset_id) is None  # held: a duplicate delivery does nothing
    assert leases.requeue_stuck(deps) == []
    assert wait_until(lambda: leases.requeue_stuck(deps), 10, interval=0.2) == [asset_id]
    renditions.process_asset(deps, asset_id)  # the next delivery
    body = ready(client, ops, created["id"], timeout=5)
    assert body["assets"][0]["status"] == "ready"
    renditions.process_asset(deps, asset_id)  # and a late duplicate changes nothing
    assert len(rendition_rows(app, created["id"])) == 2


def _worker(settings: dict) -> subprocess.Popen:
    env = {**os.environ, **{f"SUCAI_{k}": str(v) for k, v in settings.items()}}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "2"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.slow
@pytest.mark.settings(**FAST)
def test_a_worker_sigkilled_mid_transcode_is_replaced_and_the_job_finishes(
    app, client, ops, settings, small_jpeg, media_dir
):
    clip = make_clip(media_dir / "long.mp4", seconds=12, width=1080, height=1920).read_bytes()
    created = upload(client, ops, [(small_jpeg, "a.jpg")], (clip, "long.mp4"))
    video_id = created["assets"][1]["id"]
    first = _worker(settings)
    try:

        def transcoding() -> bool:
            video = next(a for a in assets(app, created["id"]) if a.id == video_id)
            return video.lease_until is not None and video.status == PROCESSING

        wait_until(transcoding, 30, interval=0.05)
    finally:
        _kill(first)
    assert status(client, ops, created["id"])["status"] == "processing"
    second = _worker(settings)
    try:
        body = ready(client, ops, created["id"], timeout=60)
    finally:
        _kill(second)
    assert [a["status"] for a in body["assets"]] == ["ready", "ready"]
    names = [name for asset_id, name in rendition_rows(app, created["id"]) if asset_id == video_id]
    assert names == ["poster", "video"]  # no duplicate rows from the two runs


@pytest.fixture
def blinking_storage(tmp_path) -> Weed:
    weed = Weed(tmp_path / "weed").start()
    yield weed
    weed.stop()


@pytest.fixture
def blink_app(request, backend, settings):
    """The app on its own SeaweedFS, which the test may stop and start again."""
    from app import create_app
    from materials.platform import migrate

    if backend != "scale":
        pytest.skip("the storage blip needs the S3 backend")
    blinking_storage = request.getfixturevalue("blinking_storage")
    url = f"s3://K:S@blink?endpoint_url={blinking_storage.endpoint}"
    app = create_app(settings | FAST | {"STORAGE_URL": url})
    deps = get_deps(app)
    migrate.upgrade(deps.db)
    _truncate_pg(app)
    deps.storage.ensure()
    yield app
    deps.db.dispose()


def test_a_storage_blip_is_retried_not_failed(blink_app, blinking_storage):
    from tests.helpers import make_user

    app, weed = blink_app, blinking_storage
    client = app.test_client()
    ops = make_user(app, "ops", "ops")
    ops["headers"] = {"Authorization": f"Bearer {ops['token']}"}
    photo = jpeg_bytes(product_image(800, 600, seed=5))
    created = upload(client, ops, [(photo, "a.jpg")])
    lose_queued_tasks(app)
    deps, asset_id = get_deps(app), created["assets"][0]["id"]

    weed.stop()  # storage goes away before the worker gets to the job
    renditions.process_asset(deps, asset_id)
    (asset,) = assets(app, created["id"])
    assert asset.status == PROCESSING and asset.error is None and asset.attempts == 1
    assert asset.lease_until > utcnow()  # postponed by the backoff, not failed
    # Meanwhile an upload answers 503 with Retry-After and keeps nothing.
    resp = post_upload(client, ops["headers"], [(photo, "b.jpg")])
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert resp.get_json()["rule"] == "storage_down"

    weed.start()  # storage is back (and answers InternalError for a moment while it settles)
    with deps.db.transaction() as s:  # skip the rest of the backoff
        s.execute(update(Asset).values(lease_until=utcnow() - timedelta(seconds=1)))
    reaper, consumer = leases.Reaper(deps).start(), deps.queue.consumer(1, periodic=False)
    consumer.start()
    try:
        ready(client, ops, created["id"], timeout=60)
    finally:
        consumer.stop(graceful=True)
        reaper.stop()
    (asset,) = assets(app, created["id"])
    assert asset.attempts >= 2 and asset.error is None
    with deps.db.read() as s:  # the refused upload left no row
        assert s.scalar(select(Asset.id).where(Asset.material_id != created["id"])) is None


def test_retry_accepts_a_stuck_material(app, client, ops, small_jpeg):
    created = upload(client, ops, [(small_jpeg, "a.jpg")])
    lose_queued_tasks(app)  # stuck: nothing will ever process it
    consumer = get_deps(app).queue.consumer(workers=1, periodic=False)
    consumer.start()
    try:
        resp = client.post(f"/api/v1/materials/{created['id']}/retry", headers=ops["headers"])
        assert resp.status_code == 202, resp.get_json()
        ready(client, ops, created["id"])
    finally:
        consumer.stop(graceful=True)


def test_a_failed_asset_says_whether_a_retry_can_help(app, client, ops, small_jpeg):
    created = upload(client, ops, [(small_jpeg, "a.jpg")])
    lose_queued_tasks(app)
    deps, asset_id = get_deps(app), created["assets"][0]["id"]
    (asset,) = assets(app, created["id"])
    deps.storage.delete(asset.key)  # the original is gone: no retry can bring it back
    renditions.process_asset(deps, asset_id)
    (asset,) = assets(app, created["id"])
    assert asset.status == FAILED and not asset.retryable and asset.error
    body = status(client, ops, created["id"])
    assert body["status"] == "failed" and body["error"]


def test_an_idempotency_key_reused_with_another_body_is_refused(app, client, ops, small_jpeg):
    headers = {"Idempotency-Key": "upload-42"}
    first = upload(client, ops, [(small_jpeg, "a.jpg")], headers=headers)
    again = post_upload(client, {**ops["headers"], **headers}, [(small_jpeg, "a.jpg")])
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    other = jpeg_bytes(product_image(320, 240, seed=9))
    resp = post_upload(client, {**ops["headers"], **headers}, [(other, "b.jpg")])
    assert resp.status_code == 422
    problem = resp.get_json()
    assert problem["rule"] == "idempotency_mismatch" and problem["field"] == "Idempotency-Key"
    with get_deps(app).db.read() as s:
        assert len(list(s.scalars(select(Asset.id)))) == 1


def test_health_says_what_is_down(app, client):
    body = client.get("/healthz").get_json()
    assert body["ok"] is True
    assert {k for k, v in body["checks"].items() if v["ok"]} >= {"database", "storage", "queue"}
    assert body["checks"]["search"]["ok"] is False  # no index built in this test


def test_health_without_a_database_is_503_not_an_error(settings):
    from app import create_app

    app = create_app(settings | {"DATABASE_URL": "postgresql+psycopg://x@127.0.0.1:1/none"})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert resp.get_json()["checks"]["database"]["ok"] is False
