"""A load run through the production shape, with bare nginx as the anchor in the same run.

    .venv/bin/python bench/load.py [--seconds 10] [--mix-seconds 20] [--probe-seconds 20]

Makes a temporary data directory (embedded default), runs `flask --app app release` and
`flask --app app demo` (six materials; the demo users' tokens come back as JSON lines), adds
sellers nobody has asked a card for yet, starts the production shape (deploy/prod.py: nginx,
gunicorn on a unix socket, worker, indexer) and waits until it is warm. Then, with wrk:

1. One ~150 KB card, 16 connections, interleaved A B C A B C:
   A  bare nginx serving a static copy of the card's file (the ceiling);
   B  the production shape: nginx's card cache in front of the app;
   C  the production shape with that cache off: the app resolves every request and hands the
      file to nginx with X-Accel-Redirect.
   Ratios B/A and C/A of each round.
2. The mix: one wrk per route at once, 16 connections in all: cached card reads, new sellers'
   first cards, referral redirects, share pages, searches, forwards, uploads (one per 0.5 s).
   req/s, p50, p99 and errors per route. Then the same without the cached card reads (8
   connections): the app's routes when nginx is not serving thousands of cards a second on
   the same cores.
3. Slow clients: 16 sending a body at 1 byte/s and 16 sending headers at 1 byte/s while a
   probe asks for a share page every 0.5 s: through nginx, then straight at gunicorn's socket
   (the shape without a proxy, for comparison). Answered probes of all sent.

All traffic goes to 127.0.0.1 or to unix sockets in the temporary directory; every run is
bounded by its duration; everything started here is stopped (SIGTERM to its process group) and
the directory removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app, load_settings  # noqa: E402
from deploy import prod  # noqa: E402
from materials.accounts import create_user  # noqa: E402
from materials.platform.deps import get_deps  # noqa: E402
from media.samples import jpeg_bytes, product_image  # noqa: E402

BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "load.lua"
CONNECTIONS = 16
LAYOUTS = ("square", "poster", "story", "photo-1", "photo-2")
NEW_SELLERS = 100  # x 6 materials x 5 layouts = 3,000 cards nobody has asked for
SEARCHES = ("防晒", "咖啡", "连衣裙", "婴儿", "tea", "fangshai", "不粘锅", "夏季")
BOUNDARY = "sucai-load-boundary"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the service


@dataclass
class Service:
    tmp: Path
    port: int
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token
    code: str = ""  # the demo seller's referral code
    materials: list[int] = field(default_factory=list)
    new_codes: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.tmp / "var"

    @property
    def app_socket(self) -> Path:
        return self.data_dir / "run" / "web.sock"


def seed(tmp: Path) -> Service:
    port = free_port()
    svc = Service(tmp, port, _env(tmp, port))
    _flask(svc.env, "release")
    for line in _flask(svc.env, "demo").splitlines():
        if line.startswith("{"):
            user = json.loads(line)
            svc.tokens[user["role"]] = user["token"]
            svc.code = user.get("referral_code", svc.code)
        elif line.startswith("demo: material "):
            svc.materials.append(int(line.split()[2]))
    svc.new_codes = _sellers(svc, NEW_SELLERS)
    return svc


def _env(tmp: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SUCAI_DATA_DIR": str(tmp / "var"),
        "SUCAI_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SUCAI_SECRET_KEY": "load-run",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }


def _flask(env: dict[str, str], *args: str) -> str:
    cmd = [str(BIN / "flask"), "--app", "app", *args]
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    ).stdout


def _sellers(svc: Service, n: int) -> list[str]:
    """Sellers made in this process (a `flask users create` each would take minutes)."""
    app = create_app({"DATA_DIR": str(svc.data_dir), "SECRET_KEY": "load-run"})
    db = get_deps(app).db
    try:
        return [create_user(db, f"load-seller-{i}", "seller")[0].referral_code for i in range(n)]
    finally:
        db.dispose()


def start(svc: Service) -> None:
    log = open(svc.tmp / "prod.log", "wb")  # noqa: SIM115 - closed with the directory
    cmd = [sys.executable, str(ROOT / "deploy" / "prod.py"), "--port", str(svc.port)]
    svc.procs.append(_spawn(cmd, svc.env, log))


def _spawn(cmd: list[str], env: dict[str, str], log) -> subprocess.Popen:  # noqa: ANN001
    # A session of its own: stopping it stops everything it started, and nothing else.
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---------------------------------------------------------------- plain HTTP


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def wait_until(ok: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if ok():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not after {timeout:.0f} s")


def warm_up(svc: Service) -> None:
    """Up, every demo material processed, the index built, every demo card rendered once."""
    port, ops = svc.port, {"Authorization": f"Bearer {svc.tokens['ops']}"}
    wait_until(lambda: get(port, "/api/v1/openapi.json")[0] == 200, 60, "the app")

    def ready(mid: int) -> bool:
        return json.loads(get(port, f"/api/v1/materials/{mid}", ops)[2])["status"] == "ready"

    wait_until(lambda: all(ready(m) for m in svc.materials), 180, "demo renditions")
    seller = {"Authorization": f"Bearer {svc.tokens['seller']}"}
    wait_until(lambda: get(port, "/api/v1/search?q=x", seller)[0] == 200, 120, "the index")
    for path in cached_cards(svc):
        status, _, _ = get(port, path)
        assert status == 200, (path, status)
    for _ in range(20):  # both gunicorn workers past their first requests
        get(port, f"/m/{svc.materials[0]}?ref={svc.code}")


def cached_cards(svc: Service) -> list[str]:
    return [f"/cards/{m}/{svc.code}/{lay}.jpg" for m in svc.materials for lay in LAYOUTS]


def the_card(svc: Service) -> tuple[str, bytes]:
    """The demo card whose size is nearest 150 KB, the size the issue's figures were for."""
    sized = [(path, get(svc.port, path)[2]) for path in cached_cards(svc)]
    return min(sized, key=lambda item: abs(len(item[1]) - 150_000))


