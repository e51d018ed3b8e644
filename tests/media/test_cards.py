"""Share cards: text layout rules, prices, fonts, photo loading, QR codes that decode, and golden
images compared by similarity (SSIM), not bytes.

Goldens live in tests/media/golden/. A missing golden fails; to (re)make them after an intended
visual change: SUCAI_UPDATE_GOLDEN=1 pytest tests/media/test_cards.py (and bump
RENDERER_VERSION, which is part of every card's cache key).
"""

import dataclasses
import io
import os
import string
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageFont

from media.cards import (
    LAYOUTS,
    QR_LAYOUTS,
    RENDERER_VERSION,
    CardContent,
    FontNotFoundError,
    NoCode,
    PictureCode,
    base_jpeg,
    encode_base,
    encode_jpeg,
    find_cjk_font,
    format_price,
    load_photo,
    render_base,
    render_card,
    render_photo_card,
)
from media.cards import fonts as fonts_module
from media.cards import photo as photo_module
from media.cards.fonts import get_font, has_glyph
from media.cards.photo import contain
from media.cards.qr import QUIET_ZONE_MODULES, qr_image, qr_modules
from media.cards.testing import (
    LOCAL_REFERRAL_URL,
    LONG_REFERRAL_URL,
    SAMPLE_CONTENT,
    SAMPLE_URL,
    sample_code,
    sample_jpeg,
    sample_photo,
    sample_round_code,
)
from media.cards.textlayout import CLOSING, ELLIPSIS, OPENING, break_lines
from media.images import MediaRejected
from media.sandbox import Limits

GOLDEN = Path(__file__).parent / "golden"
UPDATE_GOLDEN = os.environ.get("SUCAI_UPDATE_GOLDEN") == "1"
SELLER, CODE = "小美的好物铺", "XM2024"
COPY = SAMPLE_CONTENT.copy


def one_per_char(text: str) -> float:
    """A font-free measure: every character is 1 wide, so widths are character counts."""
    return float(len(text))


# -- text layout ------------------------------------------------------------------------------

KINSOKU_TEXT = (
    "轻薄不油腻，一抹成膜！宝妈必备，户外出游、通勤都适用。（限时特惠）买二送一，今晚24点截止。"
    "「正品保障」『顺丰包邮』《使用说明》【新品】“好评如潮”‘回购’……真的好用？好用；值得：买！"
)


# From 4 characters up, every glued run ("购’……") fits a line, so no forced split happens.
@pytest.mark.parametrize("width", range(4, 30))
def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(width):
    lines = break_lines(KINSOKU_TEXT, width, one_per_char)
    for line in lines:
        assert line[0] not in CLOSING, (width, lines)
        assert line[-1] not in OPENING, (width, lines)
    assert "".join(lines) == KINSOKU_TEXT


@pytest.mark.parametrize("width", range(1, 30))
def test_every_line_fits(width):
    assert all(len(line) <= width for line in break_lines(KINSOKU_TEXT, width, one_per_char))


def test_rules_named_in_the_design_hold():
    for char in "。，、！？；：）」』》】”’…":
        assert char in CLOSING
    for char in "（「『《【“‘":
        assert char in OPENING


def test_closing_mark_pulls_its_character_to_the_next_line():
    # "膜！" would overflow by the "！": both move down rather than "！" starting the line.
    assert break_lines("一抹成膜！宝妈", 4, one_per_char) == ["一抹成", "膜！宝妈"]


def test_opening_mark_moves_down_with_what_follows():
    assert break_lines("买二送一（限时）", 5, one_per_char) == ["买二送一", "（限时）"]


@pytest.mark.parametrize("word", ["SPF50+", "iPhone", "99.9%", "50ml", "24"])
@pytest.mark.parametrize("width", range(6, 20))
def test_latin_words_and_digit_runs_stay_whole(word, width):
    text = "夏季清爽防晒霜 SPF50+ 50ml，iPhone 15 适用，好评率99.9%，今晚24点截止"
    lines = break_lines(text, width, one_per_char)
    assert any(word in line for line in lines), lines


