"""Every /api/v1 request and response shape, declared once (field types in fields.py).

spectree validates each request with these models and builds the OpenAPI document from them
(spec.py), so the document cannot drift from what the API takes. The views still build their
answers as plain dicts; the response models below describe them, and the tests check every
answer against them (spec.py, API_CHECK_RESPONSES).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from materials.models import (
    DRAFT,
    EXPIRED,
    FAILED,
    MAX_ID,
    PROCESSING,
    PUBLISHED,
    READY,
    SCHEDULED,
    TAKEN_DOWN,
)
from materials.sharing import stats
from materials.sharing.referrals import Order
from materials.validation import (
    MAX_TAGS,
    NAME_CHARS,
    SPACES,
    TAG_CHARS,
    TITLE_CHARS,
    URL_CHARS,
    VARIANT_LABEL_CHARS,
    clean_text,
    parse_comment,
    parse_copy,
    parse_markup,
    parse_name,
    parse_own_copy,
    parse_price,
    parse_tags,
    parse_time,
    parse_title,
    parse_url,
    parse_variant_body,
    parse_variant_label,
)
from materials.web.api.fields import (
    DATETIME,
    DAY,
    NULL,
    URL_PATTERN,
    YUAN,
    QueryBool,
    checked,
    form_money,
    json_id,
    json_money,
    money_schema,
    omitted,
    query_int,
    refuse,
    setting,
    single_upload,
    stripped,
    text_schema,
    upload,
)
from materials.web.deps import get_deps


class Part(BaseModel):
    """A request part (query, body, headers): unknown fields are ignored, as they always were."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)


def _max_text() -> int:
    return get_deps().settings.MAX_TEXT_CHARS


def _text(field: str, max_chars: int, *, required: bool = False) -> Any:
    """One line of text as clean_text() takes it."""
    return checked(
        str,
        lambda v: clean_text(field, v, max_chars=max_chars, required=required),
        text_schema(max_chars, required=required),
    )


# ---------------------------------------------------------------- materials: requests

Title = checked(str, parse_title, text_schema(TITLE_CHARS, required=True))
Copy = checked(str, lambda v: parse_copy(v, _max_text()), setting("text", "MAX_TEXT_CHARS"))
Brand = checked(str, lambda v: parse_name("brand", v), text_schema(NAME_CHARS))
Category = checked(str, lambda v: parse_name("category", v), text_schema(NAME_CHARS))
ProductUrl = checked(
    str,
    lambda v: parse_url("product_url", v),
    {"type": "string", "maxLength": URL_CHARS, "pattern": URL_PATTERN},
)


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise refuse("type", "tags must be a list", field="tags")
    # Values as sent, before parse_tags splits and merges them: what the document can count.
    if len(value) > MAX_TAGS:
        raise refuse("max_items", f"at most {MAX_TAGS} values", field="tags")
    return parse_tags(value)


# A value may hold several tags ("防晒, 夏季", as people type them).
TAG = text_schema(TAG_CHARS)
JsonTags = checked(list[str], _tags, {"type": "array", "items": TAG, "maxItems": MAX_TAGS})
# A form sends one value as it sends a list of one (and an empty list not at all).
FormTags = checked(
    list[str],
    _tags,
    {"anyOf": [TAG, {"type": "array", "items": TAG, "minItems": 1, "maxItems": MAX_TAGS}]},
)


# The domain's names for the fields whose wire names differ.
DOMAIN_NAMES = {"copy_": "copy", "price": "price_cents", "original_price": "original_price_cents"}


class MaterialFields(Part):
    """The editable fields, each optional (an edit); `fields()` gives them to the domain."""

    title: Title = omitted()
    # `copy` is BaseModel's: the alias is the wire name.
    copy_: Copy = omitted(alias="copy")
    price: form_money("price", required=True) = omitted()
    original_price: form_money("original_price", required=False) = omitted()
    product_url: ProductUrl = omitted()
    brand: Brand = omitted()
    category: Category = omitted()
    tags: FormTags = omitted()

    def fields(self) -> dict[str, Any]:
        """The fields sent, by their domain names."""
        return {DOMAIN_NAMES.get(k, k): getattr(self, k) for k in sorted(self.model_fields_set)}


