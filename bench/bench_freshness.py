"""End-to-end freshness: an edit committed in the database -> visible in GET /api/v1/search.

    .venv/bin/python bench/bench_freshness.py [--n 20000] [--edits 100] [--rate 5]
        [--database-url postgresql+psycopg://…?options=-csearch_path%3Dbench]

Seeds N materials (bench_search's corpus) straight into a fresh database, rebuilds the index
with `flask search rebuild`, starts the real `flask --app app indexer` process, then makes a
steady stream of edits through the service layer from this process. Each edit puts a unique
word in a title; this process polls the search API (its own read-only replica, as a web
worker) until that word finds the material. Prints the seed and rebuild times and p50/p95/max
of commit -> searchable. bench_search.py covers build and query latency at 100k.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from app import create_app  # noqa: E402
from bench.corpus import CORPORA, NOW  # noqa: E402
from bench.timing import summary  # noqa: E402
from materials.accounts import create_user  # noqa: E402
from materials.catalogue import lifecycle as service  # noqa: E402
from materials.indexing.follower import log_head  # noqa: E402
from materials.models import Asset, ChangeLog, Material, MaterialTag  # noqa: E402
from materials.platform import migrate  # noqa: E402
from materials.platform.deps import get_deps  # noqa: E402

BIN = Path(sys.executable).parent
CHUNK = 5000
make_doc = CORPORA["small"].doc  # main() sets the --corpus one


def material_row(doc: dict) -> dict:
    return {
        "id": doc["id"],
        "title": doc["title"],
        "copy": doc["copy"],
        "price_cents": doc["price_cents"],
        "product_url": f"https://shop.example.com/{doc['id']}",
        "brand": doc["brand"],
        "category": doc["category"],
        "status": "ready",
        "state": "published",
        "publish_at": doc["publish_at"],
        "take_down_at": doc["take_down_at"],
        "published_at": doc["created_at"],
        "version": 1,
        "forward_count": doc["forward_count"],
        "created_at": doc["created_at"],
        "updated_at": doc["created_at"],
    }


def video_row(doc: dict) -> dict:
    key = f"originals/bench/{doc['id']}.mp4"
    return {
        "material_id": doc["id"],
        "kind": "video",
        "position": 1,
        "backend": "local",
        "key": key,
        "sha256": "0" * 64,
        "size": 1,
        "mime": "video/mp4",
        "status": "ready",
    }


def seed(app, n: int) -> list[int]:
    """N published materials with tags, videos and a change-log row each (dated an hour ago:
    they are history, not a burst the indexer must replay). Returns the ids live now."""
    db = get_deps(app).db
    history = datetime.now(UTC) - timedelta(hours=1)
    live = []
    for start in range(1, n + 1, CHUNK):
        docs = [make_doc(i) for i in range(start, min(n + 1, start + CHUNK))]
        with db.transaction() as s:
            s.execute(insert(Material), [material_row(d) for d in docs])
            tags = [
                {"material_id": d["id"], "tag": t, "position": k}
                for d in docs
                for k, t in enumerate(d["tags"])
            ]
            s.execute(insert(MaterialTag), tags)
            videos = [video_row(d) for d in docs if d["has_video"]]
            if videos:
                s.execute(insert(Asset), videos)
            log = [
                {"material_id": d["id"], "version": 1, "op": "create", "created_at": history}
                for d in docs
            ]
            s.execute(insert(ChangeLog), log)
        live += [d["id"] for d in docs if is_live(d)]
    return live


def is_live(doc: dict) -> bool:
    now = datetime.now(UTC)
    return (doc["publish_at"] is None or doc["publish_at"] <= now) and (
        doc["take_down_at"] is None or doc["take_down_at"] > now
    )


def flask(env: dict, *args: str, **options) -> subprocess.Popen | str:
    cmd = [str(BIN / "flask"), "--app", "app", *args]
    if options.pop("background", False):
        return subprocess.Popen(cmd, cwd=ROOT, env=env, **options)
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def wait_ready(app, client, headers, material: int, timeout: float = 600) -> float:
    """Seconds until a first edit is searchable: the indexer has started and reconciled."""
    started = time.perf_counter()
    service.update_material(get_deps(app), material, {"title": "预热 probe"})
    while time.perf_counter() - started < timeout:
        resp = client.get("/api/v1/search", query_string={"q": "probe"}, headers=headers)
        if resp.status_code == 200 and resp.get_json()["total"]:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise TimeoutError("the indexer did not apply the first edit")


def stream(app, client, headers, live: list[int], edits: int, rate: float) -> dict:
    """Edits at ``rate``/s; polls the API for each edit's word until found."""
    deps = get_deps(app)
    rng = random.Random(7)
    pending: dict[str, tuple[int, float]] = {}
    lags, commits, queries = [], [], []
    made, next_edit = 0, time.perf_counter()
    while made < edits or pending:
        if made < edits and time.perf_counter() >= next_edit:
            material, word = rng.choice(live), f"fresh{made:06d}"
            started = time.perf_counter()
            service.update_material(
                deps, material, {"title": f"{make_doc(material)['title']} {word}"}
            )
            committed = time.perf_counter()
            commits.append(committed - started)
            pending[word] = (material, committed)
            made, next_edit = made + 1, next_edit + 1 / rate
        for word, (material, committed) in list(pending.items()):
            started = time.perf_counter()
            resp = client.get("/api/v1/search", query_string={"q": word}, headers=headers)
            queries.append(time.perf_counter() - started)
            if [i["id"] for i in resp.get_json()["items"]] == [material]:
                lags.append(time.perf_counter() - committed)
                del pending[word]
        time.sleep(0.01)
    return {"lags": lags, "commits": commits, "queries": queries}


