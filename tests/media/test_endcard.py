"""The video end card as a library: a segment encoded to the video's own parameters and joined
by stream copy, for the shapes transcodes come in; read back with ffprobe, decoded through, its
last frame's QR read by both decoders, and the video's packets found unchanged."""

from __future__ import annotations

import io
import subprocess

import pytest
from PIL import Image

from media import endcard, video
from media.cards import render_base, render_card
from media.cards.testing import SAMPLE_CODE, SAMPLE_CONTENT, SAMPLE_SELLER, SAMPLE_URL, sample_photo
from media.sandbox import Limits
from tests.media import mp4s
from tests.media.decoders import DECODERS

EASY = Limits(cpu_seconds=60, memory_mb=1024, wall_seconds=120)


@pytest.fixture(scope="module")
def card() -> Image.Image:
    base = render_base(sample_photo(1600, 1200), SAMPLE_CONTENT, "square")
    jpeg = render_card(base, "square", SAMPLE_SELLER, SAMPLE_CODE, SAMPLE_URL)
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.convert("RGB")


def _source(path, size: str, rate: str, audio: bool, tagged: bool, x264=("-preset", "ultrafast")):
    """A phone-like source clip: test pattern, optionally a tone, optionally BT.709-tagged."""
    cmd = [video.ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
           "-i", f"testsrc2=size={size}:rate={rate}:duration=2"]  # fmt: skip
    if audio:
        cmd += ["-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=44100"]
    cmd += ["-c:v", "libx264", *x264, "-pix_fmt", "yuv420p"]
    if tagged:
        cmd += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
    if audio:
        cmd += ["-c:a", "aac"]
    subprocess.run([*cmd, "-shortest", str(path)], check=True, capture_output=True, timeout=120)
    return path


def _transcoded(tmp_path, size="720x1280", rate="30", audio=True, tagged=False):
    src = _source(tmp_path / "src.mp4", size, rate, audio, tagged)
    info = video.probe(src, "video/mp4", limits=EASY)
    out = tmp_path / "video.mp4"
    video.transcode(src, "video/mp4", info, out, 720, limits=EASY, max_seconds=180)
    return out


# What ffprobe says of the video stream that the stamped file must say the same.
MATCHED = ("codec_name", "profile", "level", "width", "height", "pix_fmt", "r_frame_rate",
           "time_base", "sample_aspect_ratio", "color_space", "color_primaries")  # fmt: skip
SHAPES = {
    "portrait-30-audio": {},
    "landscape-ntsc-silent": {"size": "1920x1080", "rate": "30000/1001", "audio": False},
    "square-25-bt709": {"size": "1080x1080", "rate": "25", "tagged": True},
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_stamped_video_is_the_video_copied_then_two_seconds_of_card(tmp_path, card, shape):
    source = _transcoded(tmp_path, **SHAPES[shape])
    out = tmp_path / "stamped.mp4"
    stream = endcard.stamp(source, card, out, limits=EASY)

    assert mp4s.duration(out) == pytest.approx(mp4s.duration(source) + 2, abs=0.1)
    v, v0 = mp4s.stream(out, "video"), mp4s.stream(source, "video")
    for field in MATCHED:
        assert v.get(field) == v0.get(field), field
    a, a0 = mp4s.stream(out, "audio"), mp4s.stream(source, "audio")
    assert (a is None) == (a0 is None) == (not SHAPES[shape].get("audio", True))
    if a0 is not None:
        assert (a["codec_name"], a["sample_rate"], a["channels"]) == (
            "aac", a0["sample_rate"], a0["channels"],
        )  # fmt: skip
    assert mp4s.decode_errors(out) == ""
    # Not re-encoded: every packet of the video is in the stamped file, byte for byte, first.
    before = mp4s.packet_hashes(source)
    after = mp4s.packet_hashes(out)
    assert after[: len(before)] == before
    assert len(after) - len(before) == round(2 * stream.frame_rate)  # at the video's rate
    last = mp4s.last_frame(out, tmp_path)
    assert last.size == (stream.width, stream.height)
    for name, read in DECODERS.items():
        assert read(last) == [SAMPLE_URL], name


def test_a_video_the_segment_cannot_match_is_refused_not_joined(tmp_path, card):
    """A video encoded otherwise than the transcode (preset medium, CRF 30: another PPS) cannot
    take the segment by stream copy; the stamp says which parameters differ, writes nothing."""
    x264 = ("-preset", "medium", "-crf", "30", "-profile:v", "high")
    src = _source(tmp_path / "src.mp4", "640x360", "30", audio=True, tagged=False, x264=x264)
    with pytest.raises(endcard.EndCardMismatch) as caught:
        endcard.stamp(src, card, tmp_path / "out.mp4", limits=EASY)
    assert "pps.pic_init_qp_minus26" in str(caught.value)  # CRF 30 against the video's 23
    assert not (tmp_path / "out.mp4").exists()


def test_the_end_frame_shows_the_card_whole_and_fills_the_frame(card):
    for size in [(720, 1280), (1280, 720), (720, 720)]:
        frame = endcard.end_frame(card, size)
        assert frame.size == size and frame.mode == "RGB"
        for name, read in DECODERS.items():
            assert read(frame) == [SAMPLE_URL], (name, size)


def test_each_ffmpeg_of_a_stamp_is_bounded(tmp_path, card):
    source = _transcoded(tmp_path, size="320x568", audio=False)
    with pytest.raises(Exception) as caught:
        endcard.stamp(source, card, tmp_path / "o.mp4", limits=Limits(60, 1024, 0.01))
    assert getattr(caught.value, "rule", None) == "too_costly"
