"""A stand-in for WeChat's API on loopback, speaking the documented endpoints Sucai calls:

- GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=
       -> {"access_token", "expires_in"} or {"errcode", "errmsg"}
- GET  /cgi-bin/ticket/getticket?access_token=&type=jsapi
       -> {"errcode": 0, "errmsg": "ok", "ticket", "expires_in"}
- POST /wxa/getwxacodeunlimit?access_token=  {"scene", "page", "width", "check_path"}
       -> image/jpeg bytes, or {"errcode", "errmsg"}

WeChat cannot be reached from here, so this is the one stand-in in the tests (shared/DESIGN.md).
It counts what it hands out, so tests can see how often Sucai fetched, and it can revoke every
token (WeChat's 40001), answer slowly, or hang. Its "小程序码" is a QR code of the scene, so a
test can decode a card and read which seller and material it opens.

By hand, for the README's walk-through:
    .venv/bin/python -m tests.wechat_standin --port 8089 --app wxmp=mpsecret --app wxmini=minisecret
"""

from __future__ import annotations

import argparse
import io
import json
import re
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from media.cards.testing import sample_round_code

SCENE_RE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


class StandIn:
    def __init__(self, apps: dict[str, str], expires_in: int = 7200) -> None:
        self.apps = apps  # appid -> secret
        self.expires_in = expires_in
        # requests (every one received), token:<appid>, ticket, wxacode (each handed out), and
        # ticket_refused, wxacode_refused (asked with a revoked or unknown token)
        self.counts: Counter = Counter()
        self.tickets: list[str] = []
        self.scenes: list[tuple[str, str, str, int]] = []  # (appid, scene, page, width)
        self.code_times: list[float] = []  # time.monotonic() of each 小程序码 handed out
        self.delay = 0.0  # seconds before each answer
        self._tokens: dict[str, str] = {}  # valid access_token -> appid
        self._lock = threading.Lock()
        self._release = threading.Event()  # set by stop(): slow answers end at once
        self._server: ThreadingHTTPServer | None = None

    # -- control -------------------------------------------------------------------------------

    def start(self, port: int = 0) -> StandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def revoke_tokens(self) -> None:
        """Every access_token handed out so far is refused from now on (40001)."""
        with self._lock:
            self._tokens.clear()

    def received(self) -> None:
        with self._lock:
            self.counts["requests"] += 1

    def wait(self) -> None:
        if self.delay:
            self._release.wait(self.delay)

    # -- the endpoints -------------------------------------------------------------------------

    def token(self, query: dict[str, str]) -> dict:
        if query.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        appid = query.get("appid", "")
        if appid not in self.apps:
            return _error(40013, "invalid appid")
        if query.get("secret") != self.apps[appid]:
            return _error(40125, "invalid appsecret")
        token = f"ACCESS-{appid}-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = appid
            self.counts[f"token:{appid}"] += 1
        return {"access_token": token, "expires_in": self.expires_in}

    def ticket(self, query: dict[str, str]) -> dict:
        if not self._valid(query.get("access_token", ""), "ticket"):
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if query.get("type") != "jsapi":
            return _error(40097, "invalid args")
        ticket = f"TICKET-{secrets.token_urlsafe(24)}"
        with self._lock:
            self.tickets.append(ticket)
            self.counts["ticket"] += 1
        return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": self.expires_in}

    def wxacode(self, query: dict[str, str], body: bytes) -> dict | bytes:
        token = query.get("access_token", "")
        if not self._valid(token, "wxacode"):
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error(47001, "data format error")
        scene = payload.get("scene", "")
        if not isinstance(scene, str) or not SCENE_RE.match(scene):
            return _error(40169, "invalid length for scene, or the data is not json string")
        page = payload.get("page", "")
        if page.startswith("/") or "?" in page:
            return _error(40159, "invalid length for path, or the data is not json string")
        width = min(1280, max(280, int(payload.get("width", 430))))
        with self._lock:
            self.scenes.append((self._tokens[token], scene, page, width))
            self.code_times.append(time.monotonic())
            self.counts["wxacode"] += 1
        return code_image(scene, width)

    def _valid(self, token: str, what: str) -> bool:
        with self._lock:
            if token in self._tokens:
                return True
            self.counts[f"{what}_refused"] += 1
            return False


def _error(errcode: int, errmsg: str) -> dict:
    return {"errcode": errcode, "errmsg": errmsg}


def code_image(scene: str, width: int) -> bytes:
    """What WeChat answers, as JPEG: here a round picture that is really a QR of the scene."""
    out = io.BytesIO()
    sample_round_code(scene, width).save(out, "JPEG", quality=92)
    return out.getvalue()


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            standin.received()
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            routes = {"/cgi-bin/token": standin.token, "/cgi-bin/ticket/getticket": standin.ticket}
            if url.path not in routes:
                return self._send(404, b"not found", "text/plain")
            standin.wait()
            self._answer(routes[url.path](query))

        def do_POST(self) -> None:  # noqa: N802
            standin.received()
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path != "/wxa/getwxacodeunlimit":
                return self._send(404, b"not found", "text/plain")
            standin.wait()
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._answer(standin.wxacode(query, body))

        def _answer(self, result: dict | bytes) -> None:
            if isinstance(result, bytes):
                return self._send(200, result, "image/jpeg")
            # As WeChat does: errors are 200s with an errcode.
            self._send(200, json.dumps(result).encode(), "application/json; encoding=utf-8")

        def _send(self, status: int, data: bytes, mime: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to tell it

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet in tests

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--app", action="append", default=[], help="APPID=SECRET (repeatable)")
    args = parser.parse_args()
    apps = dict(item.split("=", 1) for item in args.app) or {"wxmp": "mpsecret"}
    standin = StandIn(apps).start(args.port)
    print(f"WeChat stand-in on {standin.url} for {', '.join(apps)}; Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
