"""GET /healthz: what this node can reach right now. 200 when all is well, 503 naming what is
down otherwise; a load balancer or an operator reads it, and it never fails itself."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from materials.platform.deps import Deps
from materials.web.deps import get_deps

bp = Blueprint("health", __name__)


def _database(deps: Deps) -> None:
    with deps.db.read() as s:
        s.execute(text("SELECT 1"))


def _storage(deps: Deps) -> None:
    deps.storage.exists("renditions/healthz")  # a missing key is an answer too


def _queue(deps: Deps) -> None:
    deps.queue.ping()


def _search(deps: Deps) -> None:
    if not deps.search.ready():
        raise RuntimeError("the search index has not been built yet")


CHECKS: dict[str, Callable[[Deps], None]] = {
    "database": _database,
    "storage": _storage,
    "queue": _queue,
    "search": _search,
}
# Without these nothing works; without the index only search does (it answers 503 and the
# pages fall back to the database), so search is reported but does not fail the node.
CRITICAL = ("database", "storage", "queue")


def check(deps: Deps) -> dict[str, dict]:
    out = {}
    for name, probe in CHECKS.items():
        started = time.perf_counter()
        try:
            probe(deps)
            out[name] = {"ok": True}
        except Exception as exc:  # whatever it is, the answer is "down, and why"
            out[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        out[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


@bp.get("/healthz")
def healthz() -> Response:
    checks = check(get_deps())
    ok = all(checks[name]["ok"] for name in CRITICAL)
    resp = jsonify({"ok": ok, "checks": checks})
    resp.status_code = 200 if ok else 503
    resp.headers["Cache-Control"] = "no-store"
    if not ok:
        resp.headers["Retry-After"] = "5"
    return resp
