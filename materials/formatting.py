"""Money and time as people and clients read them: the one place they are formatted.

Money is integer cents everywhere inside; no float ever holds a price. (The card renderer in
media/cards draws its own "¥89.00" label: it is a library and takes cents.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def yuan(cents: int | None) -> str | None:
    """The API's form, always two decimals: 8990 -> "89.90"; None stays None."""
    if cents is None:
        return None
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def yuan_short(cents: int | None) -> str:
    """The pages' form: whole yuan without decimals, 8900 -> "89", 8990 -> "89.90"."""
    if cents is None:
        return ""
    text = yuan(cents) or ""
    return text.removesuffix(".00")


def excerpt(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis (share-card blurbs)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def iso(when: datetime | None) -> str | None:
    """UTC, ISO 8601 with a Z: 2026-12-01T08:00:00Z."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def local_time(when: datetime | None, zone: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return when.astimezone(ZoneInfo(zone)).strftime(fmt) if when else ""


def parse_local(value: str | None, zone: str) -> datetime | None:
    """An <input type=datetime-local> value, read in `zone`, as UTC; None if unreadable."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        return None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=ZoneInfo(zone))
    return naive.astimezone(UTC)
