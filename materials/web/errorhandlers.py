"""Every error leaves as application/problem+json under /api, and as a plain page elsewhere."""

from __future__ import annotations

from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException

from materials.errors import Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(status: int, title: str, detail: str, **extra: object) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/oembed"


# What a person sees on a page (the JSON keeps the precise English detail).
PAGE_MESSAGES = {
    400: "请求有误，请返回重试。",
    401: "请先登录。",
    403: "你没有权限访问这个页面；如果刚刚登录过，请刷新后再试。",
    404: "找不到这个页面，素材可能已下架或链接有误。",
    405: "不支持这种访问方式。",
    409: "操作与当前状态冲突，请刷新后再试。",
    413: "文件太大了。",
    422: "填写的内容有误。",
    429: "操作太频繁，请稍后再试。",
}


RULE_MESSAGES = {
    "csrf": "页面已过期，请刷新页面后再试一次。",
    "csrf_origin": "请求来自其他网站，已拒绝。",
}


def html_error(status: int, detail: str = "", rule: str = "") -> Response:
    """A plain, friendly error page for people (never for /api or /oembed)."""
    message = RULE_MESSAGES.get(rule) or PAGE_MESSAGES.get(status, "出错了，请稍后再试。")
    body = render_template("errors/error.html", status=status, message=message, detail=detail)
    return Response(body, status=status, mimetype="text/html")


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def on_problem(exc: Problem) -> Response:
        if not _wants_json():
            return html_error(exc.status, exc.detail, exc.rule)
        resp = Response(
            json.dumps(exc.to_json(), ensure_ascii=False), status=exc.status, mimetype=PROBLEM_JSON
        )
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="sucai"'
        return resp

    @app.errorhandler(HTTPException)
    def on_http(exc: HTTPException) -> Response:
        if not _wants_json():
            if exc.code is None or exc.code < 400:
                return exc.get_response()
            return _kept_headers(exc, html_error(exc.code))
        rule = {413: "max_bytes", 404: "not_found", 405: "method", 400: "malformed"}.get(
            exc.code or 500, "http"
        )
        resp = problem_response(exc.code or 500, exc.name, exc.description or exc.name, rule=rule)
        return _kept_headers(exc, resp)


# What a client needs from werkzeug's own answer: the methods a 405 allows (RFC 9110 requires
# it), when to retry.
KEPT_HEADERS = ("Allow", "Retry-After")


def _kept_headers(exc: HTTPException, resp: Response) -> Response:
    for name, value in exc.get_headers():
        if name in KEPT_HEADERS:
            resp.headers[name] = value
    return resp
