"""GET /r/<code>/<material>: the referral redirect printed in every QR code."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, redirect, request

from materials.errors import NotFound
from materials.sharing import referrals
from materials.sharing.referrals import Visit
from materials.web.deps import get_deps

bp = Blueprint("referrals", __name__)

PREFETCH_HEADERS = ("Purpose", "Sec-Purpose", "X-Purpose", "X-Moz")


def _visit() -> Visit:
    prefetch = any(
        word in request.headers.get(name, "").lower()
        for name in PREFETCH_HEADERS
        for word in ("prefetch", "preview")
    )
    return Visit(
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        method=request.method,
        prefetch=prefetch,
    )


# merge_slashes=False: werkzeug would otherwise answer "//" in the path with a redirect of its
# own. Flask routes HEAD here too; it is logged and never counted.
@bp.get("/r/<code>/<material>", merge_slashes=False)
def follow(code: str, material: str) -> Response:
    try:
        location = referrals.follow(get_deps(), code, material, _visit(), datetime.now(UTC))
    except NotFound:
        abort(404)
    resp = redirect(location, code=302)
    # Every hit must reach us to be counted, and nothing about the visitor's page travels on.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp
