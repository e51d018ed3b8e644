"""Field rules for materials, shared by create and edit. Each rule names the field it checks."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from werkzeug.urls import iri_to_uri

from materials.errors import Invalid

MAX_PRICE_CENTS = 100_000_000_00  # ¥100,000,000.00
MAX_TAGS = 20
TITLE_CHARS = 200
NAME_CHARS = 100  # brand, category
TAG_CHARS = 40
URL_CHARS = 2000
_NUMBER = re.compile(r"^[+-]?\d{0,15}(\.\d*)?$")
_MONEY = re.compile(r"^\+?\d{1,12}(\.\d{1,2})?$")
# Character classes as regex source, so the API's document spells the same sets
# (materials/web/api/schemas.py). SPACES is what str.strip() removes (ECMA's \s is another set).
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069"
SURROGATES = r"\ud800-\udfff"
SPACES = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")
# A lone surrogate ("\ud800" in JSON) is no character: UTF-8 cannot encode it (nor the database).
_SURROGATE = re.compile(f"[{SURROGATES}]")
# Characters that show as nothing: zero-width space/non-joiner, word joiner, BOM, Mongolian
# vowel separator, soft hyphen, and the Hangul fillers that look like a blank title. Stripped
# before anything is stored, tagged, indexed or drawn, so "防晒" and "防晒\u200b" are one tag.
INVISIBLE_CHARS = r"\u200b\u200c\u2060\ufeff\u180e\u00ad\u115f\u1160\u3164\uffa0"
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
# A zero-width joiner is kept only inside an emoji sequence (👩‍👧), where it means something.
_EMOJI = r"\U0001F000-\U0001FFFF\u2600-\u27bf"
_STRAY_JOINER = re.compile(rf"(?<![{_EMOJI}\ufe0f])\u200d|\u200d(?![{_EMOJI}])")
_ASCII_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]|[0-9a-f:]+")
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def clean_text(
    field: str, value: Any, *, max_chars: int, required: bool = False, multiline: bool = False
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", field=field, rule="type")
    if _SURROGATE.search(value):
        raise Invalid(f"{field} contains an unpaired surrogate", field=field, rule="encoding")
    value = normalize_text(value)
    if not multiline:
        value = value.replace("\n", " ")
    if _CONTROL.search(value):
        raise Invalid(f"{field} contains control characters", field=field, rule="control_chars")
    if required and not value:
        raise Invalid(f"{field} is required", field=field, rule="required")
    if len(value) > max_chars:
        raise Invalid(
            f"{field} is {len(value)} characters; the limit is {max_chars}",
            field=field,
            rule="max_length",
        )
    return value


def normalize_text(value: str) -> str:
    """NFC, invisible characters removed, CRLF as LF, outer blanks trimmed."""
    value = unicodedata.normalize("NFC", value)
    value = _STRAY_JOINER.sub("", _INVISIBLE.sub("", value))
    return value.replace("\r\n", "\n").strip()


def small_int(raw: str | None, max_digits: int = 9) -> int | None:
    """A whole number typed into a URL or form, or None. ASCII digits only ("²".isdigit() is
    true but int("²") raises) and bounded in length (int() refuses thousands of digits)."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= max_digits:
        return int(raw)
    return None


