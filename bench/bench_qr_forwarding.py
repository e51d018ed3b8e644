"""Do the cards' QR codes survive forwarding? Every kind of card, after every degradation in
media/cards/testing.py DEGRADATIONS, read by both decoders in tests/media/decoders.py.

    .venv/bin/python bench/bench_qr_forwarding.py [--url URL ...] [--save DIR] [--margin]

Prints one table per url: "ok" when the decoder answered exactly that url and nothing else,
else what it answered ("-" for nothing). tests/media/test_qr_forwarding.py asserts the same.
--margin adds harsher conditions than the issue asks for, to show how much room is left.
"""

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from media.cards.testing import (  # noqa: E402
    DEGRADATIONS,
    LOCAL_REFERRAL_URL,
    LONG_REFERRAL_URL,
    downscale,
    photographed,
    recompress,
    sample_card_renderers,
)
from tests.media.decoders import DECODERS  # noqa: E402

MARGIN = {
    "0.30": lambda image: downscale(image, 0.30),
    "0.28": lambda image: downscale(image, 0.28),
    "0.30-q50": lambda image: recompress(downscale(image, 0.30), 50),
    "third-q30": lambda image: recompress(downscale(image, 1 / 3), 30),
    "half-q20": lambda image: recompress(downscale(image, 1 / 2), 20),
    "blur2-tilt": lambda image: photographed(image, blur=2.0),
    "blur-tilt15": lambda image: photographed(image, tilt=15.0),
}


def verdict(found: list[str], url: str) -> str:
    if found == [url]:
        return "ok"
    return " | ".join(found)[:24] or "-"


def table(
    renderers: dict, conditions: dict, url: str, save: Path | None
) -> tuple[list[str], int, int]:
    rows, passed, total = [], 0, 0
    for card, render in renderers.items():
        with Image.open(io.BytesIO(render(url))) as image:
            image.load()
        for degradation, degrade in conditions.items():
            seen = degrade(image)
            if save:
                seen.save(save / f"{card}-{degradation}.png")
            cells = [verdict(read(seen), url) for read in DECODERS.values()]
            passed += cells.count("ok")
            total += len(cells)
            rows.append(f"{card:12} {degradation:10} " + " ".join(f"{c:>10}" for c in cells))
    return rows, passed, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", action="append", help="urls to encode (default: two referrals)")
    parser.add_argument("--save", type=Path, help="write every degraded card here as PNG")
    parser.add_argument("--margin", action="store_true", help="add harsher conditions")
    args = parser.parse_args()
    conditions = DEGRADATIONS | (MARGIN if args.margin else {})
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    renderers = sample_card_renderers()
    failed = 0
    for url in args.url or [LONG_REFERRAL_URL, LOCAL_REFERRAL_URL]:
        rows, passed, total = table(renderers, conditions, url, args.save)
        print(f"\n{url} ({len(url)} characters)")
        print(f"{'card':12} {'degraded':10} " + " ".join(f"{d:>10}" for d in DECODERS))
        print("\n".join(rows))
        print(f"{passed} of {total} read exactly")
        failed += total - passed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