# ---------------------------------------------------------------- more nginx


def bare_nginx(svc: Service, card: bytes) -> tuple[int, subprocess.Popen]:
    """nginx with nothing but a static copy of the card: the ceiling for serving it."""
    root = svc.tmp / "bare"
    (root / "www").mkdir(parents=True)
    (root / "www" / "card.jpg").write_bytes(card)
    port = free_port()
    user = prod._user_line()
    temp = " ".join(
        f"{kind}_temp_path {root}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    conf = f"""{user}
worker_processes auto; daemon off; pid {root}/nginx.pid; error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types; access_log off; sendfile on;
    {temp} uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
    server {{ listen 127.0.0.1:{port}; root {root}/www; }}
}}
"""
    (root / "nginx.conf").write_text(conf)
    log = open(root / "nginx.log", "wb")  # noqa: SIM115
    proc = _spawn(prod.nginx_command(root, root / "nginx.conf"), svc.env, log)
    wait_until(lambda: get(port, "/card.jpg")[0] == 200, 20, "bare nginx")
    return port, proc


def uncached_nginx(svc: Service) -> tuple[int, subprocess.Popen]:
    """The production configuration with the card cache off, in front of the same app."""
    port = free_port()
    settings = load_settings({"DATA_DIR": str(svc.data_dir), "SECRET_KEY": "load-run"})
    run_dir = svc.tmp / "nocache"
    shape = prod.shape_for(settings, port, run_dir, app_socket=svc.app_socket, card_cache=False)
    prod.write(shape)
    log = open(svc.tmp / "nocache.log", "wb")  # noqa: SIM115
    proc = _spawn(prod.nginx_command(run_dir, shape.conf), svc.env, log)
    wait_until(lambda: get(port, "/api/v1/openapi.json")[0] == 200, 20, "uncached nginx")
    return port, proc


# ---------------------------------------------------------------- wrk


@dataclass(frozen=True)
class Route:
    name: str
    connections: int
    paths: list[str]
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay_ms: int = 0


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrapped: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk(port: int, route: Route, seconds: float, tmp: Path) -> subprocess.Popen:
    """Starts one wrk for one route; read its Result with `result()`."""
    name = route.name.replace(" ", "-").replace("'", "")
    paths = tmp / f"{name}.paths"
    paths.write_text("\n".join(route.paths) + "\n")
    headers = tmp / f"{name}.headers"
    headers.write_text("".join(f"{k}: {v}\n" for k, v in route.headers.items()) or "X-Load: 1\n")
    body = "-"
    if route.body is not None:
        (tmp / f"{name}.body").write_bytes(route.body)
        body = str(tmp / f"{name}.body")
    threads = 2 if route.connections >= 4 else 1
    cmd = ["wrk", f"-t{threads}", f"-c{route.connections}", f"-d{round(seconds)}s"]
    cmd += ["--timeout", "10s"]
    cmd += ["-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(paths), str(threads)]
    cmd += [route.method, str(headers), body, str(route.delay_ms)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def result(proc: subprocess.Popen) -> Result:
    out, _ = proc.communicate(timeout=120)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk said:\n{out}")
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = sum(r[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Result(
        r["requests"], r["duration_us"] / 1e6, r["p50_us"] / 1e3, r["p99_us"] / 1e3, errors,
        r["wrapped"],
    )  # fmt: skip


def run_one(port: int, route: Route, seconds: float, tmp: Path) -> Result:
    return result(wrk(port, route, seconds, tmp))


# ---------------------------------------------------------------- 1. cards, interleaved


def cards_interleaved(
    svc: Service, card_path: str, ports: dict[str, int], seconds: float, rounds: int = 2
) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {name: [] for name in ports}
    for _ in range(rounds):
        for name, port in ports.items():
            path = "/card.jpg" if name == "A" else card_path
            route = Route(f"card-{name}", CONNECTIONS, [path])
            out[name].append(run_one(port, route, seconds, svc.tmp))
    return out


def print_cards(out: dict[str, list[Result]], labels: dict[str, str], size: int) -> None:
    print(f"\n1. One card ({size / 1000:.0f} KB), {CONNECTIONS} connections, interleaved")
    print(f"{'':4}{'server':<52}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for i in range(len(out["A"])):
        for name in out:
            r = out[name][i]
            print(
                f"{name}{i + 1:<3}{labels[name]:<52}{r.rate:>9,.0f}{r.p50_ms:>9.2f}"
                f"{r.p99_ms:>9.2f}{r.errors:>8}"
            )
    for name in [n for n in out if n != "A"]:
        ratios = [b.rate / a.rate for a, b in zip(out["A"], out[name], strict=True)]
        shown = ", ".join(f"{x:.3f}" for x in ratios)
        print(f"ratio {name}/A per round: {shown}  (median {statistics.median(ratios):.3f})")


# ---------------------------------------------------------------- 2. the mix


def mix_routes(svc: Service, firsts: list[str]) -> list[Route]:
    mids, code = svc.materials, svc.code
    seller = {"Authorization": f"Bearer {svc.tokens['seller']}"}
    codes = [code, *svc.new_codes]
    upload = {
        "Authorization": f"Bearer {svc.tokens['ops']}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    return [
        Route("cached card reads", 8, cached_cards(svc)),
        Route("new sellers' first cards", 1, firsts),
        Route("referral redirects", 2, [f"/r/{c}/{m}" for c in codes for m in mids]),
        Route("share pages", 2, [f"/m/{m}?ref={c}" for c in codes[:20] for m in mids]),
        Route("searches", 1, [f"/api/v1/search?q={quote(q)}" for q in SEARCHES], headers=seller),
        # A forward is a POST (a GET only previews it); the bearer token needs no CSRF token.
        Route("forwards", 1, [f"/api/v1/materials/{m}/forward" for m in mids], "POST", seller),
        Route("uploads (1 per 0.5 s)", 1, ["/api/v1/materials"], "POST", upload, _upload(), 500),
    ]


def first_cards(svc: Service) -> list[str]:
    """Cards nobody has asked for: new sellers' codes on every material and layout."""
    return [
        f"/cards/{m}/{c}/{lay}.jpg" for c in svc.new_codes for m in svc.materials for lay in LAYOUTS
    ]


