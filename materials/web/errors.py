"""Every error leaves as application/problem+json under /api, and as a plain page elsewhere."""

from __future__ import annotations

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from materials.errors import Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(status: int, title: str, detail: str, **extra: object) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/oembed"


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def on_problem(exc: Problem) -> Response:
        resp = Response(
            json.dumps(exc.to_json(), ensure_ascii=False), status=exc.status, mimetype=PROBLEM_JSON
        )
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="sucai"'
        return resp

    @app.errorhandler(HTTPException)
    def on_http(exc: HTTPException) -> Response:
        if not _wants_json():
            return exc.get_response()
        rule = {413: "max_bytes", 404: "not_found", 405: "method", 400: "malformed"}.get(
            exc.code or 500, "http"
        )
        return problem_response(exc.code or 500, exc.name, exc.description or exc.name, rule=rule)
