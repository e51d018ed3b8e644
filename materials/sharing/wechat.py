"""WeChat's HTTP API, as much of it as Sucai uses: access_token, the JS-SDK's jsapi_ticket, and
the mini-program code (wxacode.getUnlimited). WeChat's errcodes come back as plain errors:

- `WeChatUnavailable`: unreachable, timed out, busy (-1) or rate-limited (45009): try later;
- `WeChatTokenInvalid`: the access_token was refused (40001, 40014, 42001): fetch a new one;
- `WeChatRefused`: anything else, which is configuration (a wrong secret, an IP not on the
  account's whitelist, an unpublished page) and will not heal by itself.

The base URL is a setting (SUCAI_WECHAT_API_URL), so the tests point it at a local stand-in that
speaks the same documented endpoints. Building a client does no I/O. No Flask in here.

The app secret travels in the query string (that is WeChat's API); no error message or log line
here ever includes a request URL.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from materials.platform.servicetokens import BACKOFF_SECONDS, Fetched

# The JS-SDK is loaded from WeChat itself: the CSP of a page that uses it allows this origin.
JSSDK_ORIGIN = "https://res.wx.qq.com"
JSSDK_SCRIPT = f"{JSSDK_ORIGIN}/open/js/jweixin-1.6.0.js"
MAX_JSON_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # a 1280 px code is a few hundred KB

BUSY = {-1, 45009, 45011}  # system busy; API rate limits
TOKEN_REFUSED = {40001, 40014, 42001}  # invalid, malformed or expired access_token


class WeChatError(Exception):
    """Something WeChat would not or could not do; `retry_after` is a hint in seconds."""

    def __init__(self, detail: str, errcode: int | None = None, retry_after: int = 0) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errcode = errcode
        self.retry_after = retry_after or BACKOFF_SECONDS


class WeChatUnavailable(WeChatError):
    """Unreachable, slow or busy: the same request may work shortly."""


class WeChatTokenInvalid(WeChatError):
    """The access_token was refused: fetch a new one, then try once more."""


class WeChatRefused(WeChatError):
    """A refusal that is about our configuration (secret, IP whitelist, page)."""


def error_for(errcode: int, errmsg: str) -> WeChatError:
    detail = f"WeChat errcode {errcode}: {errmsg}"
    if errcode in BUSY:
        return WeChatUnavailable(detail, errcode)
    if errcode in TOKEN_REFUSED:
        return WeChatTokenInvalid(detail, errcode)
    return WeChatRefused(detail, errcode)


@dataclass(frozen=True)
class WeChatClient:
    base_url: str  # https://api.weixin.qq.com, or the tests' stand-in
    timeout: float  # seconds, per call: a page waits for this at most

    def access_token(self, app_id: str, secret: str) -> Fetched:
        """GET /cgi-bin/token: an app's access_token (7200 s)."""
        query = {"grant_type": "client_credential", "appid": app_id, "secret": secret}
        body = self._json(self._get("/cgi-bin/token", query))
        return _fetched(body, "access_token")

    def jsapi_ticket(self, access_token: str) -> Fetched:
        """GET /cgi-bin/ticket/getticket: the JS-SDK's signing ticket (7200 s)."""
        query = {"access_token": access_token, "type": "jsapi"}
        body = self._json(self._get("/cgi-bin/ticket/getticket", query))
        return _fetched(body, "ticket")

    def wxacode_unlimited(self, access_token: str, scene: str, page: str, width: int) -> bytes:
        """POST /wxa/getwxacodeunlimit: a mini-program code (JPEG or PNG bytes) opening `page`
        with `scene`. check_path is off so that a page not yet released can be printed."""
        payload = {"scene": scene, "page": page, "width": width, "check_path": False}
        data = self._post("/wxa/getwxacodeunlimit", {"access_token": access_token}, payload)
        if data[:1] == b"{":  # an error is JSON, whatever its Content-Type says
            self._json(data)
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            raise WeChatUnavailable("WeChat answered something that is not an image")
        return data

    # -- HTTP ---------------------------------------------------------------------------------

    def _get(self, path: str, query: dict[str, str]) -> bytes:
        request = urllib.request.Request(f"{self.base_url}{path}?{urlencode(query)}")
        return self._send(request, MAX_JSON_BYTES)

    def _post(self, path: str, query: dict[str, str], payload: dict[str, Any]) -> bytes:
        request = urllib.request.Request(
            f"{self.base_url}{path}?{urlencode(query)}",
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._send(request, MAX_IMAGE_BYTES)

    def _send(self, request: urllib.request.Request, limit: int) -> bytes:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310
                data = resp.read(limit + 1)
        except urllib.error.HTTPError as exc:
            # WeChat answers errors with 200 and an errcode; a 5xx is the gateway in front.
            raise WeChatUnavailable(f"WeChat answered HTTP {exc.code}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WeChatUnavailable(f"WeChat unreachable: {reason}") from None
        if len(data) > limit:
            raise WeChatUnavailable(f"WeChat's answer is larger than {limit} bytes")
        return data

    def _json(self, data: bytes) -> dict[str, Any]:
        try:
            body = json.loads(data)
        except ValueError:
            raise WeChatUnavailable("WeChat answered something that is not JSON") from None
        if not isinstance(body, dict):
            raise WeChatUnavailable("WeChat answered JSON that is not an object")
        errcode = body.get("errcode") or 0
        if errcode != 0:
            raise error_for(int(errcode), str(body.get("errmsg", "")))
        return body


def _fetched(body: dict[str, Any], field: str) -> Fetched:
    value, expires_in = body.get(field), body.get("expires_in")
    if not isinstance(value, str) or not value or not isinstance(expires_in, int):
        raise WeChatUnavailable(f"WeChat's answer has no {field} and expires_in")
    return Fetched(value, expires_in)


def jssdk_signature(ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """The JS-SDK's wx.config signature: sha1 of the fields sorted by name, joined as
    key=value&..., the values raw (not URL-encoded), the URL without its #fragment."""
    fields = {
        "jsapi_ticket": ticket,
        "noncestr": noncestr,
        "timestamp": str(timestamp),
        "url": url.split("#", 1)[0],
    }
    plain = "&".join(f"{key}={fields[key]}" for key in sorted(fields))
    return hashlib.sha1(plain.encode()).hexdigest()  # noqa: S324 - WeChat's algorithm
