"""What every template may use: URLs (from materials/urls.py), money and time (from
materials/formatting.py), rendition and static file links."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, request, url_for

from materials import formatting
from materials.models import Material
from materials.sharing import jssdk
from materials.sharing.wechat import JSSDK_ORIGIN
from materials.web.deps import get_deps
from materials.web.security import allow_script_from, is_stateless


def rendition_url(material: Material, name: str = "thumb", index: int = 0) -> str | None:
    photos = material.photos
    if index >= len(photos):
        return None
    r = photos[index].rendition(name)
    return get_deps().urls.media(r.key) if r else None


# The photo renditions a srcset may offer, smallest first (thumb 360 px, display ~1080 px).
SRCSET_RENDITIONS = ("thumb", "display")


def photo_srcset(material: Material, index: int = 0) -> str:
    """ "/media/…thumb… 360w, /media/…display… 1080w" for one photo, each by its real width, so
    the browser picks the smallest that fills the slot at the phone's pixel density."""
    photos = material.photos
    if index >= len(photos):
        return ""
    urls = get_deps().urls
    found = (photos[index].rendition(name) for name in SRCSET_RENDITIONS)
    return ", ".join(f"{urls.media(r.key)} {r.width}w" for r in found if r and r.width)


def video_urls(material: Material) -> tuple[str | None, str | None]:
    """(video, poster) of the transcoded video, when it is ready."""
    v = material.video
    if v is None:
        return None, None
    urls = get_deps().urls
    video, poster = v.rendition("video"), v.rendition("poster")
    return (urls.media(video.key) if video else None, urls.media(poster.key) if poster else None)


def wechat_share(material: Material, code: str | None) -> dict | None:
    """The page's WeChat share data (and a CSP that lets it load the JS-SDK); None, and no
    script at all, while WeChat is not configured."""
    data = jssdk.page_data(get_deps(), material, code)
    if data is not None:
        allow_script_from(JSSDK_ORIGIN)
    return data


def local_time(when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return formatting.local_time(when, get_deps().settings.TIMEZONE, fmt)


def static_url(filename: str) -> str:
    """A static file's URL with its modification time, so browsers never run stale JS."""
    folder = Path(current_app.static_folder or "static")
    try:
        version = int((folder / filename).stat().st_mtime)
    except OSError:
        version = 0
    return url_for("static", filename=filename, v=version)


def _template_context() -> dict:
    return {"stateless": is_stateless(request.path), "urls": get_deps().urls}


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.filters["money"] = formatting.yuan_short
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["rendition_url"] = rendition_url
    app.jinja_env.globals["photo_srcset"] = photo_srcset
