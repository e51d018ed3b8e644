"""The stats pages' period and series, and small inline SVG charts drawn on the server: no
chart library, no script, and no inline style (the Content-Security-Policy forbids it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from materials.platform.deps import Deps
from materials.sharing import stats

SERIES = (("forwards", "转发"), ("clicks", "点击"), ("orders", "订单"))


def _nice_max(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value`."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if step * m >= max(value, 1):
                return step * m
        step *= 10


def day_chart(days: Sequence[tuple[date, dict[str, int]]], width: int = 720, height: int = 220):
    """Lines for forwards, valid clicks and orders per day, with a y axis and date ticks."""
    left, right, top, bottom = 40, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _, d in days for v in d.values()), default=0))
    n = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: int) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="每日转发、点击、订单">'
    ]
    for value in (0, top_value // 2, top_value) if top_value >= 2 else (0, top_value):
        gy = y(value)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{gy:.1f}" y2="{gy:.1f}" '
            'stroke="#e5e6eb" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#66707d">{value}</text>'
        )
    last = len(days) - 1
    for i in sorted({0, last // 2, last}) if days else ():
        # The end labels hug the plot's edges so they are never clipped.
        anchor = "start" if i == 0 else "end" if i == last else "middle"
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="12" '
            f'fill="#66707d">{days[i][0].strftime("%m-%d")}</text>'
        )
    colors = {"forwards": "#e8452c", "clicks": "#f08a4b", "orders": "#00a870"}
    for key, name in SERIES:
        points = " ".join(f"{x(i):.1f},{y(d.get(key, 0)):.1f}" for i, (_, d) in enumerate(days))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colors[key]}" stroke-width="2" '
            f'stroke-linejoin="round"><title>{escape(name)}</title></polyline>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel(steps: Sequence[tuple[str, int]], width: int = 480, row: int = 34):
    """Horizontal bars, each as wide as its share of the first step."""
    label_w, num_w = 64, 72
    bar_w = width - label_w - num_w
    first = max(steps[0][1], 1) if steps else 1
    colors = ("#e8452c", "#f08a4b", "#00a870", "#3366d6")
    height = row * len(steps)
    parts = [
        f'<svg class="chart funnel-chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-label="转发 → 点击 → 订单">'
    ]
    for i, (name, value) in enumerate(steps):
        w = max(2.0, bar_w * min(value, first) / first) if value else 2.0
        cy = i * row + row / 2
        parts.append(
            f'<text x="0" y="{cy + 5:.1f}" font-size="14" fill="#4e5969">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{i * row + 6}" width="{w:.1f}" height="{row - 12}" rx="4" '
            f'fill="{colors[i % len(colors)]}"/>'
            f'<text x="{width}" y="{cy + 5:.1f}" text-anchor="end" font-size="14" '
            f'fill="#1f2329">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


STATS_RANGES = (7, 30, 90)


def stats_period(deps: Deps, days: int) -> stats.Period:
    """The last `days` local days, today included."""
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(deps.settings.TIMEZONE)).date()
    first = today - timedelta(days=days - 1)
    return stats.parse_period(deps, first.isoformat(), today.isoformat(), now)


def chart_series(metrics: stats.Metrics) -> dict[str, int]:
    return {"forwards": metrics.forwards, "clicks": metrics.clicks_valid, "orders": metrics.orders}
