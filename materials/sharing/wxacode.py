"""小程序码 for the `moments` card: WeChat's wxacode.getUnlimited code, which opens the page
SUCAI_WECHAT_MINIPROGRAM_PAGE of our mini-program with a scene naming seller and material
(urls.scene: c=<code>&m=<id>).

- Fetched once per (seller, material), however many requests and processes ask: it goes through
  the card store (cardstore.py: a claim row, then a stored object), under
  cards/<material>/wxacode/, outside the per-version folders, since the code does not change
  when the material's copy does. WeChat's codes from this API never expire.
- Within WeChat's rate limit (5000 a minute for the account): fetches are paced for every
  process together at SUCAI_WECHAT_WXACODE_PER_SECOND (materials/platform/pacing.py); a request
  that would wait more than MAX_WAIT_SECONDS for its turn is a 503 instead.
- With the mini-program's own access_token (credentials.py), cached like the official
  account's, and fetched again once if WeChat refuses it.
- Stored as PNG once it has decoded as an image of a sane size: what WeChat answered is never
  stored unread.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass

from PIL import Image

from materials.platform import pacing
from materials.platform.deps import Deps
from materials.sharing import cardstore, credentials
from materials.sharing.cardstore import Wanted
from materials.sharing.wechat import WeChatUnavailable
from media.cards import Layout

MIN_WIDTH, MAX_WIDTH = 280, 1280  # what WeChat draws
MAX_WAIT_SECONDS = 5
SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
PACE = "wechat:wxacode"


def configured(deps: Deps) -> bool:
    page = deps.settings.WECHAT_MINIPROGRAM_PAGE
    return credentials.mini_program(deps) is not None and bool(page)


@dataclass(frozen=True)
class Wxacode:
    """Which code: the same four values always give the same stored code."""

    app_id: str
    page: str
    scene: str
    width: int

    @property
    def identity(self) -> str:
        """What a card carrying this code depends on (part of its cache key)."""
        return json.dumps(["wxacode", self.app_id, self.page, self.scene, self.width])


def scene(deps: Deps, code: str, material_id: int) -> str:
    value = deps.urls.scene(code, material_id)
    if not SCENE_RE.fullmatch(value):
        raise ValueError(f"scene {value!r} is not one WeChat takes")
    return value


def wanted(deps: Deps, code: str, material_id: int, layout: Layout) -> Wxacode:
    """The code for the seller with `code` and this material, drawn at the layout's box size
    (WeChat's smallest, 280 px, for a 259 px box: scaled down a little, never up)."""
    width = min(MAX_WIDTH, max(MIN_WIDTH, layout.scan.w))
    app_id = deps.settings.WECHAT_MINIPROGRAM_APP_ID
    page = deps.settings.WECHAT_MINIPROGRAM_PAGE
    return Wxacode(app_id, page, scene(deps, code, material_id), width)


def image(deps: Deps, material_id: int, code: str, wx: Wxacode) -> Image.Image:
    """The decoded code: from storage when fetched already, else fetched once and stored."""
    want = Wanted(
        cache_key=hashlib.sha256(wx.identity.encode()).hexdigest(),
        material_id=material_id,
        kind="wxacode",
        key_prefix=f"cards/{material_id}/wxacode/{code.lower()}",
        ext="png",
        mime="image/png",
        render=lambda: fetch(deps, wx),
    )
    data, _ = cardstore.get_or_render(deps, want)
    with Image.open(io.BytesIO(data), formats=["PNG"]) as stored:
        stored.load()
        return stored.copy()


def fetch(deps: Deps, wx: Wxacode) -> bytes:
    """Ask WeChat for the code, in our turn, with the mini-program's token; PNG bytes."""
    app = credentials.mini_program(deps)
    if app is None:
        raise WeChatUnavailable("no mini-program is configured")
    client = credentials.client(deps)

    def call(token: str) -> bytes:
        _wait_for_turn(deps)
        return client.wxacode_unlimited(token, wx.scene, wx.page, wx.width)

    return _as_png(credentials.with_token(deps, app, call))


def _wait_for_turn(deps: Deps) -> None:
    per_second = deps.settings.WECHAT_WXACODE_PER_SECOND
    try:
        pacing.pace(deps.db, PACE, per_second, MAX_WAIT_SECONDS)
    except pacing.TooBusy as exc:
        detail = "too many 小程序码 asked for at once"
        raise WeChatUnavailable(detail, retry_after=exc.retry_after) from None


def _as_png(data: bytes) -> bytes:
    """`data` re-encoded as PNG, if it is a JPEG or PNG of a size WeChat draws."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as picture:
            if not (
                100 <= picture.width <= 2 * MAX_WIDTH and 100 <= picture.height <= 2 * MAX_WIDTH
            ):
                raise ValueError(f"a {picture.width}x{picture.height} 小程序码")
            picture.load()
            out = io.BytesIO()
            picture.save(out, "PNG")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise WeChatUnavailable(f"WeChat's 小程序码 is not a usable image: {exc}") from None
    return out.getvalue()