def _upload() -> bytes:
    """A form as the ops console sends it: copy and one ~100 KB photo."""
    photo = jpeg_bytes(product_image(1200, 1200, seed=7))
    fields = {
        "title": "压测上新 防晒喷雾",
        "copy": "清爽不黏，随时补涂。",
        "price": "59.00",
        "product_url": "https://shop.example.com/item/9",
        "tags": "防晒",
    }
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def preflight(svc: Service, routes: list[Route]) -> None:
    """One request per route, checked, so the table never times a 404."""
    expected = {"GET": {200, 302}, "POST": {201}}
    for route in routes:
        path = route.paths[-1] if route.name.startswith("new") else route.paths[0]
        conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=60)
        conn.request(route.method, path, body=route.body, headers=route.headers)
        status = conn.getresponse().status
        conn.close()
        if status not in expected[route.method]:
            raise RuntimeError(f"{route.name}: {route.method} {path} answered {status}")


def the_mix(svc: Service, seconds: float, firsts: list[str], cards: bool) -> list:
    """Every route at once; without the cached card reads when `cards` is false, to show what
    the app's routes do when nginx is not busy serving cards on the same two cores."""
    routes = [r for r in mix_routes(svc, firsts) if cards or r.name != "cached card reads"]
    preflight(svc, routes)
    procs = [wrk(svc.port, route, seconds, svc.tmp) for route in routes]
    return [(route, result(proc)) for route, proc in zip(routes, procs, strict=True)]


