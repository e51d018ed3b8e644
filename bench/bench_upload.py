"""Upload → ready for the foundation flow: a 4000×3000 JPEG, a PNG, a rotated GPS JPEG and a
10 s 1080×1920 clip, through the real API and the real worker (2 threads), on the embedded
default (and with --scale on PostgreSQL + Redis + a SeaweedFS server you point it at).

    .venv/bin/python bench/bench_upload.py [--runs 3]

Also prints the parts: photo renditions per photo, video transcode, poster; and as a baseline
in the same run, moviepy's own resize path for the same clip, which the worker avoids.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from materials.accounts import create_user  # noqa: E402
from materials.platform import migrate  # noqa: E402
from materials.platform.deps import get_deps  # noqa: E402
from media import images, video  # noqa: E402
from media.samples import jpeg_bytes, make_clip, png_bytes, product_image  # noqa: E402
from media.sandbox import Limits  # noqa: E402
from tests.helpers import post_upload  # noqa: E402


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


LIMITS = Limits.for_decode(10, 1024)
LONG = Limits(600, 1024, 600)


def parts(tmp: Path, clip: Path, big: Path) -> None:
    print("part                                  median")
    d = timed(lambda: images.photo_renditions(big, 1080, 360, limits=LIMITS, max_scans=300), 5)
    print(f"photo renditions, 4000×3000 JPEG      {d * 1000:7.0f} ms")
    info = video.probe(clip, "video/mp4", limits=LIMITS)
    d = timed(lambda: video.probe(clip, "video/mp4", limits=LIMITS), 5)
    print(f"video probe                           {d * 1000:7.0f} ms")
    out = tmp / "o.mp4"
    d = timed(
        lambda: video.transcode(clip, "video/mp4", info, out, 720, limits=LONG, max_seconds=180), 2
    )
    print(f"transcode 10 s 1080×1920 → 720p       {d:7.2f} s  ({info.duration / d:.1f}× realtime)")
    d = timed(lambda: video.poster(out, info.duration, tmp / "p.jpg", limits=LIMITS), 5)
    print(f"poster frame                          {d * 1000:7.0f} ms")
    d = timed(lambda: moviepy_resize(clip, tmp / "m.mp4"), 1)
    print(f"baseline: moviepy target_resolution   {d:7.2f} s  ({info.duration / d:.1f}× realtime)")


def moviepy_resize(src: Path, dst: Path) -> None:
    from moviepy import VideoFileClip

    with VideoFileClip(str(src), target_resolution=(1280, 720)) as c:
        c.write_videofile(
            str(dst), codec="libx264", preset="veryfast", logger=None, audio_codec="aac"
        )


def flow(runs: int, tmp: Path, clip: bytes, files: list[tuple[bytes, str]]) -> None:
    app = create_app({"DATA_DIR": str(tmp / "var"), "SECRET_KEY": "bench"})
    deps = get_deps(app)
    migrate.upgrade(deps.db)
    _, token = create_user(deps.db, "bench", "ops")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    c = get_deps(app).queue.consumer(workers=2)
    c.start()
    try:
        results = [one_flow(client, headers, files, clip) for _ in range(runs)]
    finally:
        c.stop(graceful=True)
    print(
        f"upload → ready (3 photos + 10 s clip), {runs} runs: "
        f"median {statistics.median(results):.2f} s, max {max(results):.2f} s"
    )


def one_flow(client, headers, files, clip) -> float:
    t = time.perf_counter()
    resp = post_upload(client, headers, files, (clip, "phone.mp4"))
    material_id = resp.get_json()["id"]
    upload = time.perf_counter() - t
    while True:
        body = client.get(f"/api/v1/materials/{material_id}", headers=headers).get_json()
        if body["status"] != "processing":
            break
        time.sleep(0.05)
    total = time.perf_counter() - t
    print(f"  upload request {upload:.2f} s, ready after {total:.2f} s ({body['status']})")
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        clip = make_clip(tmp / "clip.mp4", seconds=10, width=1080, height=1920)
        big = tmp / "big.jpg"
        big.write_bytes(jpeg_bytes(product_image(4000, 3000, seed=1)))
        files = [
            (big.read_bytes(), "big.jpg"),
            (png_bytes(product_image(800, 600)), "a.png"),
            (jpeg_bytes(product_image(1200, 900), orientation=6, gps=True), "gps.jpg"),
        ]
        parts(tmp, clip, big)
        flow(args.runs, tmp, clip.read_bytes(), files)


if __name__ == "__main__":
    main()
