"""Videos: probe, transcode to H.264/AAC MP4 with faststart, take a poster frame.

Uses the ffmpeg that imageio-ffmpeg ships and moviepy's parser for ffmpeg's stream report.
ffmpeg trap (shared/FACTS.md): it detects HLS and concat playlists by content, so a playlist
named clip.mp4 can make it read other local files. Every call here therefore forces the input
demuxer that our own sniffing chose and whitelists only the `file` protocol.

Every ffmpeg runs under the limits its caller passes: CPU seconds and address space set with
setrlimit in the child before exec, and a wall-clock timeout after which it is killed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from media.images import MediaRejected
from media.sandbox import Limits, set_limits

DEMUXER = {"video/mp4": "mov", "video/quicktime": "mov", "video/webm": "matroska"}
# What ffmpeg reports as the container for each demuxer we force; anything else is refused.
ALLOWED_FORMAT_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def safe_input(path: str | Path, mime: str) -> list[str]:
    return ["-protocol_whitelist", "file", "-f", DEMUXER[mime], "-i", f"file:{path}"]


@dataclass(frozen=True)
class VideoInfo:
    format_name: str
    duration: float
    width: int  # as displayed (rotation applied)
    height: int
    has_audio: bool
    # What ffmpeg actually plays (edit lists applied), measured up to the cap asked for + 1 s;
    # None when not measured. The headers' `duration` can say 2 s of a clip that plays 10 min.
    played: float | None = None


def probe(
    path: str | Path, mime: str, *, limits: Limits, play_cap: float | None = None
) -> VideoInfo:
    """Container, streams and header duration; with `play_cap`, also the seconds ffmpeg plays.

    Playing is measured by copying the streams into the null muxer, stopped at `play_cap` + 1
    s: the demuxer applies the edit lists as a transcode would, but nothing is decoded, so
    it costs milliseconds. The same run prints the stream report the probe parses."""
    if mime not in DEMUXER:
        raise MediaRejected("unsupported_type", f"{mime} is not an accepted video container")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *safe_input(path, mime)]
    if play_cap is not None:
        cmd += [
            "-nostats", "-progress", "pipe:1", "-map", "0:v:0?", "-map", "0:a:0?",
            "-c", "copy", "-t", f"{play_cap + 1:.3f}", "-f", "null", "-",
        ]  # fmt: skip
    out = bounded(cmd, limits, "probing")
    report = out.stderr.decode("utf-8", "replace")
    match = re.search(r"^Input #0, ([^ ]+), from", report, re.M)
    if not match or match.group(1).rstrip(",") not in ALLOWED_FORMAT_NAMES:
        raise MediaRejected("unreadable_video", "not a readable MP4, MOV or WebM video")
    info = _parse_report(input_part(report), str(path), match.group(1).rstrip(","))
    if play_cap is None:
        return info
    if out.returncode != 0:  # the playing time is unknown: the cap cannot be said to hold
        raise MediaRejected("unreadable_video", f"ffmpeg could not play it through: {tail(out)}")
    return VideoInfo(**{**info.__dict__, "played": _played(out.stdout)})


def input_part(report: str) -> str:
    """The report on the input alone: moviepy's parser misreads the null output's streams."""
    return re.split(r"^(?:Stream mapping:|Output #0)", report, maxsplit=1, flags=re.M)[0]


def _played(progress: bytes) -> float:
    """The last out_time_us ffmpeg's -progress reported (microseconds; N/A before any)."""
    times = re.findall(rb"^out_time_us=(\d+)", progress, re.M)
    return int(times[-1]) / 1e6 if times else 0.0


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


# Measured here (2 cores, busy): a 1080×1920 clip took 0.9 CPU-s and 1.9 s of wall clock per
# second of clip, a 3840×2160 one 1.0 and 1.6. The limits leave room for heavier sources.
CPU_PER_CLIP_SECOND = 6.0
WALL_PER_CLIP_SECOND = 4.0