def test_a_word_wider_than_the_line_is_split_as_a_last_resort():
    lines = break_lines("超长 Supercalifragilistic 单词", 8, one_per_char)
    assert all(len(line) <= 8 for line in lines)
    assert "".join(lines).replace(" ", "") == "超长Supercalifragilistic单词"


def test_mixed_text_breaks_at_spaces_and_between_han_characters():
    assert break_lines("夏季清爽防晒霜 SPF50+ 50ml", 10, one_per_char) == [
        "夏季清爽防晒霜",
        "SPF50+",
        "50ml",
    ]
    assert break_lines("iPhone 15 现货", 9, one_per_char) == ["iPhone 15", "现货"]


def test_overflow_ends_with_an_ellipsis_inside_the_width():
    lines = break_lines(COPY, 10, one_per_char, max_lines=2)
    assert len(lines) == 2
    assert lines[-1].endswith(ELLIPSIS)
    assert all(len(line) <= 10 for line in lines)
    assert ELLIPSIS not in lines[0]


def test_no_dangling_comma_or_opening_mark_before_the_ellipsis():
    # Cut after "，" or "（": the mark goes, the ellipsis follows the last word.
    assert break_lines("一二三四，五六七八", 5, one_per_char, max_lines=1) == ["一二三四…"]
    assert break_lines("一二（三四五）六七", 4, one_per_char, max_lines=1) == ["一二…"]


def test_no_room_means_no_lines():
    assert break_lines("买二送一", 10, one_per_char, max_lines=0) == []


def test_text_that_fits_gets_no_ellipsis():
    assert break_lines("买二送一", 10, one_per_char, max_lines=2) == ["买二送一"]


def test_explicit_newlines_are_kept():
    assert break_lines("第一行\n第二行\r\n\n第四行", 10, one_per_char) == [
        "第一行",
        "第二行",
        "",
        "第四行",
    ]
    assert break_lines("第一行\n第二行\n第三行", 10, one_per_char, max_lines=2) == [
        "第一行",
        "第二行…",
    ]


def test_lines_fit_when_measured_with_the_real_font():
    font = get_font(30)
    for width in (200, 333, 500, 968):
        lines = break_lines(COPY, width, font.getlength)
        assert all(font.getlength(line) <= width for line in lines)
        assert "".join(lines) == COPY


# -- price ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [(8900, "¥89.00"), (12900, "¥129.00"), (0, "¥0.00"), (5, "¥0.05"), (129999, "¥1299.99")],
)
def test_price_is_yuan_with_two_decimals(cents, text):
    assert format_price(cents) == text


def test_negative_price_is_refused():
    with pytest.raises(ValueError):
        format_price(-1)


def test_original_price_shows_only_when_higher():
    assert CardContent("t", "c", 8900, 12900).shows_original_price
    assert not CardContent("t", "c", 8900, 8900).shows_original_price
    assert not CardContent("t", "c", 8900).shows_original_price


# -- fonts ------------------------------------------------------------------------------------


def test_find_cjk_font_answers_the_simplified_chinese_face():
    path, index = find_cjk_font()
    family, _ = ImageFont.truetype(path, 20, index=index).getname()
    assert "DejaVu" not in family  # the ':lang=zh' trap
    if "Noto" in family:
        assert family.endswith(" SC"), family  # face 0 of the .ttc is the Japanese one
    assert has_glyph("中") and has_glyph("。")
    assert not has_glyph("\U0001f525")  # emoji: dropped from copy rather than drawn as tofu


def test_configured_font_wins(tmp_path):
    path, index = find_cjk_font()
    assert find_cjk_font(f"{path}|{index}") == (path, index)
    assert find_cjk_font(path) == (path, 0)


