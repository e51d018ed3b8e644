"""The production shape (deploy/prod.py) run for real: Debian's nginx on loopback in front of
the Procfile's processes, on an empty data directory. What nginx serves itself, what it hands
on, and that the app's headers arrive as the app sent them."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from media.samples import jpeg_bytes, make_clip, product_image
from tests.conftest import free_port, wait_for_port
from tests.helpers import wait_until
from tests.test_procfile import ROOT, flask

BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx", path=f"{os.environ['PATH']}:/usr/sbin")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="needs Debian's nginx (apt-get install nginx-light)"),
]


class Unix(http.client.HTTPConnection):
    """HTTP over gunicorn's unix socket: the app as nginx sees it."""

    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=30)
        self.socket_path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.socket_path)


def fetch(to: int | Path, method: str, path: str, body=None, headers=None):  # noqa: ANN001
    """One request on a connection of its own: to nginx's port, or to gunicorn's socket."""
    if isinstance(to, Path):
        conn = Unix(to)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", to, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shape(tmp_path_factory):
    """One production shape for the module: starting it takes seconds."""
    tmp_path = tmp_path_factory.mktemp("prod")
    port = free_port()
    env = {
        **os.environ,
        "SUCAI_DATA_DIR": str(tmp_path / "var"),
        "SUCAI_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    flask(env, "release")
    users = {
        r: json.loads(flask(env, "users", "create", r, "--role", r)) for r in ("ops", "seller")
    }
    log = tmp_path / "prod.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "prod.py"), "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = tmp_path / "var" / "run"
    try:
        wait_for_port(port, 30)
        wait_until(lambda: (run / "web.sock").exists(), 30)
        yield {"port": port, "users": users, "run": run, "log": log, "data": tmp_path / "var"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert not (run / "nginx.pid").exists() and not (run / "cards.sock").exists()


@pytest.fixture(scope="module")
def material(shape) -> dict:
    return live_material(shape, jpeg_bytes(product_image(640, 480, seed=1)))


def live_material(shape, photo: bytes, video: bytes | None = None) -> dict:
    """Uploaded through nginx (the body buffered there), processed by the worker, published."""
    ops = {"Authorization": f"Bearer {shape['users']['ops']['token']}"}
    boundary = "b0undary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in {
            "title": "防晒霜",
            "price": "89.00",
            "product_url": "https://s.example/1",
        }.items()
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + b"\r\n"
    )
    if video is not None:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="video"; '
                f'filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
            ).encode()
            + video
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    conn = shape["port"]
    headers = {**ops, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, _, created = fetch(conn, "POST", "/api/v1/materials", body, headers)
    assert status == 201, created
    mid = json.loads(created)["id"]

    def ready() -> bool:
        got = json.loads(fetch(conn, "GET", f"/api/v1/materials/{mid}", headers=ops)[2])
        return got["status"] == "ready"

    wait_until(ready, 120)
    as_json = {**ops, "Content-Type": "application/json"}
    status, _, published = fetch(conn, "POST", f"/api/v1/materials/{mid}/publish", b"{}", as_json)
    assert status == 200, published
    return json.loads(published)


def test_cards_are_cached_by_nginx_and_handed_over_by_the_app(shape, material):
    code = shape["users"]["seller"]["referral_code"]
    path = f"/cards/{material['id']}/{code}/square.jpg"
    conn = shape["port"]
    status, first, card = fetch(conn, "GET", path)  # rendered by the app, stored, cached
    assert status == 200 and first["x-cache"] == "MISS" and len(card) > 10_000
    status, hit, again = fetch(conn, "GET", path)
    assert status == 200 and hit["x-cache"] == "HIT" and again == card
    etag = first["etag"]
    status, _, _ = fetch(conn, "GET", path, headers={"If-None-Match": etag})
    assert status == 304
    # The same card under another URL: not in nginx's cache, stored by the app, which answers
    # with X-Accel-Redirect and no body; nginx sends the stored file with the app's headers.
    other = f"/cards/{material['id']}/{code.lower()}/square.jpg"
    status, accel, body = fetch(conn, "GET", other)
    assert status == 200 and accel["x-cache"] == "MISS" and body == card
    for name in ("etag", "cache-control", "content-type", "content-security-policy"):
        assert accel[name] == first[name], name
    assert "last-modified" not in accel and "x-accel-redirect" not in accel
    wait_until(lambda: re.search(rf'"GET {re.escape(other)} HTTP/1.[01]" 200 0 ', _log(shape)), 10)


def test_the_stamped_video_is_sent_by_nginx_with_ranges(shape):
    """The app stamps the video once and hands the stored file to nginx (X-Accel-Redirect),
    which sends it, and byte ranges of it, as phones ask to play and seek."""
    clip = make_clip(shape["data"] / "clip.mp4", seconds=2, width=320, height=568).read_bytes()
    m = live_material(shape, jpeg_bytes(product_image(640, 640, seed=2)), clip)
    code = shape["users"]["seller"]["referral_code"]
    path, conn = f"/cards/{m['id']}/{code}/video.mp4", shape["port"]
    status, first, data = fetch(conn, "GET", path)
    assert status == 200 and first["content-type"] == "video/mp4" and data[4:8] == b"ftyp"
    assert first["cache-control"] == "public, max-age=300, must-revalidate"
    status, part, some = fetch(conn, "GET", path, headers={"Range": "bytes=100-199"})
    assert status == 206 and some == data[100:200]
    assert part["content-range"] == f"bytes 100-199/{len(data)}"
    status, again, same = fetch(Path(shape["run"]) / "web.sock", "GET", path)
    assert status == 200 and same == b"" and again["x-accel-redirect"].startswith("/_stored/")
    assert again["etag"] == first["etag"]


def _log(shape) -> str:
    return shape["log"].read_text(errors="replace")


def test_nginx_serves_static_and_renditions_never_originals(shape, material):
    conn = shape["port"]
    gz = {"Accept-Encoding": "gzip"}
    status, static, _ = fetch(conn, "GET", "/static/sucai.css?v=1", headers=gz)
    assert status == 200 and static["content-encoding"] == "gzip"
    assert static["cache-control"] == "public, max-age=31536000, immutable"
    rendition = material["assets"][0]["renditions"]["display"]["url"]
    status, served, _ = fetch(conn, "GET", urlsplit(rendition).path)
    assert status == 200 and "immutable" in served["cache-control"]
    assert served["x-content-type-options"] == "nosniff"
    data = shape["data"] / "media"
    original = next((data / "originals").rglob("*.jpg")).relative_to(data).as_posix()
    for path in (f"/media/{original}", f"/media/renditions/../{original}", "/_stored/cards/"):
        assert fetch(conn, "GET", path)[0] == 404, path


def test_app_answers_arrive_as_the_app_sent_them(shape):
    """nginx compresses nothing the app answers (the app decides that), and keeps its headers."""
    gz = {"Accept-Encoding": "gzip"}
    front, app = shape["port"], shape["run"] / "web.sock"
    # (not /signin: each answer there carries a fresh session's CSRF token)
    for path in ("/api/v1/openapi.json", "/m/999", "/api/v1/materials/999"):
        s1, via, body1 = fetch(front, "GET", path, headers=gz)
        s2, direct, body2 = fetch(app, "GET", path, headers=gz)
        assert s1 == s2 and len(body1) == len(body2), path
        for name in ("content-encoding", "content-security-policy", "cache-control", "vary"):
            assert via.get(name) == direct.get(name), (path, name)


def test_a_body_over_the_apps_cap_is_refused_by_nginx(shape):
    conn = http.client.HTTPConnection("127.0.0.1", shape["port"], timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/materials")
        conn.putheader("Content-Length", str(10**10))
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 413 and resp.getheader("Content-Type") == "application/problem+json"
        assert json.loads(resp.read())["rule"] == "max_bytes"
    finally:
        conn.close()


def test_workers_of_a_killed_master_refuse_connections_at_once(tmp_path):
    """A SIGKILLed master's workers close their listening socket when they notice: nginx's
    next connect to the path is refused at once (a 502, which clients retry), instead of
    waiting in a backlog nobody accepts from until the orphans exit 30 s later."""
    env = {
        **os.environ,
        "SUCAI_DATA_DIR": str(tmp_path / "var"),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    flask(env, "release")
    sock, log = tmp_path / "web.sock", tmp_path / "web.log"
    cmd = [BIN / "gunicorn", "app:create_app()", "--bind", f"unix:{sock}", "--workers", "1",
           "--threads", "2", "--worker-class", "gthread"]  # fmt: skip
    with open(log, "wb") as out:
        master = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    kept = Unix(sock)  # a connection nginx keeps alive to the worker
    try:
        wait_until(lambda: _answers(sock), 60)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read()
        (worker,) = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        os.kill(master.pid, signal.SIGKILL)
        master.wait()
        wait_until(lambda: "Parent changed" in log.read_text(), 10)
        with socket.socket(socket.AF_UNIX) as probe, pytest.raises(ConnectionRefusedError):
            probe.settimeout(5)
            probe.connect(str(sock))
        # and the orphan lets the kept connection go as on a SIGTERM, not after the 30 s grace
        wait_until(lambda: not Path(f"/proc/{worker}").exists(), 10)
    finally:
        kept.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(master.pid, signal.SIGKILL)


def _answers(sock: Path) -> bool:
    try:
        return fetch(sock, "GET", "/healthz")[0] == 200
    except OSError:
        return False
