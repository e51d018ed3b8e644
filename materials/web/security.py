"""Browser-facing safety: session cookies, CSRF, security headers, the sign-in rate limit.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure behind https). Every
state-changing request that arrives with our session cookie must carry the session's CSRF token
(header X-CSRF-Token or form field csrf_token), whatever route it targets: the check sits in a
before_request hook, so a route added later cannot forget it. Requests without the cookie (bearer
API clients, storefront servers) are not session-authenticated and so cannot be forged this way.

The embed routes are frameable, cookieless and stateless: the session interface neither reads
nor writes a session for them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface

from materials.errors import Problem
from materials.web.deps import get_deps

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


def _has_session_cookie() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies


def _csrf_guard() -> None:
    if request.method not in UNSAFE_METHODS or is_stateless(request.path):
        return
    if _has_session_cookie() or request.endpoint in CSRF_ALWAYS:
        check_csrf()


# Sign-in and sign-out need a token even without a cookie (login CSRF).
CSRF_ALWAYS = frozenset({"auth.signin", "auth.signout"})


# ---------------------------------------------------------------- headers


def content_security_policy(frameable: bool) -> str:
    # Media may redirect to the object store (S3 backend): images and video load from there.
    media = " ".join(filter(None, ["'self'", get_deps().storage.origin]))
    directives = [
        "default-src 'self'",
        "script-src 'self'",
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


# ---------------------------------------------------------------- sign-in rate limit


class SignInLimiter:
    """Failed sign-ins per (IP, name) and per IP in a sliding window, kept in this process.

    In-process on purpose: no schema change and no extra service, and the password hash
    (scrypt) already makes every guess expensive. The price: with N gunicorn workers an
    attacker gets up to N times the budget, and a restart forgets it.
    """

    def __init__(self, per_name: int = 5, per_ip: int = 30, window: float = 900.0):
        self.per_name, self.per_ip, self.window = per_name, per_ip, window
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, ip: str, name: str) -> int:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in (((ip, name.lower()), self.per_name), ((ip, ""), self.per_ip)):
                q = self._recent(key, now)
                if len(q) >= limit:
                    waits.append(q[0] + self.window - now)
            return int(max(waits)) + 1 if waits else 0

    def failed(self, ip: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._fails) > 100_000:  # bounded memory under a spray of names
                self._fails.clear()
            self._recent((ip, name.lower()), now).append(now)
            self._recent((ip, ""), now).append(now)

    def succeeded(self, ip: str, name: str) -> None:
        with self._lock:
            self._fails.pop((ip, name.lower()), None)


def get_limiter() -> SignInLimiter:
    return current_app.extensions["sucai.signin_limiter"]


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
    app.extensions["sucai.signin_limiter"] = SignInLimiter()
    app.before_request(_csrf_guard)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
