"""口碑指数, the word-of-mouth index: sellers rate products, the ratings make an index.

A seller rates a product (catalogue/products.py: every material with the same product URL) on
four dimensions, each a whole number from 1 to 10, with an optional short comment. One rating
per seller and product: rating again replaces it (an upsert on the unique key, so two requests
at once leave one row on SQLite and PostgreSQL alike).

The index is a Bayesian average on the 10-point scale, per dimension and overall:

    index = (C * m + sum of the ratings) / (C + n)

with the prior mean m and weight C from the settings (SUCAI_RATING_PRIOR_MEAN,
SUCAI_RATING_PRIOR_WEIGHT; the README says why 5.0 and 10). A product with few ratings stays
near m whatever they say, so two enthusiastic ratings do not outrank two hundred good ones; the
overall index is the same average over each rating's mean of its four dimensions (which is the
mean of the four dimensions' indexes). A product at THRESHOLD or above with at least
SUCAI_POTENTIAL_MIN_RATINGS ratings is marked 潜力 (potential) for ops.

Every change to a product's ratings leaves a change-log row for each of its materials, in the
same transaction, so the indexer refreshes the index their search documents carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from materials.catalogue.browse import materials_by_id
from materials.catalogue.lifecycle import load_material, log_change
from materials.catalogue.products import materials_of
from materials.errors import Conflict, Invalid, NotFound
from materials.models import Material, Rating, User
from materials.platform.deps import Deps
from materials.validation import clean_text
from search.engine import MAX_BOOST

# The wire names and the names sellers read.
DIMENSIONS = {
    "performance": "产品性能",
    "price_acceptance": "价格接受度",
    "design": "外观设计",
    "packaging": "包装",
}
LOWEST, HIGHEST = 1, 10
COMMENT_CHARS = 200
# "Meets general demand" on the platforms' 10-point scale: the 潜力 line.
THRESHOLD = 5.0


@dataclass(frozen=True)
class Prior:
    mean: float  # m: where a product with no ratings stands
    weight: int  # C: how many ratings the prior counts as

    @classmethod
    def of(cls, settings: Any) -> Prior:
        return cls(float(settings.RATING_PRIOR_MEAN), int(settings.RATING_PRIOR_WEIGHT))


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class Scores:
    performance: int
    price_acceptance: int
    design: int
    packaging: int
    comment: str = ""

    def values(self) -> dict[str, int]:
        return {d: getattr(self, d) for d in DIMENSIONS}


def parse_score(field: str, value: Any) -> int:
    """A whole number from 1 to 10. In JSON an integral float (8.0) is one; text is not (a
    form's text goes through parse_form)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None:
        raise Invalid(f"{field} is required", field=field, rule="required")
    if type(value) is not int:
        raise Invalid(f"{field} must be a whole number from 1 to 10", field=field, rule="type")
    if not LOWEST <= value <= HIGHEST:
        raise Invalid(
            f"{field} is {value}; it must be from {LOWEST} to {HIGHEST}", field=field, rule="range"
        )
    return value


def parse_comment(value: Any) -> str:
    return clean_text("comment", value, max_chars=COMMENT_CHARS)


def parse_form(form: Mapping[str, Any]) -> Scores:
    """A rating as the H5 form sends it: each dimension as text ("8")."""
    values = {}
    for field in DIMENSIONS:
        raw = form.get(field)
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            raise Invalid(f"{DIMENSIONS[field]}：请选择 1–10 分", field=field, rule="required")
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 2 else text
        values[field] = parse_score(field, number)
    return Scores(**values, comment=parse_comment(form.get("comment")))


# ---------------------------------------------------------------- the index


@dataclass(frozen=True)
class WordOfMouth:
    ratings: int
    index: float
    breakdown: dict[str, float]
    potential: bool


@dataclass(frozen=True)
class Tally:
    """A product's ratings summed: how many, and the total of each dimension."""

    count: int = 0
    sums: tuple[int, int, int, int] = (0, 0, 0, 0)


def word_of_mouth(tally: Tally, prior: Prior, min_ratings: int) -> WordOfMouth:
    n = tally.count

    def bayes(total: float) -> float:
        return (prior.weight * prior.mean + total) / (prior.weight + n)

    breakdown = {d: bayes(s) for d, s in zip(DIMENSIONS, tally.sums, strict=True)}
    index = bayes(sum(tally.sums) / len(DIMENSIONS))
    # Rounded before comparing: (10 * 5.0 + 50.0) / 20 must be 5.0 and not 4.999…
    potential = n >= min_ratings and round(index, 9) >= THRESHOLD
    return WordOfMouth(n, index, breakdown, potential)


def labelled(wom: WordOfMouth) -> list[tuple[str, float]]:
    """The breakdown by the names sellers read: [("产品性能", 7.2), …]."""
    return [(DIMENSIONS[d], v) for d, v in wom.breakdown.items()]


def index_order(settings: Any) -> ColumnElement:
    """The index as SQL, best first, for the database's own listings (the search page without
    the search service): word_of_mouth's formula over a correlated tally of the product."""
    prior = Prior.of(settings)
    total = sum((func.sum(getattr(Rating, d)) for d in DIMENSIONS), start=literal(0))
    index = (prior.weight * prior.mean + total / float(len(DIMENSIONS))) / (
        prior.weight + func.count(Rating.id)
    )
    tally = select(index).where(Rating.product_key == Material.product_key)
    return func.coalesce(tally.correlate(Material).scalar_subquery(), prior.mean).desc()


def relevance_boost(wom: WordOfMouth) -> float:
    """How much the index lifts a search match: nothing at or below THRESHOLD (and so for an
    unrated product, which sits at the prior), rising linearly to MAX_BOOST at 10. The index
    is Bayesian, so a product with few ratings is barely lifted whatever they say."""
    share = (wom.index - THRESHOLD) / (HIGHEST - THRESHOLD)
    return 1.0 + (MAX_BOOST - 1.0) * min(1.0, max(0.0, share))


def tallies(s: Session, keys: Iterable[str] | None = None) -> dict[str, Tally]:
    """{product key: Tally} of the products among `keys` that have ratings (all when None)."""
    sums = [func.sum(getattr(Rating, d)) for d in DIMENSIONS]
    stmt = select(Rating.product_key, func.count(Rating.id), *sums).group_by(Rating.product_key)
    if keys is not None:
        stmt = stmt.where(Rating.product_key.in_(set(keys)))
    return {
        key: Tally(int(n), tuple(int(v) for v in sums)) for key, n, *sums in s.execute(stmt).all()
    }


def indexes(deps: Deps, s: Session, materials: Iterable[Material]) -> dict[int, WordOfMouth]:
    """{material id: its product's index}, in one query."""
    materials = list(materials)
    counts = tallies(s, {m.product_key for m in materials})
    prior, need = Prior.of(deps.settings), deps.settings.POTENTIAL_MIN_RATINGS
    return {m.id: word_of_mouth(counts.get(m.product_key, Tally()), prior, need) for m in materials}


def indexes_of(deps: Deps, materials: Iterable[Material]) -> dict[int, WordOfMouth]:
    with deps.db.read() as s:
        return indexes(deps, s, materials)


# ---------------------------------------------------------------- use cases


def _rateable(s: Session, material_id: int, now: datetime, *, lock: bool = False) -> Material:
    """Sellers rate what they can see: a live material (else 404, as for any page of it)."""
    material = load_material(s, material_id, lock=lock)
    if not material.is_live(now):
        raise NotFound(f"material {material_id} not found", rule="not_found")
    return material


def _log_product(s: Session, key: str) -> None:
    for material_id in materials_of(s, key):
        log_change(s, s.get(Material, material_id), "rating")


def _upsert(s: Session, values: dict[str, Any]) -> bool:
    """Inserts the rating, or replaces the seller's one of the product; True when inserted.
    INSERT … ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit
    (PostgreSQL; SQLite's writers take turns anyway), then the UPDATE replaces that row."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = (Rating.seller_id == values["seller_id"], Rating.product_key == values["product_key"])
    changed = {k: v for k, v in values.items() if k not in ("seller_id", "product_key")}
    changed.pop("created_at")
    for _attempt in range(3):  # a concurrent withdrawal can remove the row in between
        stmt = (
            insert(Rating)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["seller_id", "product_key"])
        )
        if s.execute(stmt.returning(Rating.id)).first() is not None:
            return True
        if s.execute(update(Rating).where(*key).values(**changed)).rowcount:
            return False
    raise Conflict("the rating changed while it was saved: try again", rule="busy")


def rate(deps: Deps, seller: User, material_id: int, scores: Scores, now: datetime) -> bool:
    """Records (or replaces) the seller's rating of the material's product; True when it is
    their first rating of it."""
    with deps.db.transaction() as s:
        material = _rateable(s, material_id, now)
        values = {
            "seller_id": seller.id,
            "product_key": material.product_key,
            "material_id": material.id,
            **scores.values(),
            "comment": scores.comment,
            "created_at": now,
            "updated_at": now,
        }
        created = _upsert(s, values)
        _log_product(s, material.product_key)
    return created


def own_rating(deps: Deps, seller: User, material_id: int, now: datetime) -> Rating | None:
    with deps.db.read() as s:
        material = _rateable(s, material_id, now)
        return _own(s, seller, material)


def _own(s: Session, seller: User, material: Material) -> Rating | None:
    return s.scalar(
        select(Rating).where(
            Rating.seller_id == seller.id, Rating.product_key == material.product_key
        )
    )


def remove_rating(deps: Deps, seller: User, material_id: int, now: datetime) -> bool:
    """Deletes the seller's rating of the material's product; False when there was none."""
    with deps.db.transaction() as s:
        material = _rateable(s, material_id, now)
        gone = s.execute(
            delete(Rating).where(
                Rating.seller_id == seller.id, Rating.product_key == material.product_key
            )
        ).rowcount
        if gone:
            _log_product(s, material.product_key)
        return bool(gone)


@dataclass(frozen=True)
class Comment:
    text: str  # as the seller wrote it (clean_text): shown as text, never as markup
    updated_at: datetime


def recent_comments(s: Session, keys: Iterable[str], each: int = 3) -> dict[str, list[Comment]]:
    """{product key: its newest non-empty comments, at most `each`}."""
    keys = set(keys)
    if not keys:
        return {}
    place = func.row_number().over(
        partition_by=Rating.product_key, order_by=(Rating.updated_at.desc(), Rating.id.desc())
    )
    ranked = (
        select(Rating.product_key, Rating.comment, Rating.updated_at, place.label("place"))
        .where(Rating.product_key.in_(keys), Rating.comment != "")
        .subquery()
    )
    stmt = select(ranked.c.product_key, ranked.c.comment, ranked.c.updated_at).where(
        ranked.c.place <= each
    )
    out: dict[str, list[Comment]] = {}
    for key, text, when in s.execute(stmt.order_by(ranked.c.product_key, ranked.c.place)):
        out.setdefault(key, []).append(Comment(text, when))
    return out


@dataclass(frozen=True)
class MaterialIndex:
    material: Material
    word_of_mouth: WordOfMouth
    mine: Rating | None
    comments: list[Comment]


def material_index(
    deps: Deps, material_id: int, now: datetime, *, seller: User | None = None
) -> MaterialIndex:
    """The index of the material's product. For a seller (who sees only live materials) with
    their own rating; ops may ask about any material."""
    with deps.db.read() as s:
        if seller is not None:
            material = _rateable(s, material_id, now)
        else:
            material = load_material(s, material_id)
        mine = _own(s, seller, material) if seller is not None else None
        wom = indexes(deps, s, [material])[material.id]
        said = recent_comments(s, [material.product_key]).get(material.product_key, [])
        return MaterialIndex(material, wom, mine, said)


# ---------------------------------------------------------------- the selection board


@dataclass(frozen=True)
class BoardRow:
    rank: int
    material: Material  # the product's newest material: its title and photo stand for it
    materials: int  # how many materials show the product
    word_of_mouth: WordOfMouth
    comments: list[Comment]


@dataclass(frozen=True)
class Board:
    total: int
    rows: list[BoardRow]


def board(deps: Deps, *, limit: int = 50, potential_only: bool = False) -> Board:
    """Rated products, best index first (then more ratings first): ops' selection board."""
    prior = Prior.of(deps.settings)
    need = deps.settings.POTENTIAL_MIN_RATINGS
    with deps.db.read() as s:
        ranked = [(k, word_of_mouth(t, prior, need)) for k, t in tallies(s).items()]
        ranked = [(k, w) for k, w in ranked if w.potential or not potential_only]
        newest = _newest_materials(s, [k for k, _ in ranked])
        ranked = [(k, w) for k, w in ranked if k in newest]  # a product no material shows
        ranked.sort(key=lambda kw: (-round(kw[1].index, 9), -kw[1].ratings, kw[0]))
        shown = ranked[:limit]
        said = recent_comments(s, [k for k, _ in shown], each=2)
    materials = materials_by_id(deps, [newest[k][0] for k, _ in shown])
    rows = [
        BoardRow(i, materials[newest[k][0]], newest[k][1], w, said.get(k, []))
        for i, (k, w) in enumerate(shown, start=1)
    ]
    return Board(len(ranked), rows)


def _newest_materials(s: Session, keys: list[str]) -> dict[str, tuple[int, int]]:
    """{product key: (its newest material's id, how many materials)}."""
    if not keys:
        return {}
    stmt = (
        select(Material.product_key, func.max(Material.id), func.count(Material.id))
        .where(Material.product_key.in_(keys))
        .group_by(Material.product_key)
    )
    return {key: (newest, count) for key, newest, count in s.execute(stmt).all()}
