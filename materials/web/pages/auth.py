"""Signing in and out, and the root that sends each role to its home."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, redirect, render_template, request, url_for

from materials.accounts import check_password, user_by_name
from materials.models import OPS, SELLER, User
from materials.web import templating
from materials.web.auth import session_user, sign_in, sign_out
from materials.web.deps import get_deps
from materials.web.security import get_limiter, mark_private

bp = Blueprint("auth", __name__)
HOMES = {OPS: "ops.index", SELLER: "seller.feed"}


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


@bp.post("/signin")
def signin() -> Response:
    mark_private()
    name = request.form.get("name", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    ip = request.remote_addr or "?"
    limiter = get_limiter()
    wait = limiter.retry_after(ip, name)
    if wait:
        minutes = max(1, round(wait / 60))
        return _refuse(name, f"尝试次数过多，请 {minutes} 分钟后再试。", 429, wait)
    user = user_by_name(get_deps().db, name) if name else None
    ok = check_password(user, password)
    if not (user and ok and user.role in HOMES):
        limiter.failed(ip, name)
        return _refuse(name, "用户名或密码不对。", 401)
    limiter.succeeded(ip, name)
    sign_in(user)
    return redirect(_safe_next(request.form.get("next")) or home_for(user), code=303)


@bp.post("/signout")
def signout() -> Response:
    sign_out()
    return redirect(url_for("auth.signin"), code=303)


def init_app(app: Flask) -> None:
    templating.init_app(app)
    app.register_blueprint(bp)
