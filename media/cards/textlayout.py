"""Line breaking for Chinese (and mixed Chinese/Latin) copy, by measured width.

Rules, after the usual kinsoku shori:
- a line never starts with closing punctuation (。，、！？；：）」』》】”’… and ASCII kin);
- a line never ends with opening punctuation (（「『《【“‘ and ASCII kin);
- Latin words and digit runs ("SPF50+", "iPhone", "99.9%") are never split unless one alone is
  wider than the line;
- explicit newlines are kept; a box of `max_lines` ends with "…" when the text does not fit.

The measure is a callable (text -> width), so the rules are testable without a font.
"""

import re
from collections.abc import Callable, Iterable

Measure = Callable[[str], float]

ELLIPSIS = "…"
CLOSING = frozenset("。，、！？；：）」』》】〕〉”’…‥・·%.,!?;:)]}")
OPENING = frozenset("（「『《【〔〈“‘([{¥$")
# Left dangling before an ellipsis, these read as a stammer: "一抹成膜，…".
_TRAILING_BEFORE_ELLIPSIS = frozenset("，、；：,;: ") | OPENING

# A "word": Latin letters and digits with the joiners that live inside product names and numbers
# (SPF50+, 99.9%, 3-5, A/B, Dr.Jart+, don't).
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+\-./%&'_#@]*")
_SPACE = re.compile(r"[ \t\u3000]+")


def tokenize(paragraph: str) -> list[str]:
    """Split one paragraph into unbreakable tokens: words, runs of spaces, single characters."""
    tokens: list[str] = []
    i = 0
    while i < len(paragraph):
        match = _WORD.match(paragraph, i) or _SPACE.match(paragraph, i)
        end = match.end() if match else i + 1
        tokens.append(" " if match and match.re is _SPACE else paragraph[i:end])
        i = end
    return tokens


def _is_space(token: str) -> bool:
    return token == " "


def glue(tokens: Iterable[str]) -> list[str]:
    """Join tokens that must share a line: closing punctuation onto what precedes it (across a
    space too), opening punctuation onto what follows it."""
    atoms: list[str] = []
    for token in tokens:
        prev = atoms[-1] if atoms else ""
        if prev and token[0] in CLOSING and not _is_space(token):
            if _is_space(prev) and len(atoms) > 1:
                atoms.pop()
                atoms[-1] += prev
            atoms[-1] += token
        elif prev.rstrip()[-1:] in OPENING and prev.strip():
            atoms[-1] += token
        else:
            atoms.append(token)
    return atoms


def _split_wide(atom: str, width: float, measure: Measure) -> list[str]:
    """Break an atom wider than the line by characters: the last resort for a huge word."""
    pieces, current = [], ""
    for char in atom:
        if current and measure(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return pieces + [current]


def _fill(atoms: list[str], width: float, measure: Measure) -> list[str]:
    """Greedy fill: an atom goes on the current line if it fits, else it starts the next one.
    Widths are summed per atom (measuring whole candidate lines again and again is quadratic),
    which is exact for Han text and close enough within Latin words, measured whole."""
    lines: list[str] = []
    line, line_w = "", 0.0
    for atom in atoms:
        if _is_space(atom):
            if line:
                line, line_w = line + atom, line_w + measure(atom)
            continue
        atom_w = measure(atom)
        if line and line_w + atom_w > width:
            lines.append(line.rstrip())
            line, line_w = "", 0.0
        if not line and atom_w > width:
            *full, atom = _split_wide(atom, width, measure)
            lines.extend(full)
            atom_w = measure(atom)
        line, line_w = line + atom, line_w + atom_w
    return lines + [line.rstrip()]


def _with_ellipsis(line: str, width: float, measure: Measure) -> str:
    """Shorten `line` until it ends cleanly with an ellipsis inside `width`."""
    while line and (measure(line + ELLIPSIS) > width or line[-1] in _TRAILING_BEFORE_ELLIPSIS):
        line = line[:-1]
    return line + ELLIPSIS


def _memo(measure: Measure) -> Measure:
    widths: dict[str, float] = {}

    def measured(text: str) -> float:
        if text not in widths:
            widths[text] = measure(text)
        return widths[text]

    return measured


def break_lines(
    text: str, width: float, measure: Measure, max_lines: int | None = None
) -> list[str]:
    """Lay `text` out in lines no wider than `width`; at most `max_lines`, the last ending in "…"
    when something was cut."""
    if max_lines is not None and max_lines < 1:
        return []
    measure = _memo(measure)
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        lines.extend(_fill(glue(tokenize(paragraph.strip())), width, measure))
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _with_ellipsis(lines[-1], width, measure)
    return lines


def strip_unrenderable(text: str, has_glyph: Callable[[str], bool]) -> str:
    """Drop characters the font cannot draw (emoji in 微商 copy are the usual case), which would
    otherwise come out as tofu boxes, and tidy the spaces they leave behind."""
    kept = "".join(c for c in text if c.isspace() or has_glyph(c))
    return re.sub(r"[ \t]{2,}", " ", kept)
