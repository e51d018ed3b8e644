"""Every error leaves as application/problem+json under /api, and as a plain page elsewhere."""

from __future__ import annotations

import logging

from flask import Flask, Response, json, render_template, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from materials.errors import Problem
from materials.sharing.wechat import WeChatError, WeChatRefused
from media.storage import StorageError

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5

PROBLEM_JSON = "application/problem+json"


def problem_response(status: int, title: str, detail: str, **extra: object) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


# Public URLs that programs fetch as often as people open them: an <img>, a storefront's
# server, a QR scanner. Their errors follow Accept; the first type is the default for */*.
NEGOTIATED = {
    "/cards/": ("application/problem+json", "application/json", "text/html"),
    "/r/": ("application/problem+json", "application/json", "text/html"),
    "/m/": ("text/html", "application/problem+json", "application/json"),
    "/embed/": ("text/html", "application/problem+json", "application/json"),
}
# Headers an HTTP error carries for the client's sake (405's Allow above all).
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def _wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/wechat/")) or path == "/oembed":
        return True
    for prefix, offered in NEGOTIATED.items():
        if path.startswith(prefix):
            best = request.accept_mimetypes.best_match(offered, default=offered[0])
            return best != "text/html"
    return False


def _keep_headers(exc: HTTPException, resp: Response) -> Response:
    for name, value in exc.get_headers():
        if name in KEPT_HEADERS:
            resp.headers[name] = value
    return resp


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
    503: "服务暂时不可用，请稍后再试。",
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


def _retry_after(exc: Problem, resp: Response) -> Response:
    seconds = getattr(exc, "retry_after", None)
    if seconds is not None:
        resp.headers["Retry-After"] = str(seconds)
    return resp


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def on_problem(exc: Problem) -> Response:
        if not _wants_json():
            return _retry_after(exc, html_error(exc.status, exc.detail, exc.rule))
        resp = Response(
            json.dumps(exc.to_json(), ensure_ascii=False), status=exc.status, mimetype=PROBLEM_JSON
        )
        if exc.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="sucai"'
        return _retry_after(exc, resp)

    @app.errorhandler(StorageError)
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def on_unavailable(exc: Exception) -> Response:
        # A dependency is briefly away: nothing was half-written (uploads clean up what they
        # stored, transactions roll back), so the client may simply try again.
        which = "storage" if isinstance(exc, StorageError) else "database"
        log.warning("%s unavailable: %r", which, exc)
        detail = f"the {which} is briefly unavailable; try again shortly"
        if _wants_json():
            resp = problem_response(503, "Service unavailable", detail, rule=f"{which}_down")
        else:
            resp = html_error(503, detail)
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return resp

    @app.errorhandler(WeChatError)
    def on_wechat(exc: WeChatError) -> Response:
        # WeChat's own words stay in the log: they can name our server's IP or the AppID.
        if isinstance(exc, WeChatRefused):
            log.error("WeChat refused (check the WeChat settings): %s", exc.detail)
        else:
            log.warning("WeChat unavailable: %s", exc.detail)
        detail = "WeChat's API is unavailable right now; try again shortly"
        if _wants_json():
            resp = problem_response(503, "Service unavailable", detail, rule="wechat_down")
        else:
            resp = html_error(503, detail)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.errorhandler(HTTPException)
    def on_http(exc: HTTPException) -> Response:
        if exc.code is None or exc.code < 400:
            return exc.get_response()
        if not _wants_json():
            return _keep_headers(exc, html_error(exc.code))
        rule = {413: "max_bytes", 404: "not_found", 405: "method", 400: "malformed"}.get(
            exc.code, "http"
        )
        resp = problem_response(exc.code, exc.name, exc.description or exc.name, rule=rule)
        return _keep_headers(exc, resp)