def print_mix(title: str, rows: list[tuple[Route, Result]], seconds: float) -> None:
    total = sum(route.connections for route, _ in rows)
    print(f"\n{title}: {seconds:.0f} s, {total} connections, through the production shape")
    print(f"{'route':<28}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for route, r in rows:
        note = f"  ({r.wrapped} repeats)" if r.wrapped and route.name.startswith("new") else ""
        print(
            f"{route.name:<28}{route.connections:>6}{r.rate:>9,.1f}{r.p50_ms:>9.2f}"
            f"{r.p99_ms:>9.2f}{r.errors:>8}{note}"
        )


# ---------------------------------------------------------------- 3. slow clients


Opener = Callable[[], "asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]"]


async def _trickle(open_conn: Opener, head: bytes, stop: asyncio.Event) -> None:
    """Sends `head`, then one byte a second, forever; connects again when dropped (an
    attacker would)."""
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await open_conn()
            writer.write(head)
            while not stop.is_set() and not reader.at_eof():
                await writer.drain()
                await asyncio.sleep(1)
                writer.write(b"a")
        except (OSError, asyncio.IncompleteReadError):
            await asyncio.sleep(1)
        finally:
            if writer is not None:
                writer.close()


async def _probe(open_conn: Opener, request: bytes, timeout: float) -> float | None:
    """Seconds until a status line came back, or None if it did not within `timeout`."""
    start = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.wait_for(open_conn(), timeout)
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), timeout - (time.monotonic() - start))
        return time.monotonic() - start if line.startswith(b"HTTP/1.1 200") else None
    except (OSError, TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.close()


async def slow_clients(open_conn: Opener, svc: Service, seconds: float) -> list[float | None]:
    host = f"Host: 127.0.0.1:{svc.port}\r\n"
    body_head = (
        f"POST /api/v1/materials HTTP/1.1\r\n{host}Authorization: Bearer {svc.tokens['ops']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 10000000"
        f"\r\n\r\n--{BOUNDARY}\r\n"
    ).encode()
    header_head = f"GET /m/{svc.materials[0]} HTTP/1.1\r\n{host}X-Slow: ".encode()
    probe = f"GET /m/{svc.materials[0]}?ref={svc.code} HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
    stop = asyncio.Event()
    heads = [body_head] * CONNECTIONS + [header_head] * CONNECTIONS
    slow = [asyncio.create_task(_trickle(open_conn, head, stop)) for head in heads]
    await asyncio.sleep(2)  # they take their places first
    probes = []
    for _ in range(int(seconds / 0.5)):
        probes.append(asyncio.create_task(_probe(open_conn, probe.encode(), 5.0)))
        await asyncio.sleep(0.5)
    answered = await asyncio.gather(*probes)
    stop.set()
    for task in slow:
        task.cancel()
    await asyncio.gather(*slow, return_exceptions=True)
    return answered


def probe_both(svc: Service, seconds: float) -> dict[str, list[float | None]]:
    def through_nginx():  # noqa: ANN202
        return asyncio.open_connection("127.0.0.1", svc.port)

    def straight_at_gunicorn():  # noqa: ANN202
        return asyncio.open_unix_connection(str(svc.app_socket))

    out = {}
    for name, opener in (
        ("through nginx", through_nginx),
        ("gunicorn alone", straight_at_gunicorn),
    ):
        out[name] = asyncio.run(slow_clients(opener, svc, seconds))
        time.sleep(3)  # gunicorn's threads come back once the slow clients are gone
    return out


def print_probes(out: dict[str, list[float | None]]) -> None:
    print(f"\n3. Slow clients ({CONNECTIONS} bodies + {CONNECTIONS} headers at 1 byte/s), a share")
    print("   page probe every 0.5 s, each given 5 s")
    for name, got in out.items():
        times = sorted(t for t in got if t is not None)
        median = f", median {statistics.median(times) * 1000:.0f} ms" if times else ""
        print(f"{name:<16} answered {len(times)}/{len(got)}{median}")


# ---------------------------------------------------------------- main


@contextlib.contextmanager
def service() -> Iterator[Service]:
    tmp = Path(tempfile.mkdtemp(prefix="sucai-load-"))
    svc = None
    try:
        svc = seed(tmp)
        start(svc)
        yield svc
    finally:
        if svc is not None:
            stop(svc.procs)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="each card phase")
    parser.add_argument("--mix-seconds", type=float, default=20)
    parser.add_argument("--probe-seconds", type=float, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    print(f"load run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    with service() as svc:
        t0 = time.monotonic()
        warm_up(svc)
        card_path, card = the_card(svc)
        print(f"ready in {time.monotonic() - t0:.0f} s; the card: {card_path}")
        bare_port, bare = bare_nginx(svc, card)
        nocache_port, nocache = uncached_nginx(svc)
        svc.procs += [bare, nocache]
        _check_card_paths(svc, card_path, card, nocache_port)
        ports = {"A": bare_port, "B": svc.port, "C": nocache_port}
        labels = {
            "A": "bare nginx, static copy of the file",
            "B": "production shape (nginx card cache, app validators)",
            "C": "production shape, cache off (app + X-Accel-Redirect)",
        }
        print_cards(cards_interleaved(svc, card_path, ports, args.seconds), labels, len(card))
        firsts = first_cards(svc)
        half = len(firsts) // 2  # each mix asks for cards the other did not
        mix = the_mix(svc, args.mix_seconds, firsts[:half], cards=True)
        print_mix("2a. The mix", mix, args.mix_seconds)
        alone = the_mix(svc, args.mix_seconds, firsts[half:], cards=False)
        print_mix("2b. The same without the cached card reads", alone, args.mix_seconds)
        print_probes(probe_both(svc, args.probe_seconds))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}; everything stopped, files removed")


def _check_card_paths(svc: Service, path: str, card: bytes, nocache_port: int) -> None:
    """B is served from nginx's cache, C by X-Accel-Redirect: same bytes and validators."""
    status, headers, body = get(svc.port, path)
    assert status == 200 and body == card and headers.get("X-Cache") == "HIT", headers
    status, headers2, body = get(nocache_port, path)
    assert status == 200 and body == card and "X-Cache" not in headers2, headers2
    for name in ("ETag", "Cache-Control", "Content-Type", "Content-Security-Policy"):
        assert headers[name] == headers2[name], name


if __name__ == "__main__":
    main()
