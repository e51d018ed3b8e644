"""Query-string values the pages read. Pages forgive: a value they cannot use falls back to
the default (the JSON API, which answers programs, refuses with a 422 instead)."""

from __future__ import annotations

from flask import request

from materials.validation import small_int
from materials.web.pages.charts import STATS_RANGES


def page_arg(last: int) -> int:
    """?page=, from 1 to `last`."""
    page = small_int(request.args.get("page"))
    return max(1, min(page, last)) if page is not None else 1


def days_arg(default: int = 30) -> int:
    """?days=, one of the stats pages' ranges."""
    days = small_int(request.args.get("days"))
    return days if days in STATS_RANGES else default


def choice_arg(name: str, choices: object, default: str) -> str:
    value = request.args.get(name, default)
    return value if value in choices else default  # type: ignore[operator]
