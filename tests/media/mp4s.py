"""Reading MP4s back for the end-card tests: ffprobe (Debian's ffmpeg, a separate build from
the one the service runs), a full decode, the last frame, and per-packet hashes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from PIL import Image

from media.video import ffmpeg_exe


def ffprobe(path: str | Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return json.loads(out.stdout)


def duration(path: str | Path) -> float:
    return float(ffprobe(path)["format"]["duration"])


def stream(path: str | Path, kind: str) -> dict | None:
    return next((s for s in ffprobe(path)["streams"] if s["codec_type"] == kind), None)


def decode_errors(path: str | Path) -> str:
    """What ffmpeg says decoding every frame of every stream: empty when it plays through."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stderr.decode("utf-8", "replace").strip()


def last_frame(path: str | Path, tmp: Path) -> Image.Image:
    """The video's last decoded frame (every frame of the last 0.5 s written over one file)."""
    png = tmp / f"{Path(path).stem}-last.png"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-sseof", "-0.5", "-i", str(path),
         "-map", "0:v:0", "-update", "1", "-f", "image2", str(png)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with Image.open(png) as image:
        return image.convert("RGB")


def packet_hashes(path: str | Path, kind: str = "v") -> list[str]:
    """The MD5 of each packet of the first `kind` stream, as stored (nothing decoded)."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-map", f"0:{kind}:0",
         "-c", "copy", "-f", "framemd5", "-"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    lines = out.stdout.decode().splitlines()
    return [ln.rsplit(",", 1)[-1].strip() for ln in lines if ln and not ln.startswith("#")]
