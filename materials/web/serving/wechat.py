"""GET /wechat/jssdk-config?url=<page>: a signed wx.config for one of our pages (a stable public
URL; stateless, no session). 404 while WeChat is not configured; errors are problem+json."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from materials.sharing import jssdk
from materials.web.deps import get_deps

bp = Blueprint("wechat", __name__)


@bp.get("/wechat/jssdk-config")
def jssdk_config() -> Response:
    resp = jsonify(jssdk.config(get_deps(), request.args.get("url", "")))
    # A fresh nonce and timestamp every time, for one page's URL: nothing worth caching.
    resp.headers["Cache-Control"] = "no-store"
    return resp