def test_missing_configured_font_is_a_clear_error():
    with pytest.raises(FontNotFoundError, match="no/such/font.ttc"):
        find_cjk_font("/no/such/font.ttc")


def test_no_fontconfig_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(fonts_module.shutil, "which", lambda name: None)
    with pytest.raises(FontNotFoundError, match="fonts-noto-cjk"):
        find_cjk_font()


# -- photos -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_jpeg() -> bytes:
    return sample_jpeg(4000, 3000, texture=False)


@pytest.fixture(scope="module")
def photo(source_jpeg) -> Image.Image:
    return load_photo(io.BytesIO(source_jpeg), max(lay.max_photo_side for lay in LAYOUTS.values()))


def test_load_photo_decodes_jpeg_at_reduced_scale(source_jpeg):
    assert load_photo(io.BytesIO(source_jpeg), 1080).size == (2000, 1500)
    assert load_photo(io.BytesIO(source_jpeg), 750).size == (1000, 750)
    assert load_photo(io.BytesIO(source_jpeg), 300).size == (500, 375)
    assert load_photo(io.BytesIO(source_jpeg), 1600).size == (4000, 3000)


def test_load_photo_turns_by_exif_and_strips_it(tmp_path):
    path = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    sample_photo(400, 300).save(path, "JPEG", exif=exif)
    photo = load_photo(path, 300)
    assert photo.size == (300, 400)
    assert photo.mode == "RGB"
    assert not photo.getexif()


def test_load_photo_puts_transparency_on_white_and_reduces_non_jpeg(tmp_path):
    path = tmp_path / "cutout.png"
    Image.new("RGBA", (2400, 1600), (0, 0, 0, 0)).save(path)
    photo = load_photo(path, 500)
    assert photo.mode == "RGB"
    assert 500 <= min(photo.size) < 1000
    assert photo.getpixel((10, 10)) == (255, 255, 255)


def test_load_photo_checks_size_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (400, 300)).save(path)
    monkeypatch.setattr(photo_module, "MAX_SOURCE_PIXELS", 100_000)
    with pytest.raises(ValueError, match="too large"):
        load_photo(path, 100)


def test_load_photo_refuses_other_formats(tmp_path):
    path = tmp_path / "photo.bmp"
    Image.new("RGB", (40, 30)).save(path)
    with pytest.raises(Image.UnidentifiedImageError):
        load_photo(path, 100)


# -- the base from a stored file, in the decoding child ----------------------------------------

CHILD_LIMITS = Limits.for_decode(10, 1024)


def _in_child(path: Path, layout: str | None, side: int, **rules) -> bytes:
    rules = {"max_pixels": 40_000_000, "max_scans": 300} | rules
    return base_jpeg(path, layout, SAMPLE_CONTENT, side, font=None, limits=CHILD_LIMITS, **rules)