class MaterialUpload(MaterialFields):
    """POST /materials, multipart/form-data: the fields, the photos and at most one video."""

    title: Title
    copy_: Copy = Field("", alias="copy")
    price: form_money("price", required=True)
    product_url: ProductUrl
    brand: Brand = ""
    category: Category = ""
    tags: FormTags = omitted([])
    photos: Annotated[
        list[upload("MAX_PHOTO_BYTES")],
        Field(min_length=1, json_schema_extra=setting("maxItems", "MAX_PHOTOS")),
    ]
    video: single_upload("MAX_VIDEO_BYTES") = omitted()

    def fields(self) -> dict[str, Any]:
        """Every editable field, the defaults for those not sent."""
        return {DOMAIN_NAMES.get(k, k): getattr(self, k) for k in MaterialFields.model_fields}


def _some_field(schema: dict[str, Any]) -> None:
    # An edit changes something: any one of the fields.
    schema["anyOf"] = [{"required": [name]} for name in schema["properties"]]


class MaterialEditForm(MaterialFields):
    """PATCH /materials/{material_id} as a form: only the fields sent change."""

    model_config = ConfigDict(json_schema_extra=_some_field)

    @model_validator(mode="after")
    def _something(self) -> MaterialEditForm:
        if not self.model_fields_set:
            raise refuse("empty", "nothing to change: send at least one field")
        return self


class MaterialEdit(MaterialEditForm):
    """PATCH /materials/{material_id} as JSON: as the form, and here null clears the original
    price and [] the tags."""

    price: json_money("price", required=True) = omitted()
    original_price: json_money("original_price", required=False) = omitted()
    tags: JsonTags = omitted()


def _time(field: str) -> Any:
    return checked(Any, lambda v: parse_time(field, v), {"anyOf": [DATETIME, NULL]}, nullable=True)


class PublishWindow(Part):
    """POST /materials/{material_id}/publish: JSON, or no body (publish now, for good)."""

    publish_at: _time("publish_at") = omitted()
    take_down_at: _time("take_down_at") = omitted()


IDEMPOTENCY_KEY = re.compile(r"[!-~](?:[ -~]{0,198}[!-~])?")


def _idempotency_key(value: str) -> str:
    # Printable ASCII: what an HTTP header carries as it was sent (no spaces around, no
    # control characters, nothing another proxy would re-encode).
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise refuse("format", "1-200 printable ASCII characters", field="Idempotency-Key")
    return value


