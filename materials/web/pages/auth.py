"""Signing in and out, and the root that sends each role to its home."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, redirect, render_template, request, url_for
from flask_limiter import Limiter, RequestLimit, RouteLimit
from limits import parse as parse_limit

from materials.accounts import check_password, user_by_name
from materials.models import OPS, SELLER, User
from materials.web import templating
from materials.web.auth import session_user, sign_in, sign_out
from materials.web.deps import get_deps
from materials.web.security import client_ip, get_limiter, limit_view, mark_private, retry_after

bp = Blueprint("auth", __name__)
HOMES = {OPS: "ops.index", SELLER: "seller.feed"}
# Failed sign-ins, per IP and name and per IP (a spray of names from one place). Only failures
# count (deduct_when: answered 401); once over, even the right password waits.
PER_NAME = "5 per 15 minutes"
PER_IP = "30 per 15 minutes"
logger = logging.getLogger(__name__)


def home_for(user: User) -> str:
    return url_for(HOMES[user.role]) if user.role in HOMES else url_for("auth.signin")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no //host, no backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\r\n\t"):
        return None
    return target


@bp.get("/")
def root() -> Response:
    user = session_user()
    return redirect(home_for(user) if user else url_for("auth.signin"))


@bp.get("/signin")
def signin_form() -> Response | str:
    user = session_user()
    if user and user.role in HOMES:
        return redirect(_safe_next(request.args.get("next")) or home_for(user))
    mark_private()
    return render_template("auth/signin.html", next=request.args.get("next", ""), name="")


def _refuse(name: str, message: str, status: int, retry_after: int = 0) -> Response:
    body = render_template(
        "auth/signin.html", next=request.form.get("next", ""), name=name, error=message
    )
    resp = Response(body, status=status, mimetype="text/html")
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def _form_name() -> str:
    return request.form.get("name", "").strip()[:64]


def _ip_and_name() -> str:
    return f"{client_ip()} {_form_name().lower()}"


def _failed(resp: Response) -> bool:
    return resp.status_code == 401


def _too_many_attempts(limit: RequestLimit) -> Response:
    mark_private()  # on_breach runs before the view, which would have said so
    wait = retry_after(limit)
    minutes = max(1, round(wait / 60))
    return _refuse(_form_name(), f"尝试次数过多，请 {minutes} 分钟后再试。", 429, wait)


def _signin_limits(limiter: Limiter) -> tuple[RouteLimit, ...]:
    common = {"deduct_when": _failed, "on_breach": _too_many_attempts, "methods": ["POST"]}
    return (
        limiter.limit(PER_NAME, key_func=_ip_and_name, scope="name", **common),
        limiter.limit(PER_IP, key_func=client_ip, scope="ip", **common),
    )


def _forget_failures() -> None:
    """A success wipes this (IP, name)'s failures, as a person who finally typed it right
    expects; the per-IP count stays, or one good account would reset a spray."""
    limiter = get_limiter()
    per_name = parse_limit(PER_NAME)
    for limit in limiter.current_limits:
        if limit.limit == per_name:
            try:  # request_args: the (prefix, key, scope) this request was counted under
                limiter.limiter.clear(limit.limit, *limit.request_args)
            except Exception:  # the storage went away: the failures simply expire
                logger.exception("could not clear sign-in failures")


@bp.post("/signin")
def signin() -> Response:
    """Rate limited by `_signin_limits` (attached in init_app)."""
    mark_private()
    name = _form_name()
    password = request.form.get("password", "")[:1024]
    user = user_by_name(get_deps().db, name) if name else None
    ok = check_password(user, password)
    if not (user and ok and user.role in HOMES):
        return _refuse(name, "用户名或密码不对。", 401)
    _forget_failures()
    sign_in(user)
    return redirect(_safe_next(request.form.get("next")) or home_for(user), code=303)


@bp.post("/signout")
def signout() -> Response:
    sign_out()
    return redirect(url_for("auth.signin"), code=303)


def init_app(app: Flask) -> None:
    templating.init_app(app)
    app.register_blueprint(bp)
    limit_view(app, "auth.signin", *_signin_limits(get_limiter(app)))