@pytest.mark.parametrize("layout", [*LAYOUTS, None])
def test_the_child_makes_the_base_this_process_would(tmp_path, source_jpeg, layout):
    """Byte for byte: stored bases and cards made before the base moved into the child keep
    their keys (RENDERER_VERSION unchanged), so what the child makes must be the same."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(source_jpeg)
    side = LAYOUTS[layout].max_photo_side if layout else 1080
    photo = load_photo(path, side)
    here = contain(photo, side) if layout is None else render_base(photo, SAMPLE_CONTENT, layout)
    assert _in_child(path, layout, side) == encode_base(here)


def test_the_child_refuses_what_the_upload_refuses(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (400, 300)).save(path)
    with pytest.raises(MediaRejected) as refused:
        _in_child(path, "square", 1080, max_pixels=100_000)
    assert refused.value.rule == "max_pixels"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(MediaRejected) as refused:
        _in_child(path, "square", 1080)
    assert refused.value.rule == "truncated"


# -- QR ---------------------------------------------------------------------------------------


def decode(jpeg: bytes) -> list[zxingcpp.Barcode]:
    with Image.open(io.BytesIO(jpeg)) as image:
        return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def test_qr_is_crisp_with_quiet_zone_and_level_m():
    modules = np.asarray(qr_modules(SAMPLE_URL))
    q = QUIET_ZONE_MODULES
    assert q >= 4
    assert (modules[:q] == 255).all() and (modules[-q:] == 255).all()
    assert (modules[:, :q] == 255).all() and (modules[:, -q:] == 255).all()
    image = qr_image(SAMPLE_URL, 200)
    assert image.width % modules.shape[0] == 0  # whole pixels per module
    assert set(np.unique(np.asarray(image))) <= {0, 255}  # no blur, no grey
    (result,) = zxingcpp.read_barcodes(image)
    assert result.text == SAMPLE_URL
    assert result.ec_level == "M"


@pytest.mark.parametrize("url", [LONG_REFERRAL_URL, LOCAL_REFERRAL_URL])
def test_referral_links_stay_in_version_3(url):
    """The layouts' QR boxes are sized for version 3 (29 modules): the longest 32-bit id on
    sucai.example.com fits only because the code and id are encoded as alphanumerics and
    digits rather than bytes (all bytes would need version 4)."""
    assert qr_modules(url).width == 29 + 2 * QUIET_ZONE_MODULES


def test_qr_refuses_a_url_too_long_for_its_box():
    with pytest.raises(ValueError, match="too long"):
        qr_image("https://sucai.example.com/" + "x" * 600, 120)


@pytest.fixture(scope="module")
def bases(photo) -> dict[str, Image.Image]:
    return {name: render_base(photo, SAMPLE_CONTENT, name) for name in LAYOUTS}


@pytest.mark.parametrize("layout", sorted(QR_LAYOUTS))
@pytest.mark.parametrize(
    "url",
    [
        SAMPLE_URL,
        "https://shop.example.cn/r/A1/m_0f9e8d7c6b5a49382716?utm_source=wechat&utm=moments",
    ],
)
def test_card_qr_decodes_to_exactly_the_url(bases, layout, url):
    jpeg = render_card(bases[layout], layout, SELLER, CODE, sample_code(layout, url))
    assert [r.text for r in decode(jpeg)] == [url]


def test_photo_card_qr_decodes_to_exactly_the_url(photo):
    jpeg = render_photo_card(photo, SELLER, CODE, SAMPLE_URL)
    assert [r.text for r in decode(jpeg)] == [SAMPLE_URL]
    with Image.open(io.BytesIO(jpeg)) as image:
        assert max(image.size) == 1080


def test_small_photo_card_still_decodes(photo):
    jpeg = render_photo_card(photo, SELLER, CODE, SAMPLE_URL, max_side=480)
    assert [r.text for r in decode(jpeg)] == [SAMPLE_URL]


# -- cards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_base_has_the_layout_size_and_survives_stamping(bases, layout):
    base = bases[layout]
    assert base.size == LAYOUTS[layout].size
    before = base.tobytes()
    render_card(base, layout, SELLER, CODE, sample_code(layout, SAMPLE_URL))
    assert base.tobytes() == before


def test_a_card_is_a_pure_function_of_its_inputs(bases):
    one = render_card(bases["poster"], "poster", SELLER, CODE, SAMPLE_URL)
    assert render_card(bases["poster"], "poster", SELLER, CODE, SAMPLE_URL) == one
    assert render_card(bases["poster"], "poster", SELLER, "XM2025", SAMPLE_URL) != one


def test_cards_are_jpeg_without_metadata(bases):
    jpeg = render_card(bases["square"], "square", SELLER, CODE, SAMPLE_URL)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()


def test_encode_jpeg_drops_the_source_metadata(tmp_path):
    path = tmp_path / "gps.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make; a real photo would carry GPS here too
    Image.new("RGB", (64, 48), "red").save(path, "JPEG", exif=exif)
    with Image.open(path) as original:
        assert original.getexif()
        jpeg = encode_jpeg(original)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert not image.getexif()
        assert "exif" not in image.info


def test_unknown_layout_and_mismatched_base_are_refused(bases):
    with pytest.raises(KeyError, match="unknown card layout"):
        render_card(bases["square"], "banner", SELLER, CODE, SAMPLE_URL)
    with pytest.raises(ValueError, match="base is"):
        render_card(bases["square"], "poster", SELLER, CODE, SAMPLE_URL)


def test_awkward_content_still_renders(photo):
    content = CardContent(
        title="🔥🔥爆款🔥" + "超长标题" * 20,
        copy="",
        price_cents=0,
        brand="",
    )
    for layout in LAYOUTS:
        base = render_base(photo, content, layout)
        jpeg = render_card(base, layout, "🌸", "", sample_code(layout, SAMPLE_URL))
        expect = [SAMPLE_URL] if layout in QR_LAYOUTS else []
        if layout != "moments":  # its stand-in round code is read in its own test below
            assert [r.text for r in decode(jpeg)] == expect


def test_the_link_preview_card_is_1_91_to_1_and_has_no_qr(bases):
    """og:image for summary_large_image: 1200 x 630, the seller stamped, nothing to scan (the
    preview is the link)."""
    jpeg = render_card(bases["og"], "og", SELLER, CODE, NoCode())
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.size == (1200, 630)
    assert decode(jpeg) == []
    assert set(QR_LAYOUTS) == set(LAYOUTS) - {"og", "moments"}


def test_a_layout_takes_only_the_kind_of_code_it_names(bases):
    with pytest.raises(ValueError, match="takes a 'wxacode' code, not 'qr'"):
        render_card(bases["moments"], "moments", SELLER, CODE, SAMPLE_URL)
    picture = PictureCode(sample_round_code("c=ABCDEFG&m=1"), kind="wxacode")
    with pytest.raises(ValueError, match="takes a 'qr' code, not 'wxacode'"):
        render_card(bases["square"], "square", SELLER, CODE, picture)


def test_a_picture_code_is_drawn_round_in_the_box_and_reads_back(bases):
    picture = PictureCode(sample_round_code("c=ABCDEFG&m=1", 430), kind="wxacode")
    tile, radius = picture.tile(LAYOUTS["moments"].scan.w)
    assert tile.size == (259, 259) and radius == 129
    jpeg = render_card(bases["moments"], "moments", SELLER, CODE, picture)
    assert [r.text for r in decode(jpeg)] == ["c=ABCDEFG&m=1"]
    clear = PictureCode(Image.new("RGBA", (300, 300), (0, 0, 0, 0)), kind="wxacode")
    assert clear.tile(259)[0].getpixel((5, 5)) == (255, 255, 255)  # transparent: white


def test_renderer_version_is_a_short_string():
    assert isinstance(RENDERER_VERSION, str)
    assert set(RENDERER_VERSION) <= set(string.ascii_letters + string.digits + ".-")


# -- goldens ----------------------------------------------------------------------------------


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float64)


def _window_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over every k x k window (valid positions), by an integral image."""
    s = np.pad(a, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]) / (k * k)


