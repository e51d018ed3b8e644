"""Forwards, clicks and orders, counted by SQL aggregates that run alike on SQLite and
PostgreSQL.

Days are calendar days in SUCAI_TIMEZONE, counted at that zone's UTC offset at the start of the
period (SQLite has no time zone database, so both backends get the same fixed offset and so
count the same days). Exact for China, which has no daylight saving time; in a zone with DST a
period across the switch is off by that hour for the days after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Interval, case, cast, func, literal, select
from sqlalchemy.orm import Session

from materials.errors import Invalid, NotFound
from materials.models import MAX_ID, Click, Conversion, CopyVariant, Forward, Material, User
from materials.platform.deps import Deps
from materials.sharing.copies import DEFAULT_LABEL

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Room at both ends of the calendar for the default window and any UTC offset: 0001-01-01 in
# +08:00 starts in year 0, which no datetime can hold.
FIRST_DAY = date.min + timedelta(days=DEFAULT_DAYS + 1)
LAST_DAY = date.max - timedelta(days=2)
EVENTS = (Forward, Click, Conversion)


@dataclass
class Metrics:
    forwards: int = 0
    clicks_raw: int = 0
    clicks_valid: int = 0
    orders: int = 0
    amount_cents: int = 0  # what buyers paid, the sellers' markups included
    markup_cents: int = 0  # of which the sellers' markups (店主加价): their own income

    def add(self, other: Metrics) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class Period:
    first: date  # inclusive, local days
    last: date
    offset: timedelta

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), timezone(self.offset)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """Exclusive: the start of the day after `last`."""
        return self.start + timedelta(days=(self.last - self.first).days + 1)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def parse_period(deps: Deps, first: str | None, last: str | None, now: datetime) -> Period:
    """`from`/`to` as YYYY-MM-DD local days, inclusive; by default the last 30 days."""
    return period(deps, parse_day("from", first), parse_day("to", last), now)


def period(deps: Deps, first: date | None, last: date | None, now: datetime) -> Period:
    """The local days from `first` to `last`, inclusive; `last` is today and `first` 30 days
    before `last` unless given. Invalid names the field when the two make no period."""
    zone = ZoneInfo(deps.settings.TIMEZONE)
    end = last or now.astimezone(zone).date()
    start = first or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("from must not be after to", field="from", rule="range")
    if (end - start).days >= MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at once", field="from", rule="range")
    offset = datetime.combine(start, time(12), zone).utcoffset() or timedelta(0)
    return Period(start, end, offset)


def parse_day(name: str, text: str | None) -> date | None:
    """A local day as YYYY-MM-DD (None when absent), within the days a period can hold."""
    if text is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name} must be a date like 2026-11-25", field=name, rule="date") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{name} must be from {FIRST_DAY} to {LAST_DAY}", field=name, rule="range")
    return day


# ---------------------------------------------------------------- the aggregates


def _day(deps: Deps, column: Any, offset: timedelta) -> Any:
    if deps.db.is_sqlite:
        # Stored as UTC text; date() shifts it by the offset and keeps the day.
        return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")
    return cast(func.timezone("UTC", column) + literal(offset, Interval()), Date)


def _group(deps: Deps, model: Any, key: str, offset: timedelta) -> Any:
    return _day(deps, model.created_at, offset) if key == "day" else getattr(model, key)


def _measures(model: Any) -> list[Any]:
    if model is Click:
        return [func.count(), func.sum(case((Click.valid.is_(True), 1), else_=0))]
    if model is Conversion:
        return [
            func.count(),
            func.coalesce(func.sum(Conversion.amount_cents), 0),
            func.coalesce(func.sum(Conversion.markup_cents), 0),
        ]
    return [func.count()]


def _to_metrics(model: Any, values: tuple) -> Metrics:
    if model is Click:
        return Metrics(clicks_raw=int(values[0]), clicks_valid=int(values[1] or 0))
    if model is Conversion:
        return Metrics(
            orders=int(values[0]),
            amount_cents=int(values[1] or 0),
            markup_cents=int(values[2] or 0),
        )
    return Metrics(forwards=int(values[0]))


def grouped(deps: Deps, s: Session, key: str, period: Period, **where: Any) -> dict[Any, Metrics]:
    """Metrics per `key` ("material_id", "seller_id" or "day") over the period, filtered by
    `where` (column=value, or column=list for IN)."""
    out: dict[Any, Metrics] = {}
    for model in EVENTS:
        group = _group(deps, model, key, period.offset)
        stmt = (
            select(group, *_measures(model))
            .where(model.created_at >= period.start, model.created_at < period.end)
            .where(*_filters(model, where))
            .group_by(group)
        )
        for row in s.execute(stmt):
            name = str(row[0]) if key == "day" else row[0]
            out.setdefault(name, Metrics()).add(_to_metrics(model, tuple(row[1:])))
    return out


def by_variant(
    deps: Deps, s: Session, period: Period, material_id: int
) -> dict[tuple[int | None, bool], Metrics]:
    """A material's metrics per copy it was forwarded with: (variant id, own copy) -> metrics;
    (None, False) is the material's own copy, (None, True) the sellers' own words."""
    out: dict[tuple[int | None, bool], Metrics] = {}
    for model in EVENTS:
        stmt = (
            select(model.variant_id, model.own_copy, *_measures(model))
            .where(model.created_at >= period.start, model.created_at < period.end)
            .where(model.material_id == material_id)
            .group_by(model.variant_id, model.own_copy)
        )
        for row in s.execute(stmt):
            key = (row[0], bool(row[1]))
            out.setdefault(key, Metrics()).add(_to_metrics(model, tuple(row[2:])))
    return out


def _filters(model: Any, where: dict[str, Any]) -> list[Any]:
    column = {k: getattr(model, k) for k in where}
    return [column[k].in_(v) if isinstance(v, list) else column[k] == v for k, v in where.items()]


def total(per_key: dict[Any, Metrics]) -> Metrics:
    out = Metrics()
    for metrics in per_key.values():
        out.add(metrics)
    return out


# ---------------------------------------------------------------- seller and ops views


@dataclass
class SellerStats:
    period: Period
    totals: Metrics
    by_material: list[tuple[int, str, Metrics]]  # (material id, title, metrics)
    by_day: list[tuple[date, Metrics]]


def seller_stats(deps: Deps, seller_id: int, period: Period) -> SellerStats:
    with deps.db.read() as s:
        by_material = grouped(deps, s, "material_id", period, seller_id=seller_id)
        by_day = grouped(deps, s, "day", period, seller_id=seller_id)
        titles = _titles(s, [k for k in by_material if k is not None])
    materials = sorted(
        ((k, titles.get(k, ""), m) for k, m in by_material.items() if k is not None),
        key=lambda item: (-item[2].amount_cents, -item[2].orders, -item[2].clicks_valid, item[0]),
    )
    days = [(d, by_day.get(d.isoformat(), Metrics())) for d in period.days()]
    return SellerStats(period, total(by_day), materials, days)


def _titles(s: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(s.execute(select(Material.id, Material.title).where(Material.id.in_(ids))).all())


RANKINGS = {
    "forwards": (Forward, func.count()),
    "clicks": (Click, func.sum(case((Click.valid.is_(True), 1), else_=0))),
    "orders": (Conversion, func.count()),
    "amount": (Conversion, func.sum(Conversion.amount_cents)),
}


def top(deps: Deps, s: Session, key: str, by: str, period: Period, limit: int) -> list[int]:
    """The ids ("material_id" or "seller_id") with the highest `by`, best first."""
    model, measure = RANKINGS[by]
    column = getattr(model, key)
    ranked = measure.label("rank")
    stmt = (
        select(column, ranked)
        .where(model.created_at >= period.start, model.created_at < period.end)
        .where(column.is_not(None))
        .group_by(column)
        .order_by(ranked.desc(), column)
        .limit(limit)
    )
    return [row[0] for row in s.execute(stmt)]


@dataclass
class OpsStats:
    period: Period
    funnel: Metrics
    top_materials: list[tuple[int, str, Metrics]]
    top_sellers: list[tuple[User, Metrics]]
    by: str


def ops_stats(deps: Deps, period: Period, by: str, limit: int) -> OpsStats:
    with deps.db.read() as s:
        funnel = total(grouped(deps, s, "day", period))
        material_ids = top(deps, s, "material_id", by, period, limit)
        seller_ids = top(deps, s, "seller_id", by, period, limit)
        materials = grouped(deps, s, "material_id", period, material_id=material_ids)
        sellers = grouped(deps, s, "seller_id", period, seller_id=seller_ids)
        titles = _titles(s, material_ids)
        users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(seller_ids)))}
    return OpsStats(
        period=period,
        funnel=funnel,
        top_materials=[(i, titles.get(i, ""), materials.get(i, Metrics())) for i in material_ids],
        top_sellers=[(users[i], sellers.get(i, Metrics())) for i in seller_ids if i in users],
        by=by,
    )


@dataclass
class VariantRow:
    variant_id: int | None
    own: bool  # the sellers' own words (variant_id None)
    label: str
    retired: bool
    metrics: Metrics


SELLERS_OWN = "卖家自编"


def variant_stats(deps: Deps, material_id: int, period: Period) -> list[VariantRow]:
    """Which words sell: a material's forwards, clicks and orders per copy (the default, each
    variant, retired ones that have numbers, and the sellers' own words)."""
    with deps.db.read() as s:
        if not 0 < material_id <= MAX_ID or s.get(Material, material_id) is None:
            raise NotFound(f"material {material_id} not found", rule="not_found")
        per = by_variant(deps, s, period, material_id)
        variants = list(
            s.scalars(
                select(CopyVariant)
                .where(CopyVariant.material_id == material_id)
                .order_by(CopyVariant.id)
            )
        )
    rows = [VariantRow(None, False, DEFAULT_LABEL, False, per.get((None, False), Metrics()))]
    for v in variants:
        retired = v.retired_at is not None
        if not retired or (v.id, False) in per:
            rows.append(
                VariantRow(v.id, False, v.label, retired, per.get((v.id, False), Metrics()))
            )
    rows.append(VariantRow(None, True, SELLERS_OWN, False, per.get((None, True), Metrics())))
    return rows


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
