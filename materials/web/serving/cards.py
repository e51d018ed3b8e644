"""GET /cards/<material>/<code>/<layout>.jpg: a seller's share card, and
GET /cards/<material>/<code>/video.mp4: the material's video with the seller's end card
(stable public URLs, cached alike)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, request, send_file

from materials.errors import NotFound
from materials.platform.deps import Deps
from materials.sharing import cards, endcards
from materials.sharing.cardstore import RenderTimeout
from materials.web.deps import get_deps
from media.images import MediaRejected

bp = Blueprint("cards", __name__)

# The URL is printed into storefront pages and never changes, but its content does: an edit (a
# new material version) or a new renderer gives the same URL new bytes and a new ETag, and a take
# down must turn it into a 404. "immutable" with a year's max-age would pin the old card in
# browsers and CDNs for a year, so caches may keep a card five minutes and must then revalidate
# with If-None-Match, which costs a 304 and no render. The stored object behind it is named by
# its content hash, so it is the object, not this URL, that is immutable.
CARD_CACHE_CONTROL = "public, max-age=300, must-revalidate"


# merge_slashes=False: werkzeug would otherwise answer "//" in the path with a redirect.
@bp.get("/cards/<material>/<code>/<layout>.jpg", merge_slashes=False)
def card(material: str, code: str, layout: str) -> Response:
    deps = get_deps()
    try:
        spec = cards.resolve(deps, material, code, layout, datetime.now(UTC))
    except NotFound:
        abort(404)
    etag = spec.cache_key
    # The key is known before rendering, so a revalidation never renders anything.
    if request.if_none_match.contains_weak(etag):
        return _cacheable(Response(status=304), etag)
    accel = _handed_to_proxy(deps, spec)
    if accel is not None:
        return _cacheable(accel, etag)
    try:
        data = cards.card_bytes(deps, spec)
    except RenderTimeout:
        return _busy("card is being rendered; try again")
    return _cacheable(Response(data, mimetype="image/jpeg"), etag)


@bp.get("/cards/<material>/<code>/video.mp4", merge_slashes=False)
def video(material: str, code: str) -> Response:
    """The stamped video: made on first request (the end card encoded, the video copied),
    then served from storage with ranges, which phones need to play and seek it."""
    deps = get_deps()
    try:
        spec = endcards.resolve(deps, material, code, datetime.now(UTC))
    except NotFound:
        abort(404)
    etag = spec.cache_key
    if request.if_none_match.contains_weak(etag):
        return _cacheable(Response(status=304), etag)
    try:
        key = endcards.stored_video_key(deps, spec)
    except RenderTimeout:
        return _busy("video is being stamped; try again")
    except MediaRejected as exc:  # past its time or CPU limit: the machine is busy
        return _busy(f"video could not be stamped now ({exc.rule}); try again", retry=5)
    return _cacheable(_stored_video(deps, key, etag), etag)


def _stored_video(deps: Deps, key: str, etag: str) -> Response:
    prefix = deps.settings.ACCEL_REDIRECT
    path = deps.storage.local_file(key)
    if prefix and path is not None:  # nginx sends it, ranges and all
        resp = Response(b"", mimetype="video/mp4")
        resp.headers["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{key}"
        return resp
    if path is not None:
        return send_file(path, mimetype="video/mp4", conditional=True, etag=etag)
    data = deps.storage.get_bytes(key)  # an object store: the app sends it, ranges too
    resp = Response(data, mimetype="video/mp4")
    resp.set_etag(etag)  # before the ranges: If-Range compares it
    return resp.make_conditional(request, accept_ranges=True, complete_length=len(data))


def _busy(message: str, retry: int = 1) -> Response:
    resp = Response(message, status=503, mimetype="text/plain")
    resp.headers["Retry-After"] = str(retry)
    return resp


def _handed_to_proxy(deps: Deps, spec: cards.CardSpec) -> Response | None:
    """With SUCAI_ACCEL_REDIRECT set (nginx in front, local storage), a stored card is sent by
    nginx from the media directory: Python neither reads nor sends its 100-200 KB. The headers
    set here (ETag, Cache-Control, Content-Type) are the ones nginx's internal location keeps."""
    prefix = deps.settings.ACCEL_REDIRECT
    key = cards.stored_card_key(deps, spec) if prefix else None
    if key is None:
        return None
    resp = Response(b"", mimetype="image/jpeg")
    resp.headers["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{key}"
    return resp


def _cacheable(resp: Response, etag: str) -> Response:
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = CARD_CACHE_CONTROL
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