def ssim_map(a: np.ndarray, b: np.ndarray, k: int = 7) -> np.ndarray:
    """Structural similarity (Wang et al. 2004) with a uniform k x k window, as thumbor's
    get_ssim does with a Gaussian one."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _window_mean(a, k), _window_mean(b, k)
    var_a = _window_mean(a * a, k) - mu_a**2
    var_b = _window_mean(b * b, k) - mu_b**2
    cov = _window_mean(a * b, k) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def _tile_means(values: np.ndarray, tiles: int) -> list[float]:
    rows = np.array_split(np.arange(values.shape[0]), tiles)
    cols = np.array_split(np.arange(values.shape[1]), tiles)
    return [float(values[np.ix_(r, c)].mean()) for r in rows for c in cols]


def worst_tile_ssim(a: Image.Image, b: Image.Image, tiles: int = 16) -> float:
    """The lowest mean SSIM over a tiles x tiles grid: a changed price or a lost line drops its
    own tile a lot, where a whole-image mean would dilute it."""
    return min(_tile_means(ssim_map(_gray(a), _gray(b)), tiles))


def worst_tile_colour_diff(a: Image.Image, b: Image.Image, tiles: int = 16) -> float:
    """The largest difference of a tile's mean colour, channel by channel: catches colour
    changes (a grey price, another footer) that SSIM on luminance shrugs off, while JPEG noise
    around edges averages out."""
    a_rgb, b_rgb = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return max(
        abs(x - y)
        for channel in range(3)
        for x, y in zip(
            _tile_means(a_rgb[..., channel], tiles),
            _tile_means(b_rgb[..., channel], tiles),
            strict=True,
        )
    )


# Measured: a re-render against its golden scores SSIM >= 0.96 and colour <= 1.1; a changed
# price digit scores SSIM <= 0.83, a footer 7 levels greyer colour 7.
SSIM_MIN = 0.9
COLOUR_DIFF_MAX = 4.0


def golden_view(jpeg: bytes) -> Image.Image:
    """Goldens are kept at half size to stay small in the repository."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.convert("RGB").reduce(2)


