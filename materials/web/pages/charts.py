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


# ---------------------------------------------------------------- 口碑指数

# One colour per dimension, in ratings.DIMENSIONS order (each ≥ 3:1 on white, for marks).
DIMENSION_COLORS = ("#d23017", "#b85300", "#3366d6", "#008055")
SCALE = 10.0


def dimension_bars(breakdown: Sequence[tuple[str, float]], width: int = 336, row: int = 30):
    """One horizontal bar per dimension on the 0-10 scale, its value at the end, and the 5.0
    line dashed across (the platforms' "meets general demand")."""
    label_w, num_w = 84, 40
    bar_w = width - label_w - num_w
    height = row * len(breakdown) + 4
    summary = "，".join(f"{name} {value:.1f}" for name, value in breakdown)
    parts = [
        f'<svg class="chart dim-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="各维度口碑：{escape(summary)}">'
    ]
    for i, (name, value) in enumerate(breakdown):
        y = i * row + 4
        w = max(2.0, bar_w * min(max(value, 0.0), SCALE) / SCALE)
        parts.append(
            f'<text x="0" y="{y + 17}" font-size="13" fill="#4e5969">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="14" rx="7" fill="#f2f3f5"/>'
            f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="14" rx="7" '
            f'fill="{DIMENSION_COLORS[i % len(DIMENSION_COLORS)]}"/>'
            f'<text x="{width}" y="{y + 17}" text-anchor="end" font-size="13" '
            f'fill="#1f2329">{value:.1f}</text>'
        )
    mid = label_w + bar_w / 2
    parts.append(
        f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="2" y2="{height}" stroke="#66707d" '
        'stroke-width="1" stroke-dasharray="3 3"/></svg>'
    )
    return Markup("".join(parts))


def selection_chart(
    products: Sequence[tuple[str, Sequence[float]]],
    names: Sequence[str],
    width: int = 720,
    height: int = 240,
):
    """Grouped bars: for each product (labelled by rank) its dimensions' indexes, 0-10, with the
    5.0 line dashed across."""
    left, right, top, bottom = 32, 8, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(products), 1)
    bar = min(14.0, slot * 0.8 / max(len(names), 1))

    def y(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), SCALE) / SCALE)

    parts = [
        f'<svg class="chart selection-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="前 {len(products)} 名商品的各维度口碑指数">'
    ]
    for value in (0, 5, 10):
        dash = ' stroke-dasharray="4 4"' if value == 5 else ""
        color = "#66707d" if value == 5 else "#e5e6eb"
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{color}" stroke-width="1"{dash}/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#66707d">{value}</text>'
        )
    for i, (label, values) in enumerate(products):
        x0 = left + i * slot + (slot - bar * len(values)) / 2
        for j, (name, value) in enumerate(zip(names, values, strict=True)):
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{y(value):.1f}" width="{bar - 1:.1f}" '
                f'height="{y(0) - y(value):.1f}" fill="{DIMENSION_COLORS[j]}">'
                f"<title>{escape(label)} {escape(name)} {value:.1f}</title></rect>"
            )
        parts.append(
            f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 8}" text-anchor="middle" '
            f'font-size="12" fill="#66707d">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
