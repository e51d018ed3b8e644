"""What every request meets at the edge, whatever route it targets.

- A NUL character in a query parameter is refused (422 naming it): PostgreSQL cannot store or
  compare text holding one, and every filter would otherwise be a 500. The free-text search
  box `q` is the exception: people paste anything there, so it is answered, and the queries
  drop the NUL (materials/catalogue/browse.py `contains`; the search analyzer ignores it).
- A body the view never read is drained (up to DRAIN_LIMIT) before the answer goes out. An
  endpoint that refuses early (401, 403, 413) leaves the client's upload unread in the socket;
  closing a socket with unread data makes the kernel send a reset, and the client sees
  "connection reset" instead of our answer. Past the limit the connection is closed instead of
  reading hundreds of megabytes for nothing (nginx, in the production shape, buffers bodies
  anyway).
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from materials.errors import Invalid

DRAIN_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024


def _refuse_nul() -> None:
    for name, value in request.args.items(multi=True):
        if name == "q":
            continue
        if "\x00" in name or "\x00" in value:
            field = name.replace("\x00", "")
            raise Invalid(f"{field} contains a NUL character", field=field, rule="control_chars")


def _drain(resp: Response) -> Response:
    if not request.content_length and request.headers.get("Transfer-Encoding") != "chunked":
        return resp
    try:
        stream = request.stream
    except RequestEntityTooLarge:  # over MAX_CONTENT_LENGTH: werkzeug will not read it at all
        resp.headers["Connection"] = "close"
        return resp
    drained = 0
    while drained <= DRAIN_LIMIT:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return resp
        drained += len(chunk)
    resp.headers["Connection"] = "close"
    return resp


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul)
    app.after_request(_drain)
