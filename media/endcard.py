"""The video end card: ~2 s of the seller's card after the material's video, with no re-encode.

Only the end segment is encoded: a still of the card, by the transcode's own encoders
(video.H264, video.AAC) at exactly the video's size, frame rate, track timescale, aspect and
colour signalling, with a silent AAC track at its sample rate and channels when it has audio.
Then the two files are joined by ffmpeg's concat demuxer with `-c copy` (+faststart): the
video's packets are copied as they are, so a stamped video costs the segment and a copy.

Stream copy is only sound when the segment's H.264 parameter sets (SPS and PPS) are the
video's: the joined file keeps the video's in its sample entry, and a decoder would read the
segment's slices with them. So the parameter sets of both are read back (ffmpeg's
trace_headers, the syntax elements one by one) and compared before anything is joined; a
difference is an EndCardMismatch naming the fields, never a file that plays garbage.

Every ffmpeg run here is bounded like the transcode (video.bounded: CPU, address space, wall
clock) and whitelists the `file` protocol; inputs are our own transcoded video and our own
files, their demuxers forced where ffmpeg lets us.
"""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageEnhance, ImageFilter

from media import video
from media.sandbox import Limits

END_SECONDS = 2.0
# Part of the stamped video's cache key: bump it when the frame or the segment changes.
END_CARD_VERSION = "1"
MARGIN = 0.04  # around the card, of the frame's shorter side
BACKDROP_BLUR = 28
BACKDROP_BRIGHTNESS = 0.55

PROFILES = {66: "baseline", 77: "main", 100: "high"}
# One traced syntax element: bit offset, name (maybe indexed), bits, "= value".
_TRACE_LINE = re.compile(r"^\d+\s+(\w+)(?:\[[^\]]*\])*\s+[01]*\s*= (-?\d+)$")


class EndCardMismatch(Exception):
    """The segment could not be made to match the video: joining them would corrupt it."""


@dataclass(frozen=True)
class Stream:
    """What an end segment must match in a transcoded video, read from the file itself."""

    width: int
    height: int
    pix_fmt: str
    timescale: int  # the video track's (ffmpeg's "tbn")
    sps: dict[str, int]  # the SPS's syntax elements that the encoder's options decide
    parameter_sets: str  # SPS and PPS, element by element: what must be identical
    audio_rate: int | None  # AAC sample rate, None without an audio track
    audio_channels: int | None

    @property
    def profile(self) -> str:
        return PROFILES[self.sps["profile_idc"]]

    @property
    def level(self) -> str:
        return f"{self.sps['level_idc'] / 10:g}"

    @property
    def frame_rate(self) -> Fraction:
        """From the SPS timing (x264 writes 2 ticks a frame): exactly the encoder's rate."""
        return Fraction(self.sps["time_scale"], 2 * self.sps["num_units_in_tick"])


def read_stream(path: str | Path, *, limits: Limits) -> Stream:
    """The video's parameters: one ffmpeg run copying its first packet through trace_headers."""
    cmd = [
        video.ffmpeg_exe(), "-hide_banner", "-nostdin", *video.safe_input(path, "video/mp4"),
        "-map", "0:v:0", "-c", "copy", "-bsf:v", "trace_headers", "-frames:v", "1",
        "-f", "null", "-",
    ]  # fmt: skip
    out = video.bounded(cmd, limits, "reading the video's parameters of")
    report = out.stderr.decode("utf-8", "replace")
    if out.returncode != 0:
        raise EndCardMismatch(f"cannot read the video's parameters: {video.tail(out)}")
    return _stream(video.input_part(report), _parameter_sets(report))


def _parameter_sets(report: str) -> str:
    """The traced SPS and PPS (ffmpeg traces the sample entry's before the first packet)."""
    traced = re.compile(r"^\[trace_headers @ [^\]]*\] (.+)$")
    lines = [m.group(1) for ln in report.splitlines() if (m := traced.match(ln))]
    try:
        start = lines.index("Sequence Parameter Set")
    except ValueError:
        raise EndCardMismatch("the video has no H.264 parameter sets") from None
    end = next((i for i, ln in enumerate(lines) if ln.startswith("Packet:")), len(lines))
    return "\n".join(lines[start:end])


