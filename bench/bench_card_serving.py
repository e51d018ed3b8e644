"""Share cards over HTTP: cached cards, revalidations, and first requests (cold renders).

    .venv/bin/python bench/bench_card_serving.py [--requests 2000] [--cold 8]

Seeds a temporary data directory (embedded default: SQLite, local disk) with one material made
from a 4000x3000 photo and a few sellers, starts gunicorn as the Procfile does (2 gthread
workers x 4 threads) on a free loopback port, then times, over one keep-alive connection:

  cached     GET of a card already rendered and stored
  304        GET with If-None-Match (what a CDN or browser sends after max-age)
  new seller first GET of a new seller's card: the base exists (stored, maybe in memory)
  cold       first GET after an edit (a new material version): base and card rendered

Prints median and p95 per kind and requests per second for the sequential cached GETs.
Everything runs on 127.0.0.1 and stops within about a minute.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from materials.accounts import create_user  # noqa: E402
from materials.catalogue import lifecycle as service  # noqa: E402
from materials.catalogue import renditions as processing  # noqa: E402
from materials.catalogue.uploads import check_path  # noqa: E402
from materials.platform import migrate  # noqa: E402
from materials.platform.deps import Deps, get_deps  # noqa: E402
from media.cards.testing import sample_jpeg  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(deps: Deps, tmp: Path, sellers: int) -> tuple[int, list[str]]:
    """One live material from a 4000x3000 photo, and `sellers` sellers' codes."""
    ops, _ = create_user(deps.db, "bench-ops", "ops")
    codes = [create_user(deps.db, f"seller{i}", "seller")[0].referral_code for i in range(sellers)]
    photo = tmp / "photo.jpg"
    photo.write_bytes(sample_jpeg(4000, 3000))
    fields = {
        "title": "夏季清爽防晒霜 SPF50+ 50ml",
        "copy": "轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。（限时特惠）买二送一。",
        "price_cents": 8900,
        "original_price_cents": 12900,
        "product_url": "https://shop.example.com/item/1",
        "brand": "安热沙",
        "category": "美妆",
        "tags": ["防晒"],
    }
    files = [check_path("photo", "photos[0]", photo, "photo.jpg", deps.settings)]
    created = service.create_material(deps, ops, fields, files)
    for asset_id in created.asset_ids:  # the worker's job, done here synchronously
        processing.process_asset(deps, asset_id)
    service.publish(deps, created.material_id)
    return created.material_id, codes


def start_gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "app:create_app()",
        f"--bind=127.0.0.1:{port}",
        "--workers=2",
        "--threads=4",
        "--worker-class=gthread",
        "--log-level=warning",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        warm_up(port)
    except BaseException:
        proc.kill()
        raise
    return proc


def warm_up(port: int) -> None:
    """The master listens before its workers have imported the app: wait until fresh
    connections (spread over both workers) answer quickly, so boot time is not measured."""
    deadline, quick = time.monotonic() + 30, 0
    while quick < 20:
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not start")
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            conn.close()
        except OSError:
            time.sleep(0.05)
            continue
        quick = quick + 1 if time.perf_counter() - start < 0.05 else 0


class Client:
    """One keep-alive connection; each call returns (status, etag, seconds)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, float]:
        start = time.perf_counter()
        self.conn.request("GET", path, headers=headers or {})
        resp = self.conn.getresponse()
        resp.read()
        took = time.perf_counter() - start
        return resp.status, resp.getheader("ETag") or "", took


def timed(n: int, fetch: Callable[[int], tuple[int, str, float]], want: int) -> list[float]:
    times = []
    for i in range(n):
        status, _, took = fetch(i)
        if status != want:
            raise RuntimeError(f"expected {want}, got {status}")
        times.append(took * 1000)
    return times


def report(label: str, ms: list[float]) -> None:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) >= 20 else max(ms)
    print(f"{label:<34} n={len(ms):<5} median {statistics.median(ms):7.2f} ms  p95 {p95:7.2f} ms")


def run(requests: int, cold: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sucai-bench-") as tmp:
        port = free_port()
        settings = {
            "DATA_DIR": str(Path(tmp) / "var"),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "bench",
        }
        app = create_app(settings)
        deps = get_deps(app)
        migrate.upgrade(deps.db)
        t0 = time.perf_counter()
        material_id, codes = seed(deps, Path(tmp), sellers=cold + 2)
        print(
            f"seeded 1 material (4000x3000 photo) + {len(codes)} sellers in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        env = {**os.environ, **{f"SUCAI_{k}": v for k, v in settings.items()}}
        proc = start_gunicorn(env, port)
        try:
            measure(Client(port), app, material_id, codes, requests, cold)
        finally:
            proc.terminate()
            proc.wait(10)
            deps.db.dispose()


def measure(
    client: Client, app: Flask, material_id: int, codes: list[str], n: int, cold: int
) -> None:
    def path(code: str, layout: str = "square") -> str:
        return f"/cards/{material_id}/{code}/{layout}.jpg"

    _, etag, first = client.get(path(codes[0]))
    print(f"first card of a new material (base + card, cold) {first * 1000:.0f} ms")
    client.get(path(codes[0]))  # both workers have it stored now either way
    start = time.perf_counter()
    cached = timed(n, lambda i: client.get(path(codes[0])), 200)
    elapsed = time.perf_counter() - start
    report("cached card (200, ~110 KB)", cached)
    print(f"{'':<34} {n / elapsed:,.0f} req/s sequential, one keep-alive connection")
    report(
        "revalidation (304)",
        timed(n, lambda i: client.get(path(codes[0]), {"If-None-Match": etag}), 304),
    )
    report("new seller, stored base", timed(cold, lambda i: client.get(path(codes[i + 1])), 200))
    _, _, first_photo = client.get(path(codes[0], "photo-1"))
    print(f"first photo-1 card (photo base from 4000x3000 + card) {first_photo * 1000:.0f} ms")
    report(
        "new seller, photo-1 (9-grid)",
        timed(cold, lambda i: client.get(path(codes[i + 1], "photo-1")), 200),
    )
    deps = get_deps(app)

    def edited(i: int) -> tuple[int, str, float]:
        service.update_material(deps, material_id, {"price_cents": 8900 - i - 1})
        return client.get(path(codes[0], "poster"))

    report("cold: after an edit (base + card)", timed(cold, edited, 200))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=8)
    args = parser.parse_args()
    run(args.requests, args.cold)


if __name__ == "__main__":
    main()
