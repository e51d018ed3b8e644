"""What a new seller's stamped video costs: the end card joined by stream copy (A), against
re-encoding the whole clip with moviepy's composition path (B), the way many would do it.

A is what GET /cards/<material>/<code>/video.mp4 does the first time for a seller: the square
card stamped on the material's cached base, the end frame, the ~2 s segment encoded to the
video's parameters, both read back and compared, the concat demuxer's -c copy (+faststart).
B is concatenate_videoclips([video, ImageClip(end frame) for 2 s], method="compose") (a
CompositeVideoClip) and write_videofile with the transcode's own encoder settings.

Both start from the same 15 s 720p H.264/AAC clip (a 1080×1920 phone-like clip through the
service's transcode), run interleaved A, B, A, B … in one process, and are checked: duration,
and the QR of the last frame read back.

    .venv/bin/python bench/bench_endcard.py [--runs 2]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image  # noqa: E402

from media import endcard, video  # noqa: E402
from media.cards import render_base, render_card  # noqa: E402
from media.cards.testing import SAMPLE_CONTENT, sample_photo  # noqa: E402
from media.samples import make_clip  # noqa: E402
from media.sandbox import Limits  # noqa: E402

LIMITS = video.transcode_limits(Limits.for_decode(10, 1024), endcard.END_SECONDS)
TARGET_SECONDS = 0.5
URL = "https://sucai.example.com/r/{code}/2147483647"


def clip_720p(tmp: Path) -> Path:
    src = make_clip(tmp / "phone.mp4", seconds=15, width=1080, height=1920)
    info = video.probe(src, "video/mp4", limits=LIMITS)
    out = tmp / "video.mp4"
    big = Limits(300, 2048, 600)
    video.transcode(src, "video/mp4", info, out, 720, limits=big, max_seconds=180)
    return out


def card_for(base: Image.Image, code: str) -> Image.Image:
    jpeg = render_card(base, "square", "小美的好物铺", code, URL.format(code=code))
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.convert("RGB")


def run_a(clip: Path, base: Image.Image, code: str, out: Path) -> None:
    endcard.stamp(clip, card_for(base, code), out, limits=LIMITS)


def run_b(clip: Path, base: Image.Image, code: str, out: Path) -> None:
    from moviepy import ImageClip, VideoFileClip, concatenate_videoclips

    with VideoFileClip(str(clip)) as main:
        frame = endcard.end_frame(card_for(base, code), main.size)
        end = ImageClip(np.asarray(frame)).with_duration(endcard.END_SECONDS)
        joined = concatenate_videoclips([main, end], method="compose")
        joined.write_videofile(
            str(out),
            fps=main.fps,
            codec="libx264",
            audio_codec="aac",
            audio_bitrate="128k",
            preset="veryfast",
            ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p", "-profile:v", "high"],
            logger=None,
        )


def last_frame_qr(path: Path, tmp: Path) -> list[str]:
    png = tmp / f"{path.stem}-last.png"
    subprocess.run(
        [video.ffmpeg_exe(), "-v", "error", "-y", "-sseof", "-0.5", "-i", str(path),
         "-update", "1", str(png)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with Image.open(png) as image:
        return [b.text for b in zxingcpp.read_barcodes(image)]


def seconds(path: Path) -> float:
    out = subprocess.run(
        [video.ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    times = [ln for ln in out.stderr.decode().split("\r") if "time=" in ln]
    hms = times[-1].split("time=")[1].split()[0]
    h, m, s = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg): what the work costs,
    whatever else the shared machine is running (the wall clock counts the waiting too)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="pairs of A and B (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-endcard-") as name:
        tmp = Path(name)
        clip = clip_720p(tmp)
        stream = endcard.read_stream(clip, limits=LIMITS)
        print(f"clip: {stream.width}x{stream.height} {stream.profile} {stream.level} "
              f"{float(stream.frame_rate):g} fps, AAC {stream.audio_rate} Hz, "
              f"{seconds(clip):.2f} s")  # fmt: skip
        # The material's base is rendered once per version and kept: not a new seller's cost.
        base = render_base(sample_photo(1600, 1200), SAMPLE_CONTENT, "square")
        timed: dict[str, list[float]] = {"A": [], "B": []}
        cpu: dict[str, list[float]] = {"A": [], "B": []}
        for i in range(args.runs):
            for label, fn in (("A", run_a), ("B", run_b)):
                code, out = f"S{i:02d}{label}XY", tmp / f"{label}{i}.mp4"
                t, c = time.perf_counter(), cpu_seconds()
                fn(clip, base, code, out)
                took, used = time.perf_counter() - t, cpu_seconds() - c
                timed[label].append(took)
                cpu[label].append(used)
                qr = last_frame_qr(out, tmp)
                ok = qr == [URL.format(code=code)]
                print(f"  run {i + 1} {label}: {took:7.3f} s wall, {used:7.3f} s CPU   "
                      f"{seconds(out):.2f} s long, "
                      f"last frame's QR {'reads' if ok else 'FAILED: ' + repr(qr)}")  # fmt: skip
        a, b = statistics.median(timed["A"]), statistics.median(timed["B"])
        ca, cb = statistics.median(cpu["A"]), statistics.median(cpu["B"])
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"A  end card + segment + stream-copy join  median {a:7.3f} s wall {ca:7.3f} s CPU"
              f"  (best {min(timed['A']):.3f} s wall)")  # fmt: skip
        print(f"B  moviepy compose + write_videofile       median {b:7.3f} s wall {cb:7.3f} s CPU"
              f"  (best {min(timed['B']):.3f} s wall)")  # fmt: skip
        print(f"B/A: {b / a:.1f}x wall, {cb / ca:.1f}x CPU   target A <= {TARGET_SECONDS} s wall: "
              f"{'met' if a <= TARGET_SECONDS else 'NOT met'}   (load average {load})")  # fmt: skip


if __name__ == "__main__":
    main()