def _stream(input_report: str, parameter_sets: str) -> Stream:
    v = re.search(r"Video: h264\b[^\n]*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)", input_report)
    tbn = re.search(r"Video: h264\b[^\n]*?(\d+(?:\.\d+)?)(k?) tbn", input_report)
    if v is None or tbn is None:
        raise EndCardMismatch("not an H.264 video ffmpeg reports")
    a = re.search(r"Audio: aac\b[^\n]*?, (\d+) Hz, (mono|stereo)", input_report)
    if a is None and "Audio:" in input_report:  # the transcode makes AAC, mono or stereo
        raise EndCardMismatch("an audio track the end card cannot match")
    sps: dict[str, int] = {}
    for line in parameter_sets.split("Picture Parameter Set")[0].splitlines():
        m = _TRACE_LINE.match(line.strip())
        if m:
            sps.setdefault(m.group(1), int(m.group(2)))
    if "time_scale" not in sps or sps.get("profile_idc") not in PROFILES:
        raise EndCardMismatch("the video's SPS has no timing or an unknown profile")
    return Stream(
        width=int(v.group(2)),
        height=int(v.group(3)),
        pix_fmt=v.group(1),
        timescale=round(float(tbn.group(1)) * (1000 if tbn.group(2) else 1)),
        sps=sps,
        parameter_sets=parameter_sets,
        audio_rate=int(a.group(1)) if a else None,
        audio_channels=(1 if a.group(2) == "mono" else 2) if a else None,
    )


# -- the frame ------------------------------------------------------------------------------


