"""What a seller's own price costs: a marked-up seller's first share card, against a new plain
seller's first card (the baseline), and the forward's POST against its GET preview.

    .venv/bin/python bench/bench_seller_price.py [--sellers 12]

A temporary data directory (embedded default) with one real 1200x1200 material whose base is
rendered once; then, in the app (test client, no HTTP), per round: a new seller's first square
card (the base is cached: QR, stamp, encode), a new seller with a markup's first square card
(their price is drawn on the base: the first seller at that price renders a base of their
own), a GET preview and a POST forward. Prints median and max per kind. Everything it makes
is under a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(call) -> float:  # noqa: ANN001
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    from app import create_app
    from materials.platform import migrate
    from materials.platform.deps import get_deps
    from media.samples import jpeg_bytes, product_image
    from tests.helpers import make_user, post_upload, wait_until

    parser = argparse.ArgumentParser()
    parser.add_argument("--sellers", type=int, default=12)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="sucai-price-")
    app = create_app({"DATA_DIR": tmp, "SECRET_KEY": "bench", "PUBLIC_URL": "http://sucai.test"})
    deps = get_deps(app)
    migrate.upgrade(deps.db)
    deps.storage.ensure()
    client = app.test_client()
    ops = {"Authorization": f"Bearer {make_user(app, 'ops', 'ops')['token']}"}
    consumer = deps.queue.consumer(workers=1, periodic=False)
    consumer.start()
    try:
        photo = jpeg_bytes(product_image(1200, 1200, seed=3))
        mid = post_upload(client, ops, [(photo, "a.jpg")]).get_json()["id"]
        url = f"/api/v1/materials/{mid}"
        wait_until(lambda: client.get(url, headers=ops).get_json()["status"] == "ready", 120)
        client.post(f"{url}/publish", headers=ops)
        client.patch(f"{url}/copy", headers=ops, json={"markup_allowed": True, "markup_cap": "50"})
        warm = make_user(app, "warm", "seller")["referral_code"]
        assert client.get(f"/cards/{mid}/{warm}/square.jpg").status_code == 200
        rows: dict[str, list[float]] = {k: [] for k in ("plain", "marked", "get", "post")}
        for i in range(args.sellers):
            plain = make_user(app, f"plain{i}", "seller")
            card = f"/cards/{mid}/{plain['referral_code']}/square.jpg"
            rows["plain"].append(timed(lambda card=card: client.get(card)))
            marked = make_user(app, f"marked{i}", "seller")
            bearer = {"Authorization": f"Bearer {marked['token']}"}
            client.put(f"{url}/my-copy", headers=bearer, json={"markup": str(i + 1)})
            card = f"/cards/{mid}/{marked['referral_code']}/square.jpg"
            rows["marked"].append(timed(lambda card=card: client.get(card)))
            forward = f"{url}/forward"
            rows["get"].append(timed(lambda f=forward, h=bearer: client.get(f, headers=h)))
            rows["post"].append(timed(lambda f=forward, h=bearer: client.post(f, headers=h)))
    finally:
        consumer.stop()
        deps.db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    names = {
        "plain": "first square card, new seller, no markup (baseline: base cached)",
        "marked": "first square card, new seller with a markup (a base at their price)",
        "get": "GET forward (preview, records nothing)",
        "post": "POST forward (records, with the copy used)",
    }
    for key, label in names.items():
        xs = rows[key]
        print(f"{label}: median {statistics.median(xs):.1f} ms, max {max(xs):.1f} ms, n={len(xs)}")


if __name__ == "__main__":
    main()
