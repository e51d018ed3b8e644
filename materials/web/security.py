"""Browser-facing safety: session cookies, CSRF, security headers, rate limits.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure behind https). Every
state-changing request that arrives with our session cookie must carry the session's CSRF token
(header X-CSRF-Token or form field csrf_token), whatever route it targets: the check sits in a
before_request hook (materials/web/auth.py `csrf_guard`, which knows who a request acts for), so
a route added later cannot forget it. The one exception is a request the API authenticates by a
valid bearer token: browsers do not attach that header by themselves, so it cannot be forged
this way, whatever cookie rides along.

Rate limits are Flask-Limiter's, counted in memory on the embedded default and in Redis on the
scale path (SUCAI_RATELIMIT_STORAGE_URL).

The embed routes are frameable, cookieless and stateless: the session interface neither reads
nor writes a session for them.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit, RouteLimit

from materials.errors import Problem
from materials.web.deps import get_deps
from materials.web.errorhandlers import html_error, problem_response

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Paths that never see a session: frameable widgets and public, cacheable pages and bytes.
# Public, cacheable or printed-in-QR paths: they never read or set the session cookie.
STATELESS_PREFIXES = (
    "/embed/",
    "/embed.js",
    "/oembed",
    "/static/",
    "/media/",
    "/m/",
    "/cards/",
    "/r/",
    "/healthz",
    "/wechat/",
)
FRAMEABLE_PREFIXES = ("/embed/", "/embed.js")


class CsrfFailed(Problem):
    status = 403
    title = "CSRF check failed"


def is_stateless(path: str) -> bool:
    return path.startswith(STATELESS_PREFIXES)


def is_frameable(path: str) -> bool:
    return path.startswith(FRAMEABLE_PREFIXES)


class SucaiSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions, except on stateless paths: no read, no Set-Cookie."""

    def open_session(self, app, request):  # noqa: ANN001, ANN201
        if is_stateless(request.path):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:  # noqa: ANN001
        if is_stateless(request.path):
            return
        super().save_session(app, session, response)


# ---------------------------------------------------------------- CSRF
#
# Hand-written on purpose; Flask-WTF's CSRFProtect was tried (WTF_CSRF_CHECK_DEFAULT=False and
# csrf.protect() called from our guard fits the bearer/session split) and does not fit because:
# - its token is a timestamped signature made anew each second (generate_csrf), where ours is
#   one token per session, rotated at sign-in: every form and the pages' <meta> tag carry the
#   same value and the tests pin that;
# - it reads the form body before the header, so a page's multipart upload to the API with
#   X-CSRF-Token would be received and spooled whole in the guard, before the role check and
#   the upload rate limit could refuse it (ours reads the header first);
# - it answers 400 (CSRFError) and checks Referer (only on https), where we answer 403 with a
#   problem+json or page (rule `csrf` / `csrf_origin`) and check Origin. Wrapping all three
#   would leave it doing what a few lines below do: a random token, compared with compare_digest.


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def rotate_csrf() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def _sent_token() -> str:
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        token = request.form.get(CSRF_FIELD)
    return token or ""


def check_csrf() -> None:
    """Refuse an unsafe request whose token does not match the session's, or whose Origin is
    another site's (a second line for browsers that send Origin on every POST)."""
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    try:
        # Host only, not scheme: behind a TLS-terminating proxy the app may see http.
        foreign = bool(origin) and urlsplit(origin).netloc != request.host
    except ValueError:  # "http://[::1" is no origin of ours
        foreign = True
    if foreign:
        raise CsrfFailed("cross-origin request refused", rule="csrf_origin")
    expected = session.get("csrf") or ""
    sent = _sent_token()
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfFailed("missing or wrong CSRF token: reload the page and try again", rule="csrf")


# Sign-in and sign-out need a token even without a cookie (login CSRF).
CSRF_ALWAYS = frozenset({"auth.signin", "auth.signout"})


# ---------------------------------------------------------------- headers


def allow_script_from(origin: str) -> None:
    """This response's page also loads scripts from `origin` (WeChat's JS-SDK, on the pages
    that set WeChat's share card, and only while WeChat is configured)."""
    g.script_origins = (*g.get("script_origins", ()), origin)


