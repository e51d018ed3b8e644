"""Highlighted snippets as safe HTML: every character of the material is escaped, and only the
``<mark>`` tags we add are markup.

We do not use whoosh.highlight: it re-analyses in query mode (which would not mark 防晒 inside
防晒霜) and its fragment formatter mangles the overlapping tokens search-mode jieba produces
(防晒霜 and 防晒 cover the same characters). Nor do we re-run jieba on each hit (that was most
of a query's time): a Chinese query word is marked wherever it occurs as a substring, which is
where search-mode segmentation finds it too, and only Latin runs go through the analyzer, for
case folding and stemming.
"""

from __future__ import annotations

import html
from collections.abc import Set

from markupsafe import Markup

from search.analysis import HAN_RE, LATIN_RUN_RE, latin_terms

ELLIPSIS = "…"


def matched_spans(text: str, terms: Set[str]) -> list[tuple[int, int]]:
    """Merged, sorted character spans of ``text`` whose indexed words are in ``terms``."""
    if not terms:
        return []
    terms = frozenset(terms)
    spans = []
    for term in terms:
        if HAN_RE.fullmatch(term):
            start = text.find(term)
            while start >= 0:
                spans.append((start, start + len(term)))
                start = text.find(term, start + len(term))
    for run in LATIN_RUN_RE.finditer(text):
        if not terms.isdisjoint(latin_terms(run.group(), parts=True)):
            spans.append(run.span())
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(length: int, spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """The ``width`` characters to show: start a little before the window holding most hits."""
    if length <= width:
        return 0, length
    best_start, best_hits = 0, -1
    for i, (start, _) in enumerate(spans):
        hits = sum(1 for s, e in spans[i:] if e <= start + width)
        if hits > best_hits:
            best_start, best_hits = start, hits
    start = max(0, min(best_start - width // 5, length - width))
    return start, start + width


def highlight(text: str, terms: Set[str], *, width: int | None = None) -> Markup:
    """``text`` (cut to ``width`` characters around the best match) with matches in <mark>."""
    text = text or ""
    spans = matched_spans(text, terms)
    lo, hi = _window(len(text), spans, width) if width else (0, len(text))
    # Plain strings and one Markup at the end: a Markup per piece was a third of a query.
    out = [ELLIPSIS] if lo > 0 else []
    pos = lo
    for start, end in spans:
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        out += [_escape(text[pos:start]), "<mark>", _escape(text[start:end]), "</mark>"]
        pos = end
    out.append(_escape(text[pos:hi]))
    if hi < len(text):
        out.append(ELLIPSIS)
    return Markup("".join(out))


def _escape(text: str) -> str:
    return html.escape(text, quote=True)