def end_frame(card: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The card whole and centred in a frame of `size`, on a blurred, darkened copy of itself
    filling the rest (no bars), resampled once."""
    width, height = size
    card = card.convert("RGB")
    return _card_on(_backdrop(card, size), card, round(min(width, height) * MARGIN))


def _backdrop(card: Image.Image, size: tuple[int, int]) -> Image.Image:
    scale = max(size[0] / card.width, size[1] / card.height) / 8  # blur a small copy: cheap
    small = card.resize((math.ceil(card.width * scale), math.ceil(card.height * scale)))
    small = small.filter(ImageFilter.GaussianBlur(BACKDROP_BLUR / 8))
    small = ImageEnhance.Brightness(small).enhance(BACKDROP_BRIGHTNESS)
    grown = small.resize((small.width * 8, small.height * 8), Image.Resampling.BILINEAR)
    left, top = (grown.width - size[0]) // 2, (grown.height - size[1]) // 2
    return grown.crop((left, top, left + size[0], top + size[1]))


def _card_on(frame: Image.Image, card: Image.Image, margin: int) -> Image.Image:
    scale = min((frame.width - 2 * margin) / card.width, (frame.height - 2 * margin) / card.height)
    fitted = card.resize(
        (round(card.width * scale), round(card.height * scale)), Image.Resampling.LANCZOS
    )
    frame.paste(fitted, ((frame.width - fitted.width) // 2, (frame.height - fitted.height) // 2))
    return frame


# -- the segment and the join ---------------------------------------------------------------


def segment_args(stream: Stream) -> list[str]:
    """Encoder options that reproduce the video's SPS for a still, beyond video.H264."""
    sps, args = stream.sps, ["-profile:v", stream.profile, "-level", stream.level]
    if sps.get("video_signal_type_present_flag"):
        args += ["-color_range", "pc" if sps.get("video_full_range_flag") else "tv"]
        if sps.get("colour_description_present_flag"):
            args += ["-color_primaries", str(sps["colour_primaries"])]
            args += ["-color_trc", str(sps["transfer_characteristics"])]
            args += ["-colorspace", str(sps["matrix_coefficients"])]
    if sps.get("chroma_loc_info_present_flag"):
        # H.264's chroma_sample_loc_type n is ffmpeg's AVChromaLocation n + 1.
        loc = sps.get("chroma_sample_loc_type_top_field", 0) + 1
        args += ["-chroma_sample_location", str(loc)]
    return args


def segment_filters(stream: Stream) -> str:
    """The one decoded frame, converted once and repeated at the video's frame rate (a
    looped input would decode and convert it again for every frame: 3x the CPU here), with
    the video's sample aspect. Every frame is kept, though the card is still: fewer frames
    (tried: one each 0.5 s) make x264's B-frame timestamps stretch the last sample's
    duration, and the file then reports ~0.5 s more than it plays."""
    filters = [f"format={stream.pix_fmt}", "loop=loop=-1:size=1"]
    if stream.sps.get("aspect_ratio_info_present_flag"):
        sar = _sar(stream.sps)
        filters.insert(0, f"setsar={sar.numerator}/{sar.denominator}")
    return ",".join(filters)


# H.264 Table E-1: aspect_ratio_idc 1-16 name fixed sample aspect ratios; 255 gives its own.
_SARS = [(1, 1), (12, 11), (10, 11), (16, 11), (40, 33), (24, 11), (20, 11), (32, 11),
         (80, 33), (18, 11), (15, 11), (64, 33), (160, 99), (4, 3), (3, 2), (2, 1)]  # fmt: skip


def _sar(sps: dict[str, int]) -> Fraction:
    idc = sps["aspect_ratio_idc"]
    if idc == 255:
        return Fraction(sps["sar_width"], sps["sar_height"])
    if not 1 <= idc <= len(_SARS):
        raise EndCardMismatch(f"unknown aspect_ratio_idc {idc}")
    return Fraction(*_SARS[idc - 1])


def encode_segment(frame: Image.Image, stream: Stream, dst: str | Path, *, limits: Limits) -> None:
    """END_SECONDS of `frame`, as the video's own encoder would have made them."""
    rate = str(stream.frame_rate)
    raw = Path(dst).with_suffix(".rgb")  # raw pixels: no PNG to encode here and decode there
    raw.write_bytes(frame.convert("RGB").tobytes())
    cmd = [
        video.ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-protocol_whitelist", "file", "-f", "rawvideo", "-pixel_format", "rgb24",
        "-video_size", f"{frame.width}x{frame.height}", "-framerate", rate, "-i", f"file:{raw}",
    ]  # fmt: skip
    if stream.audio_rate:
        layout = "mono" if stream.audio_channels == 1 else "stereo"
        cmd += ["-f", "lavfi", "-i", f"anullsrc=r={stream.audio_rate}:cl={layout}"]
        cmd += ["-map", "0:v", "-map", "1:a"]
    cmd += ["-t", f"{END_SECONDS:.3f}", "-r", rate, "-vf", segment_filters(stream)]
    cmd += [*video.H264, *segment_args(stream)]
    cmd += ["-video_track_timescale", str(stream.timescale), "-map_metadata", "-1"]
    if stream.audio_rate:
        cmd += [*video.AAC, "-ar", str(stream.audio_rate), "-ac", str(stream.audio_channels)]
    video.run([*cmd, "-f", "mp4", f"file:{dst}"], limits, "encoding the end card of")


def check_joinable(stream: Stream, segment: Stream) -> None:
    """The segment's parameters must be the video's, or stream copy would corrupt it."""
    if segment.parameter_sets == stream.parameter_sets and _shape(segment) == _shape(stream):
        return
    mine, theirs = _elements(stream.parameter_sets), _elements(segment.parameter_sets)
    differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    detail = ", ".join(differ) or "the stream's shape"
    raise EndCardMismatch(f"the end segment's parameters differ from the video's: {detail}")


def _elements(parameter_sets: str) -> dict[str, int]:
    """Each traced syntax element by name, per parameter set (sps.level_idc, pps....)."""
    out: dict[str, int] = {}
    section = "sps"
    for line in parameter_sets.splitlines():
        if line == "Picture Parameter Set":
            section = "pps"
        m = _TRACE_LINE.match(line.strip())
        if m:
            out.setdefault(f"{section}.{m.group(1)}", int(m.group(2)))
    return out


def _shape(s: Stream) -> tuple[object, ...]:
    return (s.width, s.height, s.pix_fmt, s.timescale, s.audio_rate, s.audio_channels)


def join(first: str | Path, second: str | Path, dst: str | Path, *, limits: Limits) -> None:
    """`first` then `second`, packets copied (concat demuxer, -c copy), index at the front."""
    listing = Path(dst).with_suffix(".txt")
    listing.write_text("".join(f"file '{_quoted(p)}'\n" for p in (first, second)))
    cmd = [
        video.ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-protocol_whitelist", "file", "-f", "concat", "-safe", "0", "-auto_convert", "0",
        "-i", f"file:{listing}",
        "-map", "0", "-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart",
        "-f", "mp4", f"file:{dst}",
    ]  # fmt: skip
    video.run(cmd, limits, "joining the end card to")


def _quoted(path: str | Path) -> str:
    # The concat list's own quoting: ' ends a quoted name, so it is written as '\''.
    return f"file:{Path(path).resolve()}".replace("'", "'\\''")


def stamp(
    video_mp4: str | Path,
    card: Image.Image,
    dst: str | Path,
    *,
    limits: Limits,
    stream: Stream | None = None,
) -> Stream:
    """`video_mp4` with `card`'s end card joined to it, written to `dst`; the video's Stream.
    `limits` bound each ffmpeg run; `stream` saves reading the video's parameters again."""
    stream = stream or read_stream(video_mp4, limits=limits)
    with tempfile.TemporaryDirectory(prefix="sucai-end-") as tmp:
        segment = Path(tmp) / "end.mp4"
        encode_segment(
            end_frame(card, (stream.width, stream.height)), stream, segment, limits=limits
        )
        check_joinable(stream, read_stream(segment, limits=limits))
        join(video_mp4, segment, dst, limits=limits)
    return stream
