"""Fuzzing the rules every upload and edit goes through: whatever comes in, the answer is the
cleaned value or an `Invalid` naming the field; never another exception, never a value that
breaks a later step (the database, the redirect, the card renderer).

CI runs a modest number of examples; `HYPOTHESIS_PROFILE=fuzz scripts/test
tests/materials/test_validation_fuzz.py` runs a long fuzz (see bench/README or the note).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from materials.errors import Invalid
from materials.formatting import yuan
from materials.sharing.referrals import with_ref
from materials.validation import (
    MAX_PRICE_CENTS,
    MAX_TAGS,
    clean_text,
    normalize_text,
    parse_price,
    parse_tags,
    parse_time,
    parse_url,
)
from media.images import MediaRejected, inspect_photo, sniff
from media.sandbox import Limits

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile(
    "fuzz", max_examples=5_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

INVISIBLE = "\u200b\u200c\u2060\ufeff\u180e\u00ad\u115f\u1160\u3164\uffa0"
# Text as people paste it: CJK, emoji, the invisible characters, controls, lone surrogates.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(list(INVISIBLE + "\u200d\t\r\n\x00 ，、。👩👧")),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    ),
    max_size=60,
)


@given(TEXT, st.booleans(), st.booleans())
def test_clean_text_cleans_or_names_the_field(value, multiline, required):
    try:
        out = clean_text("title", value, max_chars=40, required=required, multiline=multiline)
    except Invalid as exc:
        assert exc.where["field"] == "title" and exc.rule
        return
    assert len(out) <= 40 and out == out.strip()
    assert not any(ch in out for ch in INVISIBLE + "\x00")
    assert unicodedata.is_normalized("NFC", out)
    assert required is False or out
    assert multiline or "\n" not in out
    out.encode("utf-8")  # no lone surrogate reaches the database
    assert clean_text("title", out, max_chars=40, multiline=multiline) == out  # a fixed point


@given(TEXT)
def test_normalize_is_idempotent(value):
    once = normalize_text(value)
    assert normalize_text(once) == once


@given(st.lists(TEXT, max_size=8))
def test_tags_are_distinct_lowercase_and_bounded(values):
    try:
        tags = parse_tags(values)
    except Invalid as exc:
        assert exc.where["field"] == "tags"
        return
    assert len(tags) == len(set(tags)) <= MAX_TAGS
    assert all(t and t == t.lower() and "," not in t for t in tags)


@given(st.one_of(TEXT, st.from_regex(r"\+?[0-9]{0,14}(\.[0-9]{0,3})?", fullmatch=True)))
def test_prices_are_cents_or_invalid(value):
    try:
        cents = parse_price("price", value, required=True)
    except Invalid as exc:
        assert exc.where["field"] == "price"
        return
    assert isinstance(cents, int) and 0 <= cents <= MAX_PRICE_CENTS
    assert parse_price("price", yuan(cents), required=True) == cents  # the API's form round-trips


URLS = st.one_of(
    TEXT,
    st.builds(
        lambda scheme, host, rest: f"{scheme}://{host}{rest}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
        st.one_of(st.sampled_from(["shop.example.com", "店铺.中国", "[::1]", "a:99999"]), TEXT),
        TEXT,
    ),
)


@given(URLS)
def test_an_accepted_product_url_is_safe_to_redirect_to(value):
    try:
        url = parse_url("product_url", value)
    except Invalid as exc:
        assert exc.where["field"] == "product_url"
        return
    location = with_ref(url, "ref", "ABCDEFG")
    location.encode("ascii")  # a Location header must be ASCII
    assert not any(ch.isspace() for ch in location)
    assert location.lower().startswith(("http://", "https://"))


@given(TEXT)
def test_times_are_utc_or_invalid(value):
    try:
        when = parse_time("publish_at", value)
    except Invalid as exc:
        assert exc.where["field"] == "publish_at"
        return
    assert when is None or when.utcoffset().total_seconds() == 0


@given(st.binary(max_size=64))
def test_sniff_never_raises(head):
    assert sniff(head) in (None, "image/jpeg", "image/png", "image/webp") or sniff(head).startswith(
        "video/"
    )


LIMITS = Limits.for_decode(10, 1024)  # the upload's defaults
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([JPEG_HEAD, PNG_HEAD, b"RIFF\x00\x00\x00\x00WEBP"]), st.binary(max_size=512))
def test_inspect_photo_refuses_garbage_with_a_rule(tmp_path: Path, head, tail):
    path = tmp_path / "upload.bin"
    path.write_bytes(head + tail)
    try:
        info = inspect_photo(path, 40_000_000, limits=LIMITS, max_scans=300)
    except MediaRejected as exc:
        assert exc.rule
        return
    assert info.width > 0 and info.height > 0
