"""Bearer tokens for the JSON API: `Authorization: Bearer <token>`; signed-in sessions for the
pages (and for the API when the pages call it, with the CSRF token in X-CSRF-Token).

Who a request acts for is decided here once, and so is whether it needs the CSRF check: a
request the API authenticates by a valid bearer token never does (browsers do not attach that
header by themselves, so whatever cookie rides along cannot make it a forgery); a request that
carries the session cookie does; sign-in and sign-out always do (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from materials.accounts import user_by_id, user_for_token
from materials.errors import Forbidden, Unauthorized
from materials.models import User
from materials.web.deps import get_deps
from materials.web.security import (
    CSRF_ALWAYS,
    UNSAFE_METHODS,
    check_csrf,
    get_limiter,
    is_stateless,
    limit_view,
    mark_private,
    rotate_csrf,
)


def bearer_user() -> User | None:
    """The user of a valid `Authorization: Bearer` token, looked up once per request."""
    if "bearer_user" not in g:
        g.bearer_user = _lookup_bearer()
    return g.bearer_user


def _lookup_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    return user_for_token(get_deps().db, token.strip())


def api_user() -> User | None:
    """Who an API request acts for: the bearer token's user; with no Authorization header at
    all, the signed-in session's (a page calling the API)."""
    user = bearer_user()
    if user is None and "Authorization" not in request.headers:
        user = session_user()
    return user


def require_role(*roles: str) -> Callable:
    """The route needs a bearer token (or a signed-in session) of a user holding one of `roles`.
    The CSRF check of session requests already ran in `csrf_guard`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = api_user()
            if user is None:
                raise Unauthorized(
                    "a valid bearer token (or a signed-in session) is required", rule="token"
                )
            if user.role not in roles:
                raise Forbidden(
                    f"this needs the {' or '.join(roles)} role; you are {user.role}", rule="role"
                )
            g.user = user
            return view(*args, **kwargs)

        wrapped.accepts_bearer = True  # read by csrf_guard
        return wrapped

    return decorate


def _bearer_authenticated() -> bool:
    """This route takes bearer tokens (the pages never do) and the request has a valid one."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "accepts_bearer", False) and bearer_user() is not None


def _has_session_cookie() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def csrf_guard() -> None:
    """before_request: the CSRF rule for every route (see the module docstring)."""
    if request.method not in UNSAFE_METHODS or is_stateless(request.path):
        return
    if request.endpoint in CSRF_ALWAYS:
        check_csrf()
    elif _has_session_cookie() and not _bearer_authenticated():
        check_csrf()


# ---------------------------------------------------------------- sessions (pages)


def _password_fingerprint(user: User) -> str:
    """Changes when the password does, so a new password signs every old session out."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def session_user() -> User | None:
    """The signed-in user of this request's session cookie, or None."""
    if "session_user" in g:
        return g.session_user
    user = None
    uid, fingerprint = session.get("uid"), session.get("pw")
    if isinstance(uid, int) and isinstance(fingerprint, str):
        found = user_by_id(get_deps().db, uid)
        if found is not None and found.password_hash:
            if hmac.compare_digest(fingerprint, _password_fingerprint(found)):
                user = found
    g.session_user = user
    return user


def sign_in(user: User) -> None:
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["pw"] = _password_fingerprint(user)
    rotate_csrf()
    g.session_user = user


def sign_out() -> None:
    session.clear()
    g.session_user = None


def page_role(*roles: str) -> Callable:
    """A page for signed-in users holding one of `roles`; others are sent to sign in."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = session_user()
            if user is None:
                return redirect(url_for("auth.signin", next=request.full_path.rstrip("?")))
            if user.role not in roles:
                abort(403)
            g.user = user
            mark_private()
            return view(*args, **kwargs)

        return wrapped

    return decorate


# ---------------------------------------------------------------- per-user limits


def _user_key() -> str:
    user = api_user()
    return f"user:{user.id}" if user else ""


def _limit_uploads(app: Flask) -> None:
    """SUCAI_UPLOAD_RATE_LIMIT per user on POST /api/v1/materials and /posts; empty: no limit.

    The limit runs before the view's role check, so it asks `api_user()` itself (cached for the
    view); a request nobody is signed in for is not counted, the view answers it 401."""
    rule = get_deps(app).settings.UPLOAD_RATE_LIMIT
    if not rule:
        return
    upload = get_limiter(app).limit(
        rule, key_func=_user_key, scope="upload", exempt_when=lambda: api_user() is None
    )
    limit_view(app, "api.create", upload)
    limit_view(app, "posts_api.create", upload)  # a post is an upload too: the same count


def init_app(app: Flask) -> None:
    """After the blueprints: the CSRF guard for every route, and the per-user limits."""
    app.before_request(csrf_guard)
    _limit_uploads(app)
