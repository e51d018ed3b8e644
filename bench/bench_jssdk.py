"""GET /wechat/jssdk-config over HTTP: the first request (token and ticket fetched from WeChat,
here the stand-in on loopback), warm requests (one primary-key read of the cached ticket, a
sha1), and as a baseline the same URL refused for a foreign origin (no database, no signing).

    .venv/bin/python bench/bench_jssdk.py [--requests 2000] [--delay-ms 50]

Starts the WeChat stand-in (tests/wechat_standin.py, answering after --delay-ms, as a far-away
API would) and gunicorn as the Procfile does (2 gthread workers x 4 threads) on free loopback
ports, on the embedded default (SQLite) in a temporary directory; prints median and p95.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from bench.bench_card_serving import Client, free_port, report, start_gunicorn, timed  # noqa: E402
from materials.platform import migrate  # noqa: E402
from materials.platform.deps import get_deps  # noqa: E402
from tests.wechat_standin import StandIn  # noqa: E402


def run(requests: int, delay_ms: int) -> None:
    standin = StandIn({"wxbench": "secret"}).start()
    standin.delay = delay_ms / 1000
    with tempfile.TemporaryDirectory(prefix="sucai-bench-") as tmp:
        port = free_port()
        settings = {
            "DATA_DIR": str(Path(tmp) / "var"),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "bench",
            "WECHAT_APP_ID": "wxbench",
            "WECHAT_APP_SECRET": "secret",
            "WECHAT_API_URL": standin.url,
        }
        app = create_app(settings)
        migrate.upgrade(get_deps(app).db)
        get_deps(app).db.dispose()
        env = {**os.environ, **{f"SUCAI_{k}": v for k, v in settings.items()}}
        proc = start_gunicorn(env, port)
        try:
            measure(Client(port), settings["PUBLIC_URL"], requests, delay_ms)
            print(f"stand-in handed out: {dict(standin.counts)}")
        finally:
            proc.terminate()
            proc.wait(10)
            standin.stop()


def measure(client: Client, public: str, n: int, delay_ms: int) -> None:
    page = quote(f"{public}/m/1?ref=ABCDEFG", safe="")
    path = f"/wechat/jssdk-config?url={page}"
    status, _, first = client.get(path)
    assert status == 200, status
    print(f"first config (token + ticket, stand-in at {delay_ms} ms) {first * 1e3:.0f} ms")
    report("warm config (200)", timed(n, lambda i: client.get(path), 200))
    foreign = "/wechat/jssdk-config?url=" + quote("http://evil.example/m/1", safe="")
    report("baseline: foreign origin (422)", timed(n, lambda i: client.get(foreign), 422))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--delay-ms", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    run(args.requests, args.delay_ms)
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