class UploadHeaders(Part):
    idempotency_key: checked(
        str, _idempotency_key, {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"}
    ) = omitted(alias="Idempotency-Key")


class MaterialQuery(Part):
    """GET /materials: filters (exact, but for q: in title or copy) and a page."""

    status: Literal[PROCESSING, READY, FAILED] = omitted()
    state: Literal[DRAFT, PUBLISHED, TAKEN_DOWN] = omitted()
    q: _text("q", 200) = omitted()
    tag: _text("tag", 200) = omitted()
    brand: _text("brand", 200) = omitted()
    category: _text("category", 200) = omitted()
    page: query_int(1, 100_000) = 1
    per_page: query_int(1, 100) = 20


# ---------------------------------------------------------------- search: request

SORTS = ("relevance", "newest", "forwarded")
MAX_PER_PAGE = 50
MAX_DEPTH = 10_000  # the deepest hit a page may reach (SearchIndex keeps no more)
MAX_TAG_FILTERS = 10
MAX_FILTER_CHARS = 100
MONEY_FILTER = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


WORD = {"type": "string", "pattern": stripped(MAX_FILTER_CHARS)}


def _word(field: str) -> Any:
    def rule(value: str) -> str | None:
        value = value.strip()
        if len(value) > MAX_FILTER_CHARS:
            raise refuse("max_length", f"{field} is longer than {MAX_FILTER_CHARS}", field=field)
        return value or None

    return checked(str | None, rule, WORD)


def _tag_filters(values: list[str]) -> list[str]:
    # Counted as sent (a blank one too, though it filters nothing): what the document can say.
    if len(values) > MAX_TAG_FILTERS:
        raise refuse("max_items", f"at most {MAX_TAG_FILTERS} tags", field="tag")
    tags = [t.strip() for t in values if t.strip()]
    if any(len(t) > MAX_FILTER_CHARS for t in tags):
        raise refuse("max_length", f"a tag is longer than {MAX_FILTER_CHARS}", field="tag")
    return tags


TAG_FILTERS = {"type": "array", "items": WORD, "maxItems": MAX_TAG_FILTERS}


def _price_filter(field: str) -> Any:
    def rule(value: str) -> int | None:
        # Plain decimals only: parse_price takes any Decimal, and "1e999999" overflows while
        # "1e99999" costs most of a second of CPU.
        if not MONEY_FILTER.fullmatch(value.strip()):
            raise refuse("money", f"{field} must be an amount like 89.90", field=field)
        return parse_price(field, value, required=True)

    return checked(int, rule, money_schema(required=True))


class SearchQuery(Part):
    """GET /search: what sellers type, filters, a sort and a page."""

    q: str = ""
    tag: checked(list[str], _tag_filters, TAG_FILTERS) = []
    brand: _word("brand") = omitted()
    category: _word("category") = omitted()
    price_min: _price_filter("price_min") = omitted()
    price_max: _price_filter("price_max") = omitted()
    has_video: QueryBool = omitted()
    sort: Literal[SORTS] = "relevance"
    page: query_int(1, MAX_DEPTH) = 1
    per_page: query_int(1, MAX_PER_PAGE) = 20

    @model_validator(mode="after")
    def _consistent(self) -> SearchQuery:
        low, high = self.price_min, self.price_max
        if low is not None and high is not None and high < low:
            raise refuse("range", "price_max is below price_min", field="price_max")
        if self.page * self.per_page > MAX_DEPTH:
            raise refuse("max_depth", f"results stop at the {MAX_DEPTH}th hit", field="page")
        return self

    def params(self) -> dict[str, Any]:
        """As SearchIndex.search takes them."""
        out = self.model_dump(exclude={"tag"})
        return out | {"tags": self.tag}


# ---------------------------------------------------------------- sharing: requests


def _day(field: str) -> Any:
    return checked(Any, lambda v: stats.parse_day(field, v), DAY)


class PeriodQuery(Part):
    """Local days in SUCAI_TIMEZONE, inclusive; by default the 30 days up to today."""

    from_: _day("from") = omitted(alias="from")
    to: _day("to") = omitted()


class OpsStatsQuery(PeriodQuery):
    by: Literal[tuple(stats.RANKINGS)] = "orders"
    limit: query_int(1, 100) = 10


class OrderReport(Part):
    """POST /conversions: an order a storefront took with a seller's referral code."""

    order_id: _text("order_id", 100, required=True)
    referral_code: _text("referral_code", 16, required=True)
    material_id: json_id(MAX_ID) = None
    amount: json_money("amount", required=True)

    def order(self) -> Order:
        return Order(self.order_id, self.referral_code.upper(), self.material_id, self.amount)


# ---------------------------------------------------------------- the seller's copy and price


def _copy_like(rule: Any, *, required: bool) -> Any:
    """Copy-like text (several lines, up to SUCAI_MAX_TEXT_CHARS), normalised as ops copy."""
    keyword = "required_text" if required else "text"
    return checked(str, lambda v: rule(v, _max_text()), setting(keyword, "MAX_TEXT_CHARS"))


def _markup(field: str) -> Any:
    # Money as a seller types it; negative, 3 decimals and the cap each have their own rule,
    # so the document says only "a string or whole yuan" and parse_markup names the rule.
    number = {
        "type": "string",
        "pattern": f"^[{SPACES}]*[+-]?[0-9]{{1,12}}(?:[.][0-9]*)?[{SPACES}]*$",
    }
    whole = {"type": "integer", "minimum": 0, "maximum": YUAN}
    return checked(int, lambda v: parse_markup(field, v), {"anyOf": [number, whole]})


OwnText = checked(
    str | None,
    lambda v: None if v is None else parse_own_copy("own_text", v, _max_text()),
    {"anyOf": [setting("required_text", "MAX_TEXT_CHARS"), NULL]},
    nullable=True,
)
StrictBool = Annotated[bool, Field(strict=True)]


class CopySettingsEdit(Part):
    """PATCH /materials/{material_id}/copy: ops' first comment and markup rule."""

    model_config = ConfigDict(json_schema_extra=_some_field)

    comment: _copy_like(parse_comment, required=False) = omitted()
    markup_allowed: StrictBool = omitted()
    markup_cap: json_money("markup_cap", required=True) = omitted()

    @model_validator(mode="after")
    def _something(self) -> CopySettingsEdit:
        if not self.model_fields_set:
            raise refuse("empty", "nothing to change: send at least one field")
        return self

    def changes(self) -> dict[str, Any]:
        names = {"markup_cap": "markup_cap_cents"}
        return {names.get(k, k): getattr(self, k) for k in sorted(self.model_fields_set)}


class VariantCreate(Part):
    """POST /materials/{material_id}/variants: another wording of the copy."""

    label: checked(str, parse_variant_label, text_schema(VARIANT_LABEL_CHARS, required=True))
    body: _copy_like(parse_variant_body, required=True)


class MyCopyEdit(Part):
    """PUT /materials/{material_id}/my-copy: the seller's pick. `variant_id` one of the
    material's variants; else `own_text` (their own words, no links: the service adds theirs);
    neither is the material's own copy. `markup` in yuan, within the material's cap."""

    variant_id: json_id(MAX_ID) = None
    own_text: OwnText = None
    markup: _markup("markup") = 0


class PriceQuery(Part):
    """GET /prices: a referral's code and material."""

    code: _text("code", 16, required=True)
    material: query_int(1, MAX_ID)


class VariantStatsQuery(PeriodQuery):
    material: query_int(1, MAX_ID)


# ---------------------------------------------------------------- responses


class Answer(BaseModel):
    """A response body exactly: strict types, no field undocumented."""

    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["89.90"])]
