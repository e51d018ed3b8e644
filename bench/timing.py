"""What every benchmark prints: percentiles of measured seconds, as milliseconds."""

from __future__ import annotations


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p from 0 to 100) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def summary(name: str, values: list[float], width: int = 28) -> str:
    """'name  p50 …  p95 …  max …' for one series of seconds."""
    return (
        f"  {name:{width}} p50 {ms(percentile(values, 50))}  p95 {ms(percentile(values, 95))}"
        f"  max {ms(max(values))}"
    )
