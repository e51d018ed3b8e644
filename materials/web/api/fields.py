"""Field types for the API's declarations (schemas.py): each validates a wire value and
documents it, from one definition.

A field the domain checks (materials.validation, sharing.stats) is built with `checked()`: it
runs that very rule, so the API refuses with the same `rule` and `field` the pages use, and
carries a JSON Schema of the wire form beside it. Where pydantic's own check is the rule (a
choice, a list's length), `problem()` names it in our words.

Wire traps (the prototype's and the fuzzer's findings):
* Optional fields are `omitted()`, not `X | None`: OpenAPI 3.1 would then document null, and a
  query or a form can only send the string "null".
* Patterns spell their character classes out ([0-9], validation.SPACES), never \\d \\s \\w:
  the document is read with ECMA-262 regexes, in which those are other sets than in Python.
* A query integer is ASCII digits only ("²".isdigit() is true; int() refuses 5,000 digits);
  in JSON an integral float (5.0) is an integer, as JSON Schema says.
* A datetime only from a string (pydantic would read 0 as 1970).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, get_origin

from pydantic import Field, PlainValidator, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError
from werkzeug.datastructures import FileStorage

from materials.errors import Invalid
from materials.validation import CONTROL_CHARS, SPACES, parse_price

# ---------------------------------------------------------------- errors in our words

# pydantic's error types, for the checks it does itself, as our rule names.
RULES = {
    "missing": "required",
    "too_short": "required",
    "literal_error": "choice",
    "string_type": "type",
    "list_type": "type",
    "bool_type": "type",
}
NOT_AN_OBJECT = ("model_type", "model_attributes_type")


def refuse(rule: str, detail: str, **where: str) -> PydanticCustomError:
    """A refusal under `rule`. Without `field=`, `detail` says what the value must be and the
    field it was found in is named in front of it."""
    return PydanticCustomError(rule, "{detail}", {"detail": detail, **where})


def problem(err: ValidationError) -> Invalid:
    """The first error of a validation as our 422 (fields are checked in declaration order)."""
    first = err.errors(include_url=False)[0]
    ctx = first.get("ctx") or {}
    if first["type"] in NOT_AN_OBJECT:
        return Invalid("the body must be a JSON object", rule="json")
    where = {k: ctx[k] for k in ("field", "file") if k in ctx}
    detail = ctx.get("detail", first["msg"])
    if "field" not in where and first["loc"]:
        where["field"] = str(first["loc"][0])
        detail = f"{where['field']}: {detail}"
    return Invalid(detail, rule=RULES.get(first["type"], first["type"]), **where)


# ---------------------------------------------------------------- building blocks


def checked(
    kind: Any, rule: Callable[[Any], Any], schema: dict[str, Any], *, nullable: bool = False
) -> Any:
    """A field that `rule` checks and converts (its Invalid is this field's error). JSON null
    reaches `rule` only if `nullable` (clean_text would read it as "")."""
    one_value = get_origin(kind) is not list

    def run(value: Any) -> Any:
        if value is None and not nullable:
            raise refuse("type", "must be given, not null")
        # A query or form field sent twice arrives as a list.
        if one_value and isinstance(value, list):
            raise refuse("type", "one value, not a list")
        try:
            return rule(value)
        except Invalid as exc:
            raise refuse(exc.rule, exc.detail, **exc.where) from None

    return Annotated[kind, PlainValidator(run), WithJsonSchema(schema)]


def omitted(default: Any = None, **kw: Any) -> Any:
    """May be left out (then `default`), never null. pydantic validates no default, so None can
    mean "left out"; the document shows no default (one must itself match the schema)."""
    return Field(default, json_schema_extra=_drop_default, **kw)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def setting(keyword: str, name: str) -> dict[str, Any]:
    """A schema keyword whose value comes from a setting (MAX_PHOTOS…), filled in per app by
    fill_settings(); the keyword "text" stands for text_schema(<the setting>), "required_text"
    for the same, not blank."""
    return {"x-setting": {keyword: name}}


TEXT_KEYWORDS = ("text", "required_text")


def fill_settings(node: Any, settings: Any) -> None:
    """Every setting() marker under `node` replaced by what it stands for, from `settings`."""
    if isinstance(node, dict):
        for keyword, name in node.pop("x-setting", {}).items():
            value = settings[name]
            if keyword in TEXT_KEYWORDS:
                node.update(text_schema(value, required=keyword == "required_text"))
            else:
                node[keyword] = value
        for value in node.values():
            fill_settings(value, settings)
    elif isinstance(node, list):
        for value in node:
            fill_settings(value, settings)


NULL = {"type": "null"}


def stripped(max_chars: int | None, *, banned: str = "", required: bool = False) -> str:
    """A pattern for text as the rules measure it: stripped of the spaces around it (which
    may be any), then at most `max_chars` long and without a `banned` character."""
    edge = f"[^{banned}{SPACES}]"
    inner = f"[^{banned}]" if banned else f"(?:{edge}|[{SPACES}])"
    repeat = "*" if max_chars is None else f"{{0,{max_chars - 2}}}"
    core = f"{edge}(?:{inner}{repeat}{edge})?"
    return f"^[{SPACES}]*{core if required else f'(?:{core})?'}[{SPACES}]*$"


def text_schema(max_chars: int | None = None, *, required: bool = False) -> dict[str, Any]:
    """What clean_text() takes: no control character inside, not empty when required. (A lone
    surrogate is refused too, as `encoding`, but the document cannot name one: the Rust regexes
    schemathesis reads patterns with have no character for it.)"""
    pattern = stripped(max_chars, banned=CONTROL_CHARS, required=required)
    return {"type": "string", "pattern": pattern}


# ---------------------------------------------------------------- money

# Up to validation.MAX_PRICE_CENTS (¥100,000,000.00), with at most two decimals.
MONEY = r"(?:[0-9]{1,8}(?:\.[0-9]{1,2})?|100000000(?:\.00?)?)"
YUAN = 100_000_000


def money_schema(*, required: bool) -> dict[str, Any]:
    core = MONEY if required else f"(?:{MONEY})?"
    pattern = f"^[{SPACES}]*{core}[{SPACES}]*$"
    return {"type": "string", "pattern": pattern, "examples": ["89.90"]}


def form_money(field: str, *, required: bool) -> Any:
    """A price typed into a form: "89", "89.9", "89.90"; blank is none (unless required)."""
    return checked(
        int | None,
        lambda v: parse_price(field, v, required=required),
        money_schema(required=required),
    )


def _json_money(field: str, required: bool) -> Callable[[Any], int | None]:
    def rule(value: Any) -> int | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        # Other floats are refused: 0.1 + 0.2 is not money. Send "89.90", or whole yuan.
        if isinstance(value, bool) or not isinstance(value, str | int | None):
            raise Invalid(f'{field} must be a string like "89.00"', field=field, rule="type")
        return parse_price(field, value, required=required)

    return rule


def json_money(field: str, *, required: bool) -> Any:
    """A price in JSON: a string like "89.90", or whole yuan; null clears an optional one."""
    whole = {"type": "integer", "minimum": 0, "maximum": YUAN}
    options = [money_schema(required=required), whole] + ([] if required else [NULL])
    return checked(int | None, _json_money(field, required), {"anyOf": options}, nullable=True)


# ---------------------------------------------------------------- numbers, flags, ids


def _query_int(lo: int, hi: int) -> Callable[[Any], int]:
    # Length first: int() of a 5,000-digit string raises (Python's digit limit).
    digits = re.compile(f"[0-9]{{1,{len(str(hi))}}}")

    def rule(value: Any) -> int:
        text = value if isinstance(value, str) else ""
        if digits.fullmatch(text) and lo <= int(text) <= hi:
            return int(text)
        raise refuse("range", f"must be a whole number from {lo} to {hi}")

    return rule


def query_int(lo: int, hi: int) -> Any:
    """A whole number in a query string, lo to hi: anything else is the rule `range`."""
    schema = {"type": "integer", "minimum": lo, "maximum": hi}
    return Annotated[int, PlainValidator(_query_int(lo, hi)), WithJsonSchema(schema)]


def _query_bool(value: Any) -> bool:
    if value not in ("true", "false"):
        raise refuse("boolean", "must be true or false")
    return value == "true"


QueryBool = Annotated[bool, PlainValidator(_query_bool), WithJsonSchema({"type": "boolean"})]


def json_id(maximum: int) -> Any:
    """An optional id in JSON: a positive integer up to `maximum`, or null."""

    def rule(value: Any) -> int | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is None or (type(value) is int and 0 < value <= maximum):
            return value
        raise refuse("type", "must be a positive integer")

    schema = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": maximum}, NULL]}
    return Annotated[int | None, PlainValidator(rule), WithJsonSchema(schema)]


# ---------------------------------------------------------------- URLs and times

_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "(?:[0-5]?[0-9]{1,4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# ASCII hosts and paths only: parse_url takes more (IDN hosts, Chinese paths), but every URL
# this matches is one that parse_url takes, so a client can rely on it.
URL_PATTERN = (
    f"^[{SPACES}]*https?://{_LABEL}(?:\\.{_LABEL})*(?::{_PORT})?(?:[/?#][!-\\[\\]-~]*)?[{SPACES}]*$"
)

_YEAR = "(?:1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_DATE = f"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_CLOCK = "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
# Years 1000-9998 and offsets under 24 h: every match stays inside parse_time's range in UTC.
DATETIME = {
    "type": "string",
    "format": "date-time",
    "pattern": f"^{_DATE}T{_CLOCK}:[0-5][0-9](?:\\.[0-9]+)?(?:Z|[+-]{_CLOCK})$",
    "examples": ["2026-12-01T08:00:00+08:00"],
}
DAY = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


# ---------------------------------------------------------------- files


BINARY = {"type": "string", "format": "binary"}


def _file(value: Any) -> FileStorage:
    # Only that it is a file part, never read here: materials/web/uploads.py has spooled it.
    if not isinstance(value, FileStorage):
        raise refuse("type", "must be a file part")
    return value


def _single_file(value: Any) -> FileStorage:
    if isinstance(value, list):
        raise refuse("max_items", "at most one file")
    return _file(value)


# At most the setting's bytes. An empty part is refused too (check_files: `empty`), but as a
# file judged by its content, like any that is no photo: a minLength here would make
# schemathesis check its negative cases against an empty file and miss that they are valid.
def upload(max_bytes_setting: str) -> Any:
    """A file part (check_files judges it, by content)."""
    schema = BINARY | setting("maxLength", max_bytes_setting)
    return Annotated[FileStorage, PlainValidator(_file), WithJsonSchema(schema)]


def single_upload(max_bytes_setting: str) -> Any:
    schema = BINARY | setting("maxLength", max_bytes_setting)
    return Annotated[FileStorage, PlainValidator(_single_file), WithJsonSchema(schema)]