def report(name: str, values: list[float]) -> None:
    print(summary(name, values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="materials seeded")
    parser.add_argument("--edits", type=int, default=100, help="edits in the stream")
    parser.add_argument("--rate", type=float, default=5.0, help="edits per second")
    parser.add_argument("--procs", type=int, default=2, help="processes for the rebuild")
    parser.add_argument("--poll-ms", type=int, default=200, help="SUCAI_INDEX_POLL_MS")
    parser.add_argument("--database-url", default="", help="default: SQLite in the temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    parser.add_argument(
        "--corpus", choices=sorted(CORPORA), default="small", help="see bench/corpus.py"
    )
    args = parser.parse_args()
    global make_doc
    make_doc = CORPORA[args.corpus].doc

    data_dir = tempfile.mkdtemp(prefix="sucai-fresh-")
    settings = {
        "DATA_DIR": data_dir,
        "SECRET_KEY": "bench",
        "DATABASE_URL": args.database_url,
        "INDEX_POLL_MS": args.poll_ms,
    }
    env = {**os.environ, **{f"SUCAI_{k}": str(v) for k, v in settings.items()}}
    app = create_app(settings)
    migrate.upgrade(get_deps(app).db)
    with get_deps(app).db.read() as s:
        if log_head(s):
            sys.exit("the database is not empty: give a fresh schema")
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"{args.n} materials on {backend}, {os.cpu_count()} cores, data in {data_dir}")

    started = time.perf_counter()
    live = seed(app, args.n)
    print(f"seed database              {time.perf_counter() - started:7.1f} s")
    started = time.perf_counter()
    print(flask(env, "search", "rebuild", "--procs", str(args.procs)).strip(), end="")
    print(f"  (search rebuild --procs {args.procs}: {time.perf_counter() - started:.1f} s)")

    # SIGTERM as an exception, so the finally below stops the indexer it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    log = open(Path(data_dir) / "indexer.log", "wb")  # noqa: SIM115
    indexer = flask(env, "indexer", background=True, stdout=log, stderr=subprocess.STDOUT)
    try:
        _, token = create_user(get_deps(app).db, "bench-seller", "seller", None)
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        ready = wait_ready(app, client, headers, live[0])
        print(f"indexer start -> first edit found {ready:5.1f} s")
        result = stream(app, client, headers, live, args.edits, args.rate)
    finally:
        indexer.send_signal(signal.SIGTERM)
        indexer.wait(60)
        log.close()
        get_deps(app).db.dispose()
        if not args.keep:
            shutil.rmtree(data_dir)
    print(
        f"\n{args.edits} edits at {args.rate}/s, indexer polling every {args.poll_ms} ms,"
        f" this process polling the API every ~10 ms:"
    )
    report("edit transaction", result["commits"])
    report("commit -> found by the API", result["lags"])
    report("API search meanwhile", result["queries"])
    print(f"(corpus dates are relative to {NOW:%Y-%m-%d})")


if __name__ == "__main__":
    main()
