"""The checks made on a photo before and while it is decoded: orientation read from the EXIF
entries alone, and the JPEG structure bounds (scan count, data enough for the frame)."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageOps

from media.images import (
    MediaRejected,
    check_jpeg,
    exif_orientation,
    inspect_photo,
    jpeg_layout,
    photo_renditions,
    upright,
)
from media.samples import product_image
from media.sandbox import Limits
from tests import hostile


def jpeg(im: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **options)
    return buf.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_turns_as_exif_transpose_does(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = jpeg(product_image(64, 48, seed=orientation), exif=exif.tobytes(), quality=95)
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(data)) as b:
        ours, pillows = upright(a), ImageOps.exif_transpose(b)
        assert ours.size == pillows.size
        assert ours.tobytes() == pillows.tobytes()
        assert not ours.getexif()


@pytest.mark.parametrize("order", ["<", ">"])
def test_orientation_is_read_in_either_byte_order(order):
    exif = Image.Exif()
    exif.endian = order  # Pillow writes the byte order it is given
    exif[0x010F] = "SucaiPhone"
    exif[0x0112] = 8
    raw = exif.tobytes()  # with its "Exif\0\0" header, as in a JPEG's APP1
    assert exif_orientation(raw) == 8 and exif_orientation(raw[6:]) == 8


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"Exif\0\0", b"MM\0*\xff\xff\xff\xff", b"II*\0\x08\0\0\0\xff\xff" + b"\0" * 20],
)
def test_broken_exif_means_no_turn(raw):
    assert exif_orientation(raw) == 1


def test_exif_bomb_orientation_is_cheap():
    bomb = hostile.exif_bomb_jpeg(tags=200, segments=10, orientation=6)
    started = time.process_time()
    with Image.open(io.BytesIO(bomb)) as im:
        turned = upright(im)
    assert turned.size == (90, 120)
    assert time.process_time() - started < 0.5  # exif_transpose: 16 s and 525 MB


LEGIT = {
    "baseline 4:2:0": lambda: jpeg(product_image(333, 257, seed=1)),
    "baseline 4:4:4": lambda: jpeg(product_image(333, 257, seed=1), subsampling=0),
    "progressive": lambda: jpeg(product_image(640, 480, seed=2), progressive=True),
    "grey": lambda: jpeg(product_image(300, 200, seed=3).convert("L")),
    "cmyk": lambda: jpeg(product_image(120, 80, seed=3).convert("CMYK")),
    # Flat images cost the fewest bits a block can cost: the bound is met exactly.
    "flat optimized": lambda: jpeg(Image.new("RGB", (800, 600), (9, 9, 9)), optimize=True),
    "flat progressive": lambda: jpeg(Image.new("RGB", (999, 555), 128), progressive=True),
    "restart markers": lambda: jpeg(product_image(640, 480, seed=4), restart_marker_blocks=1),
    "one pixel": lambda: jpeg(Image.new("RGB", (1, 1), (1, 2, 3))),
}


@pytest.mark.parametrize("case", sorted(LEGIT))
def test_real_jpegs_pass_the_structure_checks(case):
    data = LEGIT[case]()
    check_jpeg(data, max_scans=300)
    frame, scans = jpeg_layout(data, 300)
    assert frame is not None and scans


def test_a_frame_larger_than_its_data_is_incomplete():
    with pytest.raises(MediaRejected) as caught:
        check_jpeg(hostile.jpeg_declaring(6000, 6000, real=64), max_scans=300)
    assert caught.value.rule == "incomplete"
    assert "at most 0.4%" in caught.value.detail


def test_scans_are_counted_before_decoding():
    bomb = hostile.scan_bomb_jpeg(256, 256, scans=301)
    check_jpeg(bomb, max_scans=301)
    started = time.process_time()
    with pytest.raises(MediaRejected) as caught:
        check_jpeg(bomb, max_scans=300)
    assert caught.value.rule == "max_scans"
    assert time.process_time() - started < 0.5


def test_arithmetic_coded_jpeg_is_refused():
    data = bytearray(jpeg(product_image(64, 64)))
    sof = data.index(b"\xff\xc0")
    data[sof + 1] = 0xC9  # SOF9: arithmetic coding
    with pytest.raises(MediaRejected) as caught:
        check_jpeg(bytes(data), max_scans=300)
    assert caught.value.rule == "type"


def test_a_multi_picture_jpeg_is_a_jpeg(tmp_path):
    # Phones write MPO (a JPEG with more pictures after it); Pillow calls it "MPO", which
    # the upload check did not know: a KeyError, answered 500.
    path = tmp_path / "mpo.jpg"
    first, second = product_image(64, 48, seed=1), product_image(64, 48, seed=2)
    first.save(path, "MPO", save_all=True, append_images=[second])
    limits = Limits.for_decode(10, 1024)
    info = inspect_photo(path, 40_000_000, limits=limits, max_scans=300)
    assert (info.mime, info.width, info.height) == ("image/jpeg", 64, 48)
    display, _ = photo_renditions(path, 1080, 360, limits=limits, max_scans=300)
    assert (display.width, display.height) == (64, 48)
