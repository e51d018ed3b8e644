"""WeChat credentials, one copy for every process and node (materials/platform/servicetokens.py):
each app's access_token, and the official account's jsapi_ticket.

Two WeChat apps take part, each with its own AppID, secret and access_token: the official
account (公众号), whose jsapi_ticket signs the JS-SDK on our pages, and the mini-program, whose
token fetches 小程序码. Rows are named by AppID, so the two never share one and a changed AppID
never reads the previous one's token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from materials.platform import servicetokens
from materials.platform.deps import Deps
from materials.platform.servicetokens import Fetched, TokenUnavailable
from materials.sharing.wechat import WeChatClient, WeChatTokenInvalid, WeChatUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class WeChatApp:
    app_id: str
    secret: str


def official_account(deps: Deps) -> WeChatApp | None:
    """The 公众号 whose JS-SDK our pages use; None unless both settings are set."""
    s = deps.settings
    if not (s.WECHAT_APP_ID and s.WECHAT_APP_SECRET):
        return None
    return WeChatApp(s.WECHAT_APP_ID, s.WECHAT_APP_SECRET)


def mini_program(deps: Deps) -> WeChatApp | None:
    """The mini-program whose 小程序码 the moments card carries; None unless configured."""
    s = deps.settings
    if not (s.WECHAT_MINIPROGRAM_APP_ID and s.WECHAT_MINIPROGRAM_SECRET):
        return None
    return WeChatApp(s.WECHAT_MINIPROGRAM_APP_ID, s.WECHAT_MINIPROGRAM_SECRET)


def client(deps: Deps) -> WeChatClient:
    return WeChatClient(deps.settings.WECHAT_API_URL, deps.settings.WECHAT_TIMEOUT_SECONDS)


def access_token(deps: Deps, app: WeChatApp, reject: str | None = None) -> str:
    """`app`'s access_token; a new one if the cached one is `reject` (WeChat refused it)."""
    fetch = lambda: client(deps).access_token(app.app_id, app.secret)  # noqa: E731
    return _cached(deps, f"wechat:{app.app_id}:access_token", fetch, reject)


def jsapi_ticket(deps: Deps, app: WeChatApp) -> str:
    fetch = lambda: with_token(deps, app, client(deps).jsapi_ticket)  # noqa: E731
    return _cached(deps, f"wechat:{app.app_id}:jsapi_ticket", fetch)


def with_token(deps: Deps, app: WeChatApp, call: Callable[[str], T]) -> T:
    """`call(access_token)`, and once more with a new token if WeChat refused the cached one
    (40001: another fetcher outside Sucai retired it, or WeChat revoked it early)."""
    token = access_token(deps, app)
    try:
        return call(token)
    except WeChatTokenInvalid:
        return call(access_token(deps, app, reject=token))


def _cached(deps: Deps, name: str, fetch: Callable[[], Fetched], reject: str | None = None) -> str:
    try:
        return servicetokens.get(deps.db, name, fetch, reject=reject)
    except TokenUnavailable as exc:
        raise WeChatUnavailable(f"WeChat {exc.reason}", retry_after=exc.retry_after) from None
