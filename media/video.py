"""Videos: probe, transcode to H.264/AAC MP4 with faststart, take a poster frame.

Uses the ffmpeg that imageio-ffmpeg ships and moviepy's parser for ffmpeg's stream report.
ffmpeg trap (shared/FACTS.md): it detects HLS and concat playlists by content, so a playlist
named clip.mp4 can make it read other local files. Every call here therefore forces the input
demuxer that our own sniffing chose and whitelists only the `file` protocol.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from media.images import MediaRejected

DEMUXER = {"video/mp4": "mov", "video/quicktime": "mov", "video/webm": "matroska"}
# What ffmpeg reports as the container for each demuxer we force; anything else is refused.
ALLOWED_FORMAT_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _safe_input(path: str | Path, mime: str) -> list[str]:
    return ["-protocol_whitelist", "file", "-f", DEMUXER[mime], "-i", f"file:{path}"]


@dataclass(frozen=True)
class VideoInfo:
    format_name: str
    duration: float
    width: int  # as displayed (rotation applied)
    height: int
    has_audio: bool


def probe(path: str | Path, mime: str, timeout: float = 30) -> VideoInfo:
    if mime not in DEMUXER:
        raise MediaRejected("unsupported_type", f"{mime} is not an accepted video container")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *_safe_input(path, mime)]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaRejected("unreadable_video", "probing the video timed out") from None
    report = out.stderr.decode("utf-8", "replace")
    match = re.search(r"^Input #0, ([^ ]+), from", report, re.M)
    if not match or match.group(1).rstrip(",") not in ALLOWED_FORMAT_NAMES:
        raise MediaRejected("unreadable_video", "not a readable MP4, MOV or WebM video")
    return _parse_report(report, str(path), match.group(1).rstrip(","))


def _parse_report(report: str, path: str, format_name: str) -> VideoInfo:
    from moviepy.video.io.ffmpeg_reader import FFmpegInfosParser

    try:
        infos = FFmpegInfosParser(report, path, check_duration=True).parse()
    except Exception:  # moviepy raises bare IndexError/ValueError on odd reports
        raise MediaRejected("unreadable_video", "ffmpeg could not read the video stream") from None
    if not infos.get("video_found"):
        raise MediaRejected("no_video_stream", "the file has no video stream")
    width, height = infos["video_size"]
    if infos.get("video_rotation", 0) in (90, 270, -90, -270):
        width, height = height, width
    return VideoInfo(
        format_name=format_name,
        duration=float(infos.get("duration") or 0.0),
        width=int(width),
        height=int(height),
        has_audio=bool(infos.get("audio_found")),
    )


def target_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Scale so the short side is at most `short_side`; both sides even, as H.264 wants."""
    scale = min(1.0, short_side / min(width, height))
    return (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))


def transcode(
    src: str | Path,
    mime: str,
    info: VideoInfo,
    dst: str | Path,
    short_side: int,
    timeout: float = 600,
) -> tuple[int, int]:
    """H.264 (yuv420p) + AAC in MP4 with the index at the front; metadata dropped."""
    w, h = target_size(info.width, info.height, short_side)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        *_safe_input(src, mime),
        "-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1",
        "-vf", f"scale={w}:{h}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
        "-pix_fmt", "yuv420p", "-profile:v", "high",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2",
        "-movflags", "+faststart", "-f", "mp4", f"file:{dst}",
    ]  # fmt: skip
    _run(cmd, timeout, "transcoding")
    return w, h


def poster(src_mp4: str | Path, duration: float, dst: str | Path, timeout: float = 60) -> None:
    """A JPEG frame about a second in (the first frame is often black)."""
    at = min(1.0, duration / 3) if duration else 0.0
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-ss", f"{at:.2f}", *_safe_input(src_mp4, "video/mp4"),
        "-frames:v", "1", "-q:v", "3", "-map_metadata", "-1", "-f", "image2", f"file:{dst}",
    ]  # fmt: skip
    _run(cmd, timeout, "taking the poster frame")


def _run(cmd: list[str], timeout: float, what: str) -> None:
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} timed out after {timeout:.0f} s") from None
    if out.returncode != 0:
        tail = out.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        reason = " / ".join(tail) or f"ffmpeg exit {out.returncode}"
        raise RuntimeError(f"{what} failed: {reason}")