def check_golden(name: str, jpeg: bytes) -> None:
    path = GOLDEN / f"{name}.jpg"
    view = golden_view(jpeg)
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Quality 90 without chroma subsampling: at 80, or 4:2:0, the golden's own ringing and
        # colour bleed around text cost as much as a changed digit or colour does.
        view.save(path, "JPEG", quality=90, subsampling=0)
    assert path.exists(), f"missing golden {path}: run with SUCAI_UPDATE_GOLDEN=1 to make it"
    with Image.open(path) as golden:
        golden = golden.convert("RGB")
    assert golden.size == view.size
    assert worst_tile_ssim(view, golden) >= SSIM_MIN
    assert worst_tile_colour_diff(view, golden) <= COLOUR_DIFF_MAX


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_card_matches_golden(bases, layout):
    code = sample_code(layout, SAMPLE_URL)
    check_golden(layout, render_card(bases[layout], layout, SELLER, CODE, code))


def test_photo_card_matches_golden(photo):
    check_golden("photo", render_photo_card(photo, SELLER, CODE, SAMPLE_URL))


@pytest.mark.parametrize(
    "change",
    [
        {"copy": "完全不同的文案，换了一句。"},
        {"price_cents": 9900},
        {"original_price_cents": None},
        {"brand": ""},
    ],
)
def test_golden_comparison_notices_a_small_change(photo, bases, change):
    """The thresholds are not so loose that they pass a card with other copy or price."""
    golden = golden_view(render_card(bases["poster"], "poster", SELLER, CODE, SAMPLE_URL))
    content = dataclasses.replace(SAMPLE_CONTENT, **change)
    other = render_card(render_base(photo, content, "poster"), "poster", SELLER, CODE, SAMPLE_URL)
    assert worst_tile_ssim(golden_view(other), golden) < SSIM_MIN


def test_golden_comparison_notices_a_colour_change(photo, bases, monkeypatch):
    golden = golden_view(render_card(bases["poster"], "poster", SELLER, CODE, SAMPLE_URL))
    poster = LAYOUTS["poster"]
    grey_price = dataclasses.replace(poster.price, color=(102, 102, 102))
    monkeypatch.setitem(LAYOUTS, "poster", dataclasses.replace(poster, price=grey_price))
    other = render_card(
        render_base(photo, SAMPLE_CONTENT, "poster"), "poster", SELLER, CODE, SAMPLE_URL
    )
    assert worst_tile_colour_diff(golden_view(other), golden) > COLOUR_DIFF_MAX
