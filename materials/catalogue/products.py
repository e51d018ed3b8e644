"""Which product a material shows: its product key.

Sellers rate products, not posts about them: every material whose product_url leads to the same
product page shares one key, and so one set of ratings (catalogue/ratings.py). The key is the
product URL normalised, then hashed to a fixed width:

* scheme, port and case of the host do not count (http://Shop.example.com:80/1 is
  https://shop.example.com/1), nor a fragment, nor a trailing slash of the path;
* the query counts (item.htm?id=1 and ?id=2 are two products), in any order, but for the
  parameters that only say who sent the visitor: utm_*, spm, from, share_from and ref (the
  default referral parameter our own links add);
* a non-ASCII path is taken in its percent-encoded form, as a browser sends it.

A material with no product URL at all is a product of its own ("m:<id>").

The key is kept by an ORM hook, so every way of writing a material keeps it in step with its
URL; lifecycle.update_material moves the ratings along when a URL is corrected (repoint).
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from werkzeug.urls import iri_to_uri

from materials.models import Material, Rating

KEY_CHARS = 80
TRACKING = ("spm", "from", "share_from", "ref")
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(url: str) -> str | None:
    """The product URL as the key is made from it, or None when there is none to read."""
    try:
        parts = urlsplit(iri_to_uri(url.strip()))
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    netloc = host if port in (None, DEFAULT_PORTS.get(parts.scheme.lower())) else f"{host}:{port}"
    path = parts.path.rstrip("/") or "/"
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)
    )
    return f"//{netloc}{path}" + (f"?{urlencode(query)}" if query else "")


def _tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING


def product_key(url: str, material_id: int | None = None) -> str:
    """The key of the product at `url`; without a readable URL, the material's own."""
    normal = normalise(url or "")
    if normal is None:
        return f"m:{material_id}" if material_id is not None else ""
    return "u:" + hashlib.sha256(normal.encode()).hexdigest()


def materials_of(s: Session, key: str) -> list[int]:
    """The ids of every material (any state) showing the product `key`."""
    return list(s.scalars(select(Material.id).where(Material.product_key == key)))


@event.listens_for(Material, "before_insert")
@event.listens_for(Material, "before_update")
def _follow_url(_mapper, _connection, material: Material) -> None:  # noqa: ANN001
    key = product_key(material.product_url, material.id)
    if key:
        material.product_key = key


def repoint(s: Session, material: Material, old: str) -> list[int]:
    """After an edit of `material`'s product URL that moved it from the product `old`: the
    ratings stay with the old product while another material still shows it; when this was
    its last material they move along (a corrected URL keeps its ratings), a seller's rating
    already on the new product winning over the one on the old. Returns the other materials
    whose ratings changed, which need a change-log row."""
    key = material.product_key = product_key(material.product_url, material.id)
    if old == key:
        return []
    s.flush()
    if materials_of(s, old):
        return []
    moving = list(s.scalars(select(Rating).where(Rating.product_key == old)))
    if not moving:
        return []
    taken = set(s.scalars(select(Rating.seller_id).where(Rating.product_key == key)))
    for rating in moving:
        if rating.seller_id in taken:
            s.delete(rating)
        else:
            rating.product_key = key
    return [i for i in materials_of(s, key) if i != material.id]
