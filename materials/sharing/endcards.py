"""The stamped video: the material's transcoded video with the seller's end card after it.

GET /cards/<material>/<code>/video.mp4 names one; it follows the cards' rules (cards.resolve:
a live material, a known seller, a photo to make the card from) and needs a ready video. Its
end card is the seller's square card (photo, title, price, the QR of the referral link, the
code), which the card store renders once and keeps; the stamped video is a pure function of
that card and the video rendition, so its cache key is theirs and the end card's version, and
it is made once per (seller, material version), stored beside the cards, and served from
storage (media/endcard.py says how it is joined without re-encoding the video).
"""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from materials.catalogue.uploads import decode_limits, spool_dir
from materials.errors import NotFound
from materials.models import READY, Asset, Rendition
from materials.platform.deps import Deps
from materials.sharing import cards, cardstore
from materials.sharing.cardstore import Wanted
from media import endcard, video
from media.sandbox import Limits

log = logging.getLogger(__name__)

END_CARD_LAYOUT = "square"  # the card the end card shows: its QR is the seller's link


@dataclass(frozen=True)
class VideoCardSpec:
    card: cards.CardSpec  # the seller's square card, drawn as the end card
    video_key: str  # the transcoded video rendition (named by its content)

    @property
    def cache_key(self) -> str:
        return cards.digest(
            "video",
            endcard.END_CARD_VERSION,
            endcard.END_SECONDS,
            self.card.cache_key,
            self.video_key,
        )


def resolve(deps: Deps, material_ref: str, code: str, now: datetime) -> VideoCardSpec:
    """The stamped video a public URL names; NotFound as for the cards, or without a video."""
    card = cards.resolve(deps, material_ref, code, END_CARD_LAYOUT, now)
    key = video_key(deps, card.material_id)
    if key is None:
        raise NotFound(f"material {card.material_id} has no video", rule="not_found")
    return VideoCardSpec(card, key)


def video_key(deps: Deps, material_id: int) -> str | None:
    """The storage key of the material's ready transcoded video, if it has one."""
    stmt = (
        select(Rendition.key)
        .join(Asset, Rendition.asset_id == Asset.id)
        .where(
            Asset.material_id == material_id,
            Asset.kind == "video",
            Asset.status == READY,
            Rendition.name == "video",
        )
    )
    with deps.db.read() as s:
        return s.scalars(stmt).first()


def stored_video_key(deps: Deps, spec: VideoCardSpec) -> str:
    """The storage key of the stamped video: made (once, for every process) if it is not yet."""
    card = spec.card
    prefix = f"cards/{card.material_id}/v{card.version}/video-{card.code.lower()}"
    render = lambda: _render(deps, spec)  # noqa: E731
    wanted = Wanted(spec.cache_key, card.material_id, "video", prefix, "mp4", "video/mp4", render)
    return cardstore.get_or_render_key(deps, wanted)[0]


def stamp_limits(deps: Deps) -> Limits:
    """Each ffmpeg run of a stamp: the decode limits plus the transcode's share for the
    segment's seconds (the join and the probes copy packets; they need far less)."""
    return video.transcode_limits(decode_limits(deps.settings), endcard.END_SECONDS)


def _render(deps: Deps, spec: VideoCardSpec) -> bytes:
    with Image.open(io.BytesIO(cards.card_bytes(deps, spec.card)), formats=["JPEG"]) as image:
        card = image.convert("RGB")
    spool = spool_dir(deps.settings)  # what a killed process leaves here, the sweep removes
    with (
        deps.storage.local_path(spec.video_key, suffix=".mp4", tmp_dir=spool) as src,
        tempfile.TemporaryDirectory(prefix="stamp-", dir=spool) as tmp,
    ):
        out = Path(tmp) / "stamped.mp4"
        try:
            endcard.stamp(src, card, out, limits=stamp_limits(deps))
        except endcard.EndCardMismatch as exc:
            # Not our transcode's parameters: no request and no wait makes this video, so a
            # 404 naming the rule (as a photo no card can be drawn from), logged for ops.
            log.error("video %s cannot take an end card: %s", spec.video_key, exc)
            raise NotFound(
                f"material {spec.card.material_id}'s video cannot take an end card",
                rule="unusable_video",
            ) from None
        return out.read_bytes()