def transcode_limits(base: Limits, seconds: float) -> Limits:
    """Limits for transcoding `seconds` of clip: `base` plus a share per second of it."""
    return Limits(
        cpu_seconds=base.cpu_seconds + CPU_PER_CLIP_SECOND * seconds,
        memory_mb=base.memory_mb,
        wall_seconds=base.wall_seconds + WALL_PER_CLIP_SECOND * seconds,
    )


# The transcode's encoders. The video end card (endcard.py) encodes its segment with exactly
# these, so its parameter sets match the video's and the two join by stream copy: x264 derives
# its PPS from the rate control (CRF 23 gives pic_init_qp 23), its SPS from these and the size.
H264 = [
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
    "-profile:v", "high",
]  # fmt: skip
AAC = ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]


def transcode(
    src: str | Path,
    mime: str,
    info: VideoInfo,
    dst: str | Path,
    short_side: int,
    *,
    limits: Limits,
    max_seconds: float,
) -> tuple[int, int]:
    """H.264 (yuv420p) + AAC in MP4 with the index at the front; metadata dropped; never
    longer than `max_seconds`, whatever the source's edit lists make it play."""
    w, h = target_size(info.width, info.height, short_side)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        *safe_input(src, mime), "-t", f"{max_seconds:.3f}",
        "-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1",
        "-vf", f"scale={w}:{h}", *H264, *AAC,
        "-movflags", "+faststart", "-f", "mp4", f"file:{dst}",
    ]  # fmt: skip
    run(cmd, limits, "transcoding")
    return w, h


def poster(src_mp4: str | Path, duration: float, dst: str | Path, *, limits: Limits) -> None:
    """A JPEG frame about a second in (the first frame is often black)."""
    at = min(1.0, duration / 3) if duration else 0.0
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-ss", f"{at:.2f}", *safe_input(src_mp4, "video/mp4"),
        "-frames:v", "1", "-q:v", "3", "-map_metadata", "-1", "-f", "image2", f"file:{dst}",
    ]  # fmt: skip
    run(cmd, limits, "taking the poster frame")


def run(cmd: list[str], limits: Limits, what: str) -> None:
    out = bounded(cmd, limits, what)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed: {tail(out)}")


def tail(out: subprocess.CompletedProcess[bytes]) -> str:
    lines = out.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
    return " / ".join(lines) or f"ffmpeg exit {out.returncode}"


def bounded(cmd: list[str], limits: Limits, what: str) -> subprocess.CompletedProcess[bytes]:
    """ffmpeg under `limits`; a breach raises MediaRejected("too_costly")."""
    try:
        out = subprocess.run(
            cmd,
            capture_output=True,
            timeout=limits.wall_seconds,
            check=False,
            # Only setrlimit runs between fork and exec: no lock another thread could hold.
            preexec_fn=partial(set_limits, limits.cpu_seconds, limits.memory_mb),
            env=_ffmpeg_env(),
        )
    except subprocess.TimeoutExpired:
        raise _too_costly(what, f"took more than {limits.wall_seconds:.0f} s") from None
    if out.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise _too_costly(what, f"used more than {limits.cpu_seconds:.0f} s of CPU")
    if out.returncode != 0 and any(m in out.stderr for m in _OUT_OF_MEMORY):
        raise _too_costly(what, f"needed more than {limits.memory_mb} MB")
    return out


# How ffmpeg fails when RLIMIT_AS stops it: a failed allocation, or a thread whose stack
# (8 MB of address space each) cannot be mapped.
_OUT_OF_MEMORY = (b"Cannot allocate memory", b"pthread_create() failed")


def _too_costly(what: str, detail: str) -> MediaRejected:
    return MediaRejected("too_costly", f"{what} the video {detail}")


def _ffmpeg_env() -> dict[str, str]:
    # glibc reserves 64 MB of address space per thread arena: ffmpeg's threads hit a 1 GB
    # address-space limit while using 180 MB. Two arenas make RLIMIT_AS measure real use.
    return {**os.environ, "MALLOC_ARENA_MAX": "2"}
