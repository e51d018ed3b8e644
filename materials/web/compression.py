"""Compressed text responses (Flask-Compress): pages, CSS, JavaScript, JSON, SVG.

brotli when the client takes it, else gzip. Never JPEG or MP4 (cards and media are compressed
already; recompressing them burns CPU for nothing), never a body under 500 bytes.

The app compresses, so whatever proxy sits in front must not compress again: in nginx, leave
`gzip` off for the proxied locations (it would skip a response that already has
Content-Encoding, but a `gunzip` or a cleared Accept-Encoding would undo the app's work), and
pass Accept-Encoding through unchanged. Responses carry `Vary: Accept-Encoding` for caches.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_compress import Compress

MIMETYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "image/svg+xml",
]


def init_app(app: Flask) -> None:
    """Call before the other parts register their after_request hooks: Flask runs those in
    reverse, so compression then sees each response last, with every header set."""
    app.config.update(
        COMPRESS_MIMETYPES=MIMETYPES,
        COMPRESS_MIN_SIZE=500,
        # zstd (Flask-Compress's first choice) is left out: few browsers take it yet, and two
        # encodings are two variants for every cache to hold. Streamed bodies (static files)
        # get the same choice; gzip streams fine through zlib.
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],
        COMPRESS_REGISTER=False,  # registered below, with the 206 rule
    )
    compress = Compress()
    compress.init_app(app)

    @app.after_request
    def _compress(resp: Response) -> Response:
        # A 206 is a byte range of the uncompressed file (Content-Range says so): compressing
        # it would make a body that matches neither the range nor the whole.
        if resp.status_code == 206:
            return resp
        body = resp.response
        resp = compress.after_request(resp)
        # Streaming, Flask-Compress swaps the body for a generator over it and never closes
        # the original: a static file stayed open until garbage collection (ResourceWarning).
        if resp.response is not body and hasattr(body, "close"):
            resp.call_on_close(body.close)
        return resp
