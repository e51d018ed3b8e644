"""WeChat's JS-SDK on our pages: a signed wx.config for one of our page URLs, and the share data
(title, a copy excerpt, the seller's link, the square card) the page hands to
updateAppMessageShareData and updateTimelineShareData.

WeChat ignores OpenGraph for the card a forwarded link shows (shared/FACTS.md): without this, a
link forwarded from WeChat's browser shows a bare URL. It is off unless the official account is
configured (SUCAI_WECHAT_APP_ID and SUCAI_WECHAT_APP_SECRET); the page then carries no script
for it and the config URL is 404.
"""

from __future__ import annotations

import secrets
import string
import time
from urllib.parse import SplitResult, urlsplit

from materials.errors import Invalid, NotFound, Problem
from materials.formatting import excerpt
from materials.models import Material
from materials.platform.deps import Deps
from materials.sharing import credentials
from materials.sharing.wechat import JSSDK_SCRIPT, jssdk_signature

JS_API_LIST = ("updateAppMessageShareData", "updateTimelineShareData")
NONCE_CHARS = string.ascii_letters + string.digits
DESC_CHARS = 60  # WeChat's link card shows two short lines of it
MAX_URL_CHARS = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}


def configured(deps: Deps) -> bool:
    return credentials.official_account(deps) is not None


def config(deps: Deps, url: str) -> dict:
    """What wx.config needs for the page at `url` (on SUCAI_PUBLIC_URL's origin): appId,
    timestamp, nonceStr, signature. Problem for another origin or a malformed URL; NotFound
    while WeChat is not configured; WeChatError when its API cannot give us a ticket."""
    app = credentials.official_account(deps)
    if app is None:
        raise NotFound("WeChat is not configured here", rule="not_found")
    page = page_url(deps, url)
    ticket = credentials.jsapi_ticket(deps, app)
    nonce = "".join(secrets.choice(NONCE_CHARS) for _ in range(16))
    timestamp = int(time.time())
    return {
        "appId": app.app_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jssdk_signature(ticket, nonce, timestamp, page),
    }


def page_url(deps: Deps, url: str) -> str:
    """`url` without its #fragment, if it is a well-formed URL on our public origin. A page's
    location.href is always printable ASCII (browsers percent-encode it), so anything else is
    malformed rather than a page of ours."""
    if not url:
        raise Problem("url is required", field="url", rule="required")
    if len(url) > MAX_URL_CHARS or not all("!" <= ch <= "~" for ch in url):
        raise Problem("url is not a page URL", field="url", rule="malformed")
    try:
        parts = urlsplit(url)
        origin = _origin(parts)
    except ValueError:  # "http://[::1", a port that is no number
        raise Problem("url is not a page URL", field="url", rule="malformed") from None
    if origin is None:
        raise Problem("url must be an absolute http(s) URL", field="url", rule="malformed")
    if origin != _origin(urlsplit(deps.urls.public)) or parts.username or parts.password:
        raise Invalid(f"url must be a page on {deps.urls.public}", field="url", rule="origin")
    return url.split("#", 1)[0]


def _origin(parts: SplitResult) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None for a URL without one."""
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme]


def page_data(deps: Deps, material: Material, code: str | None) -> dict | None:
    """What a page's script needs to set WeChat's share card; None while WeChat is off."""
    if not configured(deps):
        return None
    return {
        "sdk": JSSDK_SCRIPT,
        "config": deps.urls.jssdk_config(),
        "jsApiList": list(JS_API_LIST),
        "share": share_data(deps, material, code),
    }


def share_data(deps: Deps, material: Material, code: str | None) -> dict:
    """The card a forward from WeChat shows: with a seller's code, their referral link (every
    tap is theirs, counted at /r/) and their square card; without, the share page and photo."""
    urls = deps.urls
    if code:
        link = urls.referral(code, material.id)
        image = urls.absolute(urls.card(material.id, code, "square"))
    else:
        link, image = urls.absolute(urls.share(material.id)), _photo(deps, material)
    return {
        "title": material.title,
        "desc": excerpt(material.copy or material.title, DESC_CHARS),
        "link": link,
        "imgUrl": image,
    }


def _photo(deps: Deps, material: Material) -> str:
    photo = material.photos[0] if material.photos else None
    rendition = photo.rendition("display") if photo else None
    return deps.urls.absolute(deps.urls.media(rendition.key)) if rendition else ""
