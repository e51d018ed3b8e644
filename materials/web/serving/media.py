"""Serves renditions from storage. Keys are content-addressed, so responses are immutable.

Originals are never served: they still carry the uploader's EXIF (GPS) and are unvetted bytes.
"""

from __future__ import annotations

import mimetypes

from flask import Blueprint, Response, abort, redirect, request, send_file

from materials.web.deps import get_deps
from media.storage import check_key

bp = Blueprint("media", __name__)
SERVED_PREFIXES = ("renditions/",)


@bp.get("/media/<path:key>")
def serve(key: str) -> Response:
    try:
        check_key(key)
    except ValueError:
        abort(404)
    if not key.startswith(SERVED_PREFIXES):
        abort(404)
    etag = key.rsplit("/", 1)[-1]
    if request.if_none_match.contains(etag):
        return _immutable(Response(status=304), etag)
    storage = get_deps().storage
    try:
        path = storage.local_file(key)
        if path is None:
            # The object store (or the CDN in front of it) carries the bytes and the ranges.
            storage.size(key)
            resp = redirect(storage.direct_url(key, expires=3600), code=302)
            resp.headers["Cache-Control"] = "private, max-age=600"
            return resp
        # send_file answers Range requests, which phones need to play and seek video.
        mime = mimetypes.guess_type(key)[0] or "application/octet-stream"
        resp = send_file(path, mimetype=mime, conditional=True, etag=False)
    except FileNotFoundError:
        abort(404)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return _immutable(resp, etag)


def _immutable(resp: Response, etag: str) -> Response:
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return resp
