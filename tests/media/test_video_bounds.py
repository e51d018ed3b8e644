"""ffmpeg under limits: the playing time measured, the output capped, CPU and wall clock held."""

from __future__ import annotations

import pytest

from media import video
from media.images import MediaRejected
from media.sandbox import Limits
from tests import hostile

EASY = Limits(cpu_seconds=30, memory_mb=1024, wall_seconds=60)


@pytest.fixture(scope="module")
def looped(media_dir, short_clip):
    """The 2 s clip with an edit list that plays it 300 times over (10 minutes)."""
    path = media_dir / "looped.mp4"
    path.write_bytes(hostile.replayed_mp4(short_clip, repeat=300))
    return path


def test_the_headers_say_2_s_while_ffmpeg_plays_more(looped):
    info = video.probe(looped, "video/mp4", limits=EASY)
    assert info.duration < 3 and info.played is None
    info = video.probe(looped, "video/mp4", limits=EASY, play_cap=180)
    assert info.played >= 180  # measured up to the cap + 1 s, not further


def test_a_normal_clip_plays_its_length(media_dir, short_clip):
    path = media_dir / "plain.mp4"
    path.write_bytes(short_clip)
    info = video.probe(path, "video/mp4", limits=EASY, play_cap=180)
    assert abs(info.played - info.duration) < 0.2


def test_the_transcode_is_cut_at_max_seconds(looped, tmp_path):
    info = video.probe(looped, "video/mp4", limits=EASY)
    out = tmp_path / "out.mp4"
    video.transcode(looped, "video/mp4", info, out, 240, limits=EASY, max_seconds=3)
    made = video.probe(out, "video/mp4", limits=EASY, play_cap=600)
    assert 2.5 < made.duration <= 3.1 and made.played <= 3.1


@pytest.mark.parametrize(
    "limits,says",
    [(Limits(1, 1024, 120), "of CPU"), (Limits(120, 1024, 1), "took more than 1 s")],
    ids=["cpu", "wall"],
)
def test_a_transcode_past_its_limits_is_too_costly(looped, tmp_path, limits, says):
    info = video.probe(looped, "video/mp4", limits=EASY)
    with pytest.raises(MediaRejected) as caught:
        video.transcode(
            looped, "video/mp4", info, tmp_path / "o.mp4", 720, limits=limits, max_seconds=600
        )
    assert caught.value.rule == "too_costly" and says in caught.value.detail


def test_a_probe_past_its_memory_is_too_costly(looped):
    # This ffmpeg needs ~170 MB of address space to start and ~220 MB to play this clip; at
    # 200 MB it cannot start its threads (below ~170 MB it dies of SIGSEGV before a word).
    with pytest.raises(MediaRejected) as caught:
        video.probe(looped, "video/mp4", limits=Limits(10, 200, 30), play_cap=180)
    assert caught.value.rule == "too_costly", caught.value.detail
    assert "200 MB" in caught.value.detail


def test_transcode_limits_grow_with_the_clip():
    base = Limits(10, 1024, 22)
    assert video.transcode_limits(base, 100) == Limits(610, 1024, 422)
