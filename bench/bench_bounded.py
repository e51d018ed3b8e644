"""What the bounded decode costs per photo: the same checks and renditions run in this
process (the baseline, unbounded) and in a sandbox child, kept for the next call (as the
service runs) or fresh from the forkserver for every call; and the ffmpeg probe with and
without the played-time measurement. Medians of calls made in turn, in one run.

    .venv/bin/python bench/bench_bounded.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from media import images, sandbox, video  # noqa: E402
from media.samples import jpeg_bytes, make_clip, png_bytes, product_image  # noqa: E402
from media.sandbox import Limits  # noqa: E402

LIMITS = Limits.for_decode(10, 1024)
SCANS = 300


def paired_ms(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """Median ms of each of `fns`, called in turn within every run, so that the load of the
    moment (this machine is shared) falls on all of them alike."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, samples, strict=True):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return [statistics.median(x) * 1000 for x in samples]


def photos(tmp: Path) -> dict[str, Path]:
    made = {
        "4000×3000 JPEG": jpeg_bytes(product_image(4000, 3000, seed=1)),
        "1200×900 JPEG": jpeg_bytes(product_image(1200, 900, seed=3), orientation=6),
        "800×600 PNG": png_bytes(product_image(800, 600, seed=2)),
    }
    paths = {}
    for i, (name, data) in enumerate(made.items()):
        paths[name] = tmp / f"p{i}"
        paths[name].write_bytes(data)
    return paths


def row(label: str, base: float, reused: float, fresh: float) -> None:
    print(
        f"{label:30} {base:8.1f} {reused:8.1f} {fresh:8.1f}   "
        f"{reused - base:+7.1f} ms {fresh - base:+7.1f} ms"
    )


def bench_photos(paths: dict[str, Path], runs: int) -> None:
    print(
        f"{'photo, step':30} {'in-proc':>8} {'reused':>8} {'fresh':>8}   "
        "overhead: reused child, fresh child per call"
    )
    # Two pools side by side: the service's (children kept for the next call) and one that
    # keeps none, so that every call starts a child from the forkserver.
    reused, fresh = sandbox._Pool(sandbox.SPARES), sandbox._Pool(0)

    def bounded(pool, fn, *args):
        return lambda: pool.run(fn, args, LIMITS)

    for pool in (reused, fresh):
        pool.run(pow, (2, 2), LIMITS)  # the forkserver, started once per process
    row("trivial call (pow)", *paired_ms([
        lambda: pow(2, 10), bounded(reused, pow, 2, 10), bounded(fresh, pow, 2, 10)
    ], runs))  # fmt: skip
    for name, path in paths.items():
        for step, fn, args in (
            ("inspect", images._inspected, (str(path), 40_000_000, SCANS)),
            ("renditions", images._rendered, (str(path), 1080, 360, SCANS)),
        ):
            row(f"{name}, {step}", *paired_ms([
                lambda fn=fn, args=args: fn(*args),
                bounded(reused, fn, *args),
                bounded(fresh, fn, *args),
            ], runs))  # fmt: skip


def bench_probe(tmp: Path, runs: int) -> None:
    clip = make_clip(tmp / "clip.mp4", seconds=10, width=1080, height=1920)
    limits = Limits.for_decode(10, 1024)
    header, played = paired_ms([
        lambda: video.probe(clip, "video/mp4", limits=limits),
        lambda: video.probe(clip, "video/mp4", limits=limits, play_cap=180),
    ], runs)  # fmt: skip
    print(
        f"\nffmpeg probe, 10 s 1080×1920 clip: header only {header:.0f} ms, "
        f"with the played time {played:.0f} ms (+{played - header:.0f} ms)"
    )
    # preexec_fn makes subprocess fork instead of vfork: the cost of the rlimits themselves.
    version = [video.ffmpeg_exe(), "-hide_banner", "-version"]
    plain, limited = paired_ms([
        lambda: subprocess.run(version, capture_output=True, check=True),
        lambda: subprocess.run(
            version, capture_output=True, check=True,
            preexec_fn=partial(sandbox.set_limits, 10, 1024),
        ),
    ], runs)  # fmt: skip
    print(f"ffmpeg -version: plain {plain:.1f} ms, with rlimits {limited:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        bench_photos(photos(tmp), args.runs)
        bench_probe(tmp, args.runs)


if __name__ == "__main__":
    main()