def parse_price(field: str, value: Any, *, required: bool) -> int | None:
    """'89', '89.9', '89.90' -> 8990 cents. No floats anywhere near money."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(f"{field} is required", field=field, rule="required")
        return None
    text = str(value).strip()
    if not _NUMBER.match(text):
        raise Invalid(f"{field} must be a number like 89.90", field=field, rule="number")
    # Plain digits only: Decimal("1e999999") would overflow or burn CPU.
    if not _MONEY.match(text):
        raise Invalid(f"{field} must be ≥ 0 with at most two decimals", field=field, rule="money")
    amount = Decimal(text)
    cents = int(amount * 100)
    if cents > MAX_PRICE_CENTS:
        raise Invalid(f"{field} is too large", field=field, rule="max_value")
    return cents


_MARKUP = re.compile(r"^[+-]?[0-9]{1,12}(\.[0-9]*)?$")
# What a seller might type as a link: a scheme, www., a host with a common top-level domain, or
# a referral path of ours (/r/<code>/<id>, someone else's code).
# Their forwarded text gets *their* referral link from the service; a typed one would send
# buyers past the attribution (or somewhere else entirely).
_TYPED_LINK = re.compile(
    r"(?i)[a-z][a-z0-9+.-]*://|(?<![a-z0-9])www\.|[a-z0-9-]\.(?:com|cn|net|org|top|xyz|shop|vip"
    r"|cc|me|io|info|biz|co|tv|app|link|site|online|ly|to|gl)(?![a-z0-9])|/r/[0-9a-z]{6,8}/[0-9]"
)
VARIANT_LABEL_CHARS = 40


def parse_markup(field: str, value: Any) -> int:
    """A seller's markup in yuan ("5", "5.5", "5.50") as cents; each way to get it wrong has
    its own rule: `number`, `negative`, `decimals` (the cap is the material's: copies.py)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(f'{field} must be a string like "5.00"', field=field, rule="type")
    text = str(value).strip()
    if not _MARKUP.match(text):
        raise Invalid(f"{field} must be an amount in yuan like 5.00", field=field, rule="number")
    if text.startswith("-") and Decimal(text) != 0:
        raise Invalid(f"{field} must not be negative", field=field, rule="negative")
    if len(text.partition(".")[2]) > 2:
        raise Invalid(f"{field} has more than two decimals", field=field, rule="decimals")
    return abs(int(Decimal(text) * 100))


def parse_variant_label(value: Any) -> str:
    return clean_text("label", value, max_chars=VARIANT_LABEL_CHARS, required=True)


def parse_variant_body(value: Any, max_chars: int) -> str:
    return clean_text("body", value, max_chars=max_chars, required=True, multiline=True)


def parse_comment(value: Any, max_chars: int) -> str:
    """The first comment (评论区) ops write beside the copy: as copy, may be empty."""
    return clean_text("comment", value, max_chars=max_chars, multiline=True)


def parse_own_copy(field: str, value: Any, max_chars: int) -> str:
    """A seller's own words for the copy: as ops copy, but required and without links."""
    text = clean_text(field, value, max_chars=max_chars, required=True, multiline=True)
    if _TYPED_LINK.search(text):
        raise Invalid(
            f"{field} must not contain a link: the service adds your own referral link",
            field=field,
            rule="link",
        )
    return text


def parse_title(value: Any) -> str:
    return clean_text("title", value, max_chars=TITLE_CHARS, required=True)


def parse_copy(value: Any, max_chars: int) -> str:
    return clean_text("copy", value, max_chars=max_chars, multiline=True)


def parse_name(field: str, value: Any) -> str:
    """A brand or a category: one short line, may be empty."""
    return clean_text(field, value, max_chars=NAME_CHARS)


def parse_url(field: str, value: Any, *, required: bool = True) -> str:
    url = clean_text(field, value, max_chars=URL_CHARS, required=required)
    if not url:
        return url
    try:
        parts = urlsplit(url)
        # The referral redirect sends it as an ASCII URI: the port (0-65535) and the host's
        # IDNA form must hold, or every click on it would fail.
        ascii_host = urlsplit(iri_to_uri(url)).hostname or ""
    except (ValueError, UnicodeError):
        raise Invalid(f"{field} must be an absolute http(s) URL", field=field, rule="url") from None
    # IDNA maps some characters to others ("¨" becomes a space and a combining mark): the host
    # a browser will ask for is the ASCII one, and it must be a plain host name or address.
    if not _ASCII_HOST.fullmatch(ascii_host):
        raise Invalid(f"{field} has no valid host name", field=field, rule="url")
    if parts.scheme not in ("http", "https") or not parts.hostname or "\\" in url:
        raise Invalid(f"{field} must be an absolute http(s) URL", field=field, rule="url")
    # Browsers drop tabs and newlines from a URL (and urlsplit too), so "https://shop\t@evil/"
    # would be checked as one host and followed to another; user:password@ is never a shop's.
    if any(ch.isspace() for ch in url) or "@" in parts.netloc:
        raise Invalid(
            f"{field} must be a plain http(s) URL: no spaces, tabs or user@ part",
            field=field,
            rule="url",
        )
    return url


def parse_tags(values: list[Any]) -> list[str]:
    tags: list[str] = []
    for raw in values:
        # Ops often type "防晒, 夏季" in one box: split on commas of either width.
        if not isinstance(raw, str):
            raise Invalid("tags must be text", field="tags", rule="type")
        for part in re.split(r"[,，、]", raw):
            tag = clean_text("tags", part, max_chars=TAG_CHARS).lower()
            if tag and tag not in tags:
                tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise Invalid(f"{len(tags)} tags; the limit is {MAX_TAGS}", field="tags", rule="max_items")
    return tags


def parse_time(field: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} must be an ISO 8601 time", field=field, rule="datetime")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"{field} must be an ISO 8601 time like 2026-12-01T08:00:00+08:00",
            field=field,
            rule="datetime",
        ) from None
    if when.tzinfo is None:
        raise Invalid(f"{field} needs a time zone offset", field=field, rule="timezone")
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC (or year 0)
        when = datetime.max.replace(tzinfo=UTC)
    # A day's margin at each end: the pages show it in the local zone, which must not overflow.
    if not _EARLIEST <= when <= _LATEST:
        raise Invalid(
            f"{field} must be from {_EARLIEST.date()} to {_LATEST.date()}",
            field=field,
            rule="datetime",
        )
    return when


def material_fields(
    form: dict[str, Any], tags: list[Any] | None, max_text: int, *, partial: bool
) -> dict[str, Any]:
    """The editable fields present in `form`, checked; all required ones unless partial."""
    out: dict[str, Any] = {}

    def present(name: str) -> bool:
        return not partial or name in form

    if present("title"):
        out["title"] = parse_title(form.get("title"))
    if present("copy"):
        out["copy"] = parse_copy(form.get("copy"), max_text)
    if present("price"):
        out["price_cents"] = parse_price("price", form.get("price"), required=True)
    if present("original_price"):
        out["original_price_cents"] = parse_price(
            "original_price", form.get("original_price"), required=False
        )
    if present("product_url"):
        out["product_url"] = parse_url("product_url", form.get("product_url"))
    for name in ("brand", "category"):
        if present(name):
            out[name] = parse_name(name, form.get(name))
    if tags is not None:
        out["tags"] = parse_tags(tags)
    return out