def content_security_policy(frameable: bool) -> str:
    # Media may redirect to the object store (S3 backend): images and video load from there.
    media = " ".join(filter(None, ["'self'", get_deps().storage.origin]))
    scripts = " ".join(["'self'", *dict.fromkeys(g.get("script_origins", ()))])
    directives = [
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self'",
        f"img-src {media} data: blob:",
        f"media-src {media} blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-src 'none'",
        "frame-ancestors *" if frameable else "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def _security_headers(resp: Response) -> Response:
    frameable = is_frameable(request.path)
    headers = resp.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(frameable))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if not frameable:
        headers["X-Frame-Options"] = "DENY"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if g.get("private_page"):
        headers["Cache-Control"] = "private, no-store"
    return resp


# ---------------------------------------------------------------- rate limits (Flask-Limiter)


def _redis_options(url: str) -> dict[str, float]:
    # A Redis that does not answer must cost a request half a second, not hang it: the limiter
    # then falls back to counting in memory (see init_rate_limits).
    if url.startswith(("redis://", "rediss://")):
        return {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    return {}


def client_ip() -> str:
    """The client's IP as the proxy (SUCAI_PROXIES, ProxyFix) reports it."""
    return request.remote_addr or "?"


def init_rate_limits(app: Flask) -> None:
    """One Limiter per app, not one per module: a Limiter holds a single storage, and tests and
    tools build several apps in one process. Limits are attached with `limit_view`.

    No I/O here: the Redis client connects on first use, so a process starts while Redis is
    down. When Redis fails at request time the limiter counts in this process's memory instead
    (in_memory_fallback, retried with backoff) and never fails the request (swallow_errors):
    sign-in keeps working, with a per-process limit for as long as Redis is away.
    """
    url = get_deps(app).settings.RATELIMIT_STORAGE_URL
    limiter = Limiter(
        client_ip,
        storage_uri=url,
        storage_options=_redis_options(url),
        # Like the hand-written limiter it replaces: a true sliding window, so 5 failures at the
        # end of one window and 5 at the start of the next are still 10 in a row.
        strategy="moving-window",
        # Several deployments may share one Redis, as their queues do.
        key_prefix=get_deps(app).settings.QUEUE_NAME,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,  # our 429 answers set Retry-After themselves
    )
    limiter.init_app(app)
    app.extensions["sucai.limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def get_limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["sucai.limiter"]


def limit_view(app: Flask, endpoint: str, *limits: RouteLimit) -> None:
    """Apply Flask-Limiter limits to one of this app's views. Its decorators would bind the
    rules to one module-level Limiter at import time; ours is per app (see init_rate_limits),
    so the app's registered view function is wrapped instead, once the blueprint is in."""
    view = app.view_functions[endpoint]
    for limit in limits:
        view = limit(view)
    app.view_functions[endpoint] = view


def retry_after(limit: RequestLimit) -> int:
    """Whole seconds until the limit lets another request through (at least 1)."""
    # window.reset_time, not reset_at: that one adds a second of its own.
    return max(1, math.ceil(limit.window.reset_time - time.time()))


def _too_many_requests(exc: RateLimitExceeded) -> Response:
    if exc.response is not None:  # the limit's own answer (the sign-in page) from on_breach
        return exc.response
    if request.path.startswith("/api/"):
        detail = f"rate limit reached ({exc.description}); try again after Retry-After seconds"
        resp = problem_response(429, "Too Many Requests", detail, rule="rate_limit")
    else:
        resp = html_error(429)
    limit = get_limiter().current_limit
    try:
        if limit is not None:
            resp.headers["Retry-After"] = str(retry_after(limit))
    except Exception:  # the storage went away mid-request: answer without the header
        logger.exception("no Retry-After for a rate-limited request")
    return resp


def mark_private() -> None:
    """This response shows one user's data: never cache it."""
    g.private_page = True


def init_app(app: Flask) -> None:
    secure = get_deps(app).urls.public.startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="sucai_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
    )
    app.session_interface = SucaiSessionInterface()
    init_rate_limits(app)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
