"""Materials for search tests, made cheaply: real rows through the real transaction and change
log (no renditions are rendered; the thumbnail rendition row points at a made-up key)."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime

from flask import Flask

from materials.catalogue import lifecycle as service
from materials.indexing.documents import live_versions
from materials.indexing.follower import read_state
from materials.models import DRAFT, READY, Asset, Material, MaterialTag, Rendition
from materials.platform.deps import get_deps
from search import SearchIndex


def _asset(kind: str, position: int, material_key: str) -> Asset:
    key = f"originals/test/{material_key}-{position}.{'mp4' if kind == 'video' else 'jpg'}"
    asset = Asset(
        kind=kind,
        position=position,
        backend="local",
        key=key,
        sha256=hashlib.sha256(key.encode()).hexdigest(),
        size=1000,
        mime="video/mp4" if kind == "video" else "image/jpeg",
        status=READY,
    )
    name = "poster" if kind == "video" else "thumb"
    asset.renditions = [
        Rendition(
            name=name,
            backend="local",
            key=f"renditions/t/{material_key}-{position}.jpg",
            mime="image/jpeg",
            size=100,
            width=360,
            height=360,
        )
    ]
    return asset


def make_material(
    app: Flask,
    title: str,
    *,
    copy: str = "",
    price_cents: int = 8900,
    brand: str = "",
    category: str = "",
    tags: tuple[str, ...] = (),
    video: bool = False,
    status: str = READY,
    publish: bool = True,
    publish_at: datetime | None = None,
    take_down_at: datetime | None = None,
    forward_count: int = 0,
    product_url: str = "https://shop.example.com/item",
) -> int:
    """A processed material (one photo, maybe a video), published unless ``publish=False``."""
    deps = get_deps(app)
    with deps.db.transaction() as s:
        m = Material(
            title=title,
            copy=copy,
            price_cents=price_cents,
            product_url=product_url,
            brand=brand,
            category=category,
            status=status,
            state=DRAFT,
            forward_count=forward_count,
        )
        m.tag_rows = [MaterialTag(tag=t, position=i) for i, t in enumerate(tags)]
        unique = secrets.token_hex(6)
        m.assets = [_asset("photo", 0, unique)] + ([_asset("video", 1, unique)] if video else [])
        s.add(m)
        s.flush()
        service.log_change(s, m, "create")
        material_id = m.id
    if publish:
        service.publish(deps, material_id, publish_at, take_down_at)
    return material_id


def db_versions(app: Flask) -> dict[int, int]:
    with get_deps(app).db.read() as s:
        return live_versions(s)


def index_versions(path) -> dict:
    """{material id: version} in the index at ``path`` (the position document left out)."""
    index = SearchIndex.open_or_create(path)
    try:
        return read_state(index)[1]
    finally:
        index.close()


def index_position(path) -> int | None:
    index = SearchIndex.open_or_create(path)
    try:
        return read_state(index)[0]
    finally:
        index.close()


def slow_edit(app: Flask, material_id: int, title: str, pause: float) -> None:
    """An edit whose transaction stays open after taking its change-log seq, so that other
    writers' later seqs commit first: on PostgreSQL, the out-of-order visibility the follower
    must handle."""
    with get_deps(app).db.transaction() as s:
        material = service.load_material(s, material_id, lock=True)
        material.title, material.version = title, material.version + 1
        service.log_change(s, material, "edit")
        s.flush()
        time.sleep(pause)
