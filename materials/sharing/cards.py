"""Share cards as a use case: which card a URL names, its cache key, and its bytes.

A card is a pure function of (material version, photo, layout, seller code and name, what its
scannable code stands for, renderer version); its cache key is the sha256 of exactly those. The
code comes from the provider the layout names (scancodes.py): the QR of the referral link, or
for `moments` the seller's 小程序码, fetched once and stored. The seller-independent
base is a pure function of the same minus the seller, rendered once per material version and
layout, stored (so other processes reuse it) and kept decoded in memory (an LRU).

The base is stored as a JPEG at quality 95 without chroma subsampling (~49 dB PSNR on the final
card against a lossless base): a lossless PNG cost 26-52 ms to encode, as much as rendering the
base itself, against 5-8 ms. Every card, in every process, is stamped on the *decoded stored*
base, so a card rendered again anywhere has the same bytes and its strong ETag stays honest.
The base is made in a decoding child under the upload's decode limits (media/cards/bases.py):
a stored original that breaks a rule makes no card, and its card URLs answer 404
`unusable_photo`. Rendering itself lives in media/cards; no Flask in here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from materials.accounts import seller_by_code
from materials.catalogue.uploads import decode_limits, spool_dir
from materials.errors import NotFound
from materials.models import Asset, Material, parse_id
from materials.platform.deps import Deps
from materials.sharing import cardstore, copies
from materials.sharing.cardstore import Wanted
from materials.sharing.scancodes import PROVIDERS, Provider
from media.cards import (
    LAYOUTS,
    RENDERER_VERSION,
    CardContent,
    NoCode,
    base_jpeg,
    decode_base,
    render_card,
    render_photo_card,
    use_fonts,
)
from media.images import BASE_QUALITY, MediaRejected

PHOTO_LAYOUT = re.compile(r"photo-([1-9][0-9]?)")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardSpec:
    """Everything a card depends on: resolved from a URL, checked live, nothing rendered yet."""

    material_id: int
    version: int
    layout: str  # square | poster | story | og | moments | photo-<n>
    photo: Asset  # the source photo: the first for the big layouts, the n-th for photo-<n>
    content: CardContent
    seller_name: str
    code: str
    url: str  # the referral link, which a QR encodes
    scan: str  # what the card's code stands for: the link itself for a QR (scancodes.py)
    display_side: int
    markup_cents: int = 0  # the seller's, already in content.price_cents

    @property
    def is_photo(self) -> bool:
        return self.layout.startswith("photo-")

    @property
    def base_key(self) -> str:
        return digest(
            "base",
            RENDERER_VERSION,
            BASE_QUALITY,
            self.material_id,
            self.version,
            self.layout,
            self.photo.sha256,
            self.display_side if self.is_photo else None,
            # A seller's markup changes the price drawn on the base: sellers at one price
            # share a base, a marked-up seller's cards get keys of their own, and every other
            # card keeps the key (and the stored file) it had.
            *([self.content.price_cents] if self.markup_cents and not self.is_photo else []),
        )

    @property
    def cache_key(self) -> str:
        return digest("card", self.base_key, self.seller_name, self.code, self.scan)


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def layout_size(layout: str) -> tuple[int, int]:
    """(width, height) of a big layout's card, e.g. for og:image:width/height."""
    return LAYOUTS[layout].size


def photo_index(layout: str) -> int | None:
    """0-based photo for `photo-<n>` (n is 1-based), None for the big layouts; KeyError for
    anything else."""
    if layout in LAYOUTS:
        return None
    match = PHOTO_LAYOUT.fullmatch(layout)
    if match is None:
        raise KeyError(layout)
    return int(match.group(1)) - 1


def provider(layout: str) -> Provider:
    """Who makes the code on a card of a big layout (the 9-grid photo always has the QR)."""
    return PROVIDERS[LAYOUTS[layout].scan_code]


def offered_layouts(deps: Deps) -> list[str]:
    """The big layouts a seller forwards here: `moments` only with a mini-program; never `og`
    (the link preview's card, which carries no code and is served for unfurlers)."""
    return [
        name
        for name, spec in LAYOUTS.items()
        if spec.scan_code != NoCode.kind and provider(name).available(deps)
    ]


def resolve(deps: Deps, material_ref: str, code: str, layout: str, now: datetime) -> CardSpec:
    """The card a public URL names; NotFound unless material, seller and layout all exist (a
    layout whose code nobody here can make does not) and the material is live."""
    material_id = parse_id(material_ref)
    try:
        index = photo_index(layout)
    except KeyError:
        raise NotFound(f"no card layout {layout!r}", rule="not_found") from None
    if index is None and not provider(layout).available(deps):
        raise NotFound(f"no card layout {layout!r}", rule="not_found")
    with deps.db.read() as s:
        material = s.get(Material, material_id) if material_id else None
        seller = seller_by_code(s, code.upper())
        if material is None or seller is None or not material.is_live(now):
            raise NotFound("no such card", rule="not_found")
        photos = _photos(s, material.id)
        markup = copies.effective_markup(material, copies.asked_markup(s, seller.id, material.id))
    if not photos or (index is not None and index >= len(photos)):
        raise NotFound(f"material {material_id} has no photo for {layout!r}", rule="not_found")
    return _spec(
        deps, material, photos[index or 0], layout, (seller.name, seller.referral_code), markup
    )


