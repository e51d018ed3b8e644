"""GET /r/<code>/<material>: the referral redirect printed in every QR code.

People get the 302 to the storefront. A link unfurler (a chat app or site drawing a preview of
a pasted link) gets a small 200 page carrying the material's OpenGraph meta and the seller's og
card instead: following the redirect would show it the storefront's page, or nothing. Either
way the hit is logged exactly as before (an unfurler is a bot: logged, never valid), so stats
do not move."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, redirect, request

from materials.catalogue.browse import live_material
from materials.errors import NotFound
from materials.models import parse_id
from materials.sharing import referrals
from materials.sharing.bots import is_unfurler
from materials.sharing.referrals import Visit
from materials.web.deps import get_deps
from materials.web.pages.linkmeta import preview_response

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
    visit, now = _visit(), datetime.now(UTC)
    try:
        location = referrals.follow(get_deps(), code, material, visit, now)
    except NotFound:
        abort(404)
    resp = _preview(code, material) if is_unfurler(visit.user_agent) else None
    resp = resp or redirect(location, code=302)
    # Every hit must reach us to be counted, and nothing about the visitor's page travels on.
    resp.headers["Cache-Control"] = "no-store"
    resp.vary.add("User-Agent")  # a preview for unfurlers, a redirect for people
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp


def _preview(code: str, material_ref: str) -> Response | None:
    """The unfurler's page while the material is live (follow has checked the code); a taken
    down one previews as whatever the storefront shows, through the redirect."""
    material_id = parse_id(material_ref)
    m = live_material(get_deps(), material_id) if material_id else None
    return preview_response(m, code.upper()) if m is not None else None
