"""From database rows to search documents: what the indexer reads, and in what shape.

Only *live-able* materials are indexed: published and processed. Whether one is inside its
publish window is decided when a query runs (SearchIndex.search filters by ``now``), because a
window opens and closes with no edit and so with no change-log row to react to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, selectinload

from materials.catalogue.ratings import Prior, Tally, relevance_boost, tallies, word_of_mouth
from materials.models import Asset, Material
from materials.platform.db import Database
from search.schema import milli

REBUILD_CHUNK = 1000


def _has_video():
    return (
        exists()
        .where(Asset.material_id == Material.id, Asset.kind == "video")
        .correlate(Material)
        .label("has_video")
    )


def _with_video(stmt: Select) -> Select:
    # has_video as a column rather than loading every asset row: a rebuild reads the whole
    # catalogue and each material has up to ten assets.
    return stmt.add_columns(_has_video()).options(selectinload(Material.tag_rows))


def to_doc(m: Material, has_video: bool, tally: Tally, prior: Prior) -> dict:
    """The plain dict SearchIndex takes for one material, with its product's 口碑指数."""
    wom = word_of_mouth(tally, prior, min_ratings=0)
    return {
        "id": m.id,
        "title": m.title,
        "copy": m.copy,
        "brand": m.brand,
        "category": m.category,
        "tags": m.tags,
        "price_cents": m.price_cents,
        "has_video": has_video,
        "forward_count": m.forward_count,
        "version": m.version,
        # "Newest" for a seller means newest in the library: a material made last month and
        # published today is new to them, so the sort key is the publication time.
        "created_at": m.published_at or m.created_at,
        "publish_at": m.publish_at,
        "take_down_at": m.take_down_at,
        "rating_index": wom.index,
        "boost": relevance_boost(wom),
    }


def _docs(s: Session, rows, prior: Prior) -> list[dict]:
    """Documents for (material, has_video) rows, their products' ratings read in one query."""
    rows = list(rows)
    counts = tallies(s, {m.product_key for m, _ in rows})
    return [to_doc(m, bool(v), counts.get(m.product_key, Tally()), prior) for m, v in rows]


def load_docs(s: Session, ids: Iterable[int], prior: Prior) -> tuple[list[dict], set[int]]:
    """(documents to upsert, ids to delete) for the current state of ``ids``. A material that
    is gone, a draft, taken down or not processed is to be deleted."""
    wanted = set(ids)
    if not wanted:
        return [], set()
    stmt = _with_video(select(Material).where(Material.id.in_(wanted), Material.liveable))
    docs = _docs(s, s.execute(stmt), prior)
    return docs, wanted - {d["id"] for d in docs}


def live_ratings(s: Session, prior: Prior) -> dict[int, int]:
    """{id: its product's index as the index keeps it} of every live-able material: ratings
    change no version, so the reconcile compares these too."""
    counts = tallies(s)
    rows = s.execute(select(Material.id, Material.product_key).where(Material.liveable)).all()
    return {i: milli(word_of_mouth(counts.get(key, Tally()), prior, 0).index) for i, key in rows}


def live_versions(s: Session) -> dict[int, int]:
    """{id: version} of every live-able material: what the index should hold."""
    return dict(s.execute(select(Material.id, Material.version).where(Material.liveable)).all())


def iter_live_docs(db: Database, prior: Prior, chunk: int = REBUILD_CHUNK) -> Iterator[dict]:
    """Every live-able material, read in id order a chunk per short read transaction, so a
    rebuild of a large catalogue never holds one long snapshot open."""
    after = 0
    while True:
        with db.read() as s:
            stmt = _with_video(
                select(Material).where(Material.liveable, Material.id > after).order_by(Material.id)
            ).limit(chunk)
            rows = s.execute(stmt).all()
            docs = _docs(s, rows, prior)
        yield from docs
        if len(rows) < chunk:
            return
        after = docs[-1]["id"]