Url = Annotated[str, Field(json_schema_extra={"format": "uri"})]
Status = Literal[PROCESSING, READY, FAILED]


class Rendition(Answer):
    url: Url
    width: int | None
    height: int | None
    size: int
    mime: str


class Asset(Answer):
    id: int
    kind: Literal["photo", "video"]
    position: int
    status: Status
    error: str | None
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    original_filename: str
    renditions: dict[str, Rendition]


class Publication(Answer):
    state: Literal[DRAFT, PUBLISHED, TAKEN_DOWN, SCHEDULED, EXPIRED]
    live: bool
    publish_at: AwareDatetime | None
    take_down_at: AwareDatetime | None


class Material(Answer):
    id: int
    title: str
    copy_: str = Field(alias="copy")
    price: Money
    original_price: Money | None
    product_url: str
    brand: str
    category: str
    tags: list[str]
    status: Status
    error: str | None
    publication: Publication
    version: int
    forward_count: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    assets: list[Asset]


class MaterialPage(Answer):
    items: list[Material]
    total: int
    page: int
    per_page: int


class Highlight(Answer):
    """Escaped HTML: <mark> around the words that matched, nothing else."""

    title: str
    copy_: str = Field(alias="copy")


class Hit(Answer):
    id: int
    title: str
    price: Money
    original_price: Money | None
    brand: str
    category: str
    tags: list[str]
    has_video: bool
    forward_count: int
    published_at: AwareDatetime | None
    thumbnail: Url | None
    highlight: Highlight


class Count(Answer):
    value: str
    count: int


class VideoCounts(Answer):
    true: int
    false: int


class Facets(Answer):
    """Counts over every match, most first (a list: an object would lose the order)."""

    tags: list[Count]
    brand: list[Count]
    category: list[Count]
    has_video: VideoCounts