def _photos(s: Session, material_id: int) -> list[Asset]:
    """Just the photos: a card is served often, and needs no renditions or tags."""
    stmt = (
        select(Asset)
        .where(Asset.material_id == material_id, Asset.kind == "photo")
        .order_by(Asset.position)
    )
    return list(s.scalars(stmt))


def _spec(
    deps: Deps,
    material: Material,
    photo: Asset,
    layout: str,
    seller: tuple[str, str],
    markup_cents: int,
) -> CardSpec:
    seller_name, code = seller
    url = deps.urls.referral(code, material.id)
    return CardSpec(
        material_id=material.id,
        version=material.version,
        layout=layout,
        photo=photo,
        content=CardContent(
            title=material.title,
            copy=material.copy,
            price_cents=material.price_cents + markup_cents,
            original_price_cents=material.original_price_cents,
            brand=material.brand,
            author=material.author_name,
        ),
        seller_name=seller_name,
        code=code,
        url=url,
        scan=_scan_identity(deps, material.id, layout, code, url),
        display_side=deps.settings.DISPLAY_SIDE,
        markup_cents=markup_cents,
    )


def _scan_identity(deps: Deps, material_id: int, layout: str, code: str, url: str) -> str:
    if layout not in LAYOUTS:
        return url  # a 9-grid photo: its QR encodes the referral link
    return provider(layout).identity(deps, material_id, code, LAYOUTS[layout])


def card_bytes(deps: Deps, spec: CardSpec) -> bytes:
    """The card's JPEG: from storage when made already, else rendered once and stored."""
    name = f"{spec.layout}-{spec.code.lower()}"
    wanted = _jpeg(spec, "card", spec.cache_key, name, lambda: _render_card(deps, spec))
    return cardstore.get_or_render(deps, wanted)[0]


def stored_card_key(deps: Deps, spec: CardSpec) -> str | None:
    """The storage key of the card's file when it is stored locally already (nothing read),
    else None: then card_bytes renders or reads it."""
    return cardstore.stored_key(deps, spec.cache_key)


def _jpeg(spec: CardSpec, kind: str, cache_key: str, name: str, render) -> Wanted:  # noqa: ANN001
    # The version in the path lets a later cleanup drop whole superseded versions by prefix.
    prefix = f"cards/{spec.material_id}/v{spec.version}/{name}"
    return Wanted(cache_key, spec.material_id, kind, prefix, "jpg", "image/jpeg", render)


def _render_card(deps: Deps, spec: CardSpec) -> bytes:
    base = base_image(deps, spec)
    # The stamp is drawn here, often on a base another process made: it must use the same
    # configured font as the base did, or two nodes would stamp one ETag in two fonts.
    use_fonts(deps.settings.FONT_PATH or None)
    if spec.is_photo:
        return render_photo_card(
            base,
            spec.seller_name,
            spec.code,
            spec.url,
            spec.display_side,
            author=spec.content.author,
        )
    layout = LAYOUTS[spec.layout]
    scan = provider(spec.layout).make(deps, spec.material_id, spec.code, layout)
    return render_card(base, spec.layout, spec.seller_name, spec.code, scan)


def base_image(deps: Deps, spec: CardSpec) -> Image.Image:
    """The decoded seller-independent base: memory, else storage, else rendered (once)."""
    cache = cardstore.cache_for(deps)
    base = cache.bases.get(spec.base_key)
    if base is not None:
        return base
    refused = cache.unusable.get(spec.photo.key)
    if refused is not None:
        raise _unusable(spec, refused)
    wanted = _jpeg(spec, "base", spec.base_key, f"base-{spec.layout}", lambda: _base(deps, spec))
    base = decode_base(cardstore.get_or_render(deps, wanted)[0])
    cache.bases.put(spec.base_key, base)
    return base


def _base(deps: Deps, spec: CardSpec) -> bytes:
    """The base's JPEG, made in a decoding child under the upload's decode limits: the stored
    original is decoded here, and storage may hold a file no upload check ever saw."""
    side = spec.display_side if spec.is_photo else LAYOUTS[spec.layout].max_photo_side
    suffix = "." + spec.photo.key.rsplit(".", 1)[-1]
    cfg = deps.settings
    with deps.storage.local_path(spec.photo.key, suffix=suffix, tmp_dir=spool_dir(cfg)) as path:
        try:
            return base_jpeg(
                path,
                None if spec.is_photo else spec.layout,
                spec.content,
                side,
                max_pixels=cfg.MAX_PHOTO_PIXELS,
                max_scans=cfg.MAX_JPEG_SCANS,
                font=cfg.FONT_PATH or None,
                limits=decode_limits(cfg),
            )
        except MediaRejected as exc:
            log.error("stored photo %s cannot make a card: %s: %s", spec.photo.key, exc.rule, exc)
            # Remembered in this process: the same file would cost the same decode again.
            cardstore.cache_for(deps).unusable.put(spec.photo.key, exc.rule)
            raise _unusable(spec, exc.rule) from None


def _unusable(spec: CardSpec, rule: str) -> NotFound:
    """404, not 503 or 422: no request, and no wait, makes this card; see the README."""
    return NotFound(
        f"material {spec.material_id}'s photo cannot be drawn on a card ({rule})",
        rule="unusable_photo",
    )