class SearchPage(Answer):
    items: list[Hit]
    total: int
    page: int
    per_page: int
    facets: Facets


class Cards(Answer):
    square: Url
    poster: Url
    story: Url
    moments: Url | None = Field(None, description="only where a mini-program is configured")
    photos: list[Url]


class CopyUsed(Answer):
    """Which copy: an ops variant (variant_id), the seller's own words (own), or neither: the
    material's own copy."""

    variant_id: int | None
    own: bool
    label: str


class Share(Answer):
    """What a seller's phone needs to forward a material: the body (复制正文: title, the chosen
    copy, the seller's price and link) and the first comment (复制评论) apart. POST records
    the forward; GET previews it and records nothing."""

    material_id: int
    title: str
    referral_code: str
    link: Url
    body: str
    text: str = Field(description="the body again (the name older clients read)")
    comment: str
    copy_: CopyUsed = Field(alias="copy")
    price: Money
    cards: Cards
    video: Url | None
    poster: Url | None
    forward_count: int


class Conversion(Answer):
    id: int
    order_id: str
    referral_code: str
    material_id: int | None
    amount: Money
    markup: Money = Field(description="of the amount, the seller's markup (their income)")
    created_at: AwareDatetime


class Clicks(Answer):
    raw: int
    valid: int


class Metrics(Answer):
    forwards: int
    clicks: Clicks
    orders: int
    amount: Money = Field(description="what buyers paid, sellers' markups included")
    markup: Money = Field(description="of the amount, the sellers' markups (店主加价)")
    conversion_rate: float | None


class MaterialMetrics(Metrics):
    material_id: int
    title: str


class DayMetrics(Metrics):
    date: Annotated[str, Field(json_schema_extra={"format": "date"})]


class Seller(Answer):
    id: int
    name: str
    referral_code: str | None


class PeriodAnswer(Answer):
    from_: Annotated[str, Field(alias="from", json_schema_extra={"format": "date"})]
    to: Annotated[str, Field(json_schema_extra={"format": "date"})]
    utc_offset: Annotated[str, Field(pattern=r"^[+-][0-9]{2}:[0-9]{2}$")]


class SellerStats(PeriodAnswer):
    seller: Seller
    totals: Metrics
    by_material: list[MaterialMetrics]
    by_day: list[DayMetrics]


class Funnel(Metrics):
    click_rate: float | None


class SellerMetrics(Metrics):
    seller_id: int
    name: str
    referral_code: str | None


class OpsStats(PeriodAnswer):
    by: Literal[tuple(stats.RANKINGS)]
    funnel: Funnel
    top_materials: list[MaterialMetrics]
    top_sellers: list[SellerMetrics]


class Variant(Answer):
    id: int
    label: str
    body: str


class MarkupRule(Answer):
    allowed: bool
    cap: Money


class CopySettings(Answer):
    material_id: int
    copy_: str = Field(alias="copy")
    comment: str
    variants: list[Variant]
    markup: MarkupRule


class MyCopy(Answer):
    """A seller's choices for a material and what they come to; never another seller's."""

    material_id: int
    copy_: CopyUsed = Field(alias="copy")
    body: str
    own_text: str | None
    comment: str
    variants: list[Variant]
    markup_rule: MarkupRule
    markup: Money = Field(description="what applies: within the current cap, 0 when off")
    asked_markup: Money = Field(description="what the seller set")
    base_price: Money
    price: Money


class Price(Answer):
    referral_code: str
    material_id: int
    base_price: Money
    markup: Money
    price: Money
    currency: Literal["CNY"]


class VariantMetrics(Metrics):
    variant_id: int | None
    own: bool
    label: str
    retired: bool


class VariantStats(PeriodAnswer):
    material_id: int
    variants: list[VariantMetrics]


class Problem(Answer):
    """application/problem+json (RFC 9457), with the rule broken and where."""

    type: str
    title: str
    status: int
    detail: str
    rule: str
    field: str = omitted()
    file: str = omitted()
