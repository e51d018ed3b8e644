"""The metadata schema. Alembic migrations under materials/migrations follow these models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on SQLite (which has no time zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


# Roles
OPS, SELLER, STOREFRONT = "ops", "seller", "storefront"
ROLES = (OPS, SELLER, STOREFRONT)

# Material processing status
PROCESSING, READY, FAILED = "processing", "ready", "failed"

# Material publication state (the window decides whether a published material is live)
DRAFT, PUBLISHED, TAKEN_DOWN = "draft", "published", "taken_down"
# What `publication()` adds for a published material outside its window
SCHEDULED, EXPIRED = "scheduled", "expired"

MAX_ID = 2**31 - 1  # ids are INTEGER: PostgreSQL refuses a larger number outright


def parse_id(text: str) -> int | None:
    """An id as it appears in a URL: plain ASCII digits, no sign, no zero pad, 32-bit."""
    if not (text.isascii() and text.isdigit()) or text.startswith("0") or len(text) > 10:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    referral_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Material(Base):
    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    copy: Mapped[str] = mapped_column(Text, default="")
    price_cents: Mapped[int] = mapped_column(BigInteger)
    original_price_cents: Mapped[int | None] = mapped_column(BigInteger)
    product_url: Mapped[str] = mapped_column(String(2000))
    brand: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default=PROCESSING)
    error: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=DRAFT)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    take_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    forward_count: Mapped[int] = mapped_column(Integer, default=0)
    # What sellers post under their Moments post (评论区, "first comment"): beside the copy.
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    # 店主加价: whether sellers may add their own markup to the price, and at most how much.
    markup_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    markup_cap_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assets: Mapped[list[Asset]] = relationship(
        back_populates="material", order_by="Asset.position", cascade="all, delete-orphan"
    )
    tag_rows: Mapped[list[MaterialTag]] = relationship(
        cascade="all, delete-orphan", order_by="MaterialTag.position"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]

    @property
    def photos(self) -> list[Asset]:
        return [a for a in self.assets if a.kind == "photo"]

    @property
    def video(self) -> Asset | None:
        return next((a for a in self.assets if a.kind == "video"), None)

    # "Is this material live?" is decided here and only here: the pages, the API, the
    # redirect and the card URLs ask `is_live` (in Python or as SQL), the indexer indexes what
    # is `liveable` and the index applies the same window at query time.

    @hybrid_property
    def liveable(self) -> bool:
        """Published and processed: live whenever its window is open."""
        return (self.state == PUBLISHED) & (self.status == READY)

    @hybrid_method
    def is_live(self, now: datetime) -> bool:
        """Visible to the public right now: published, processed, inside its window."""
        return (
            self.liveable
            and (self.publish_at is None or self.publish_at <= now)
            and (self.take_down_at is None or now < self.take_down_at)
        )

    @is_live.expression
    def is_live(cls, now: datetime) -> ColumnElement[bool]:  # noqa: N805 - SQL side
        return and_(
            cls.liveable,
            or_(cls.publish_at.is_(None), cls.publish_at <= now),
            or_(cls.take_down_at.is_(None), cls.take_down_at > now),
        )

    def publication(self, now: datetime) -> str:
        if self.state != PUBLISHED:
            return self.state
        if self.publish_at is not None and now < self.publish_at:
            return SCHEDULED
        if self.take_down_at is not None and now >= self.take_down_at:
            return EXPIRED
        return PUBLISHED

    def was_live(self, now: datetime) -> bool:
        """Taken down or expired: links shared while it was live still lead to the product."""
        return self.publication(now) in (TAKEN_DOWN, EXPIRED)


class MaterialTag(Base):
    __tablename__ = "material_tags"
    __table_args__ = (UniqueConstraint("material_id", "tag"), Index("ix_material_tags_tag", "tag"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # photo | video
    position: Mapped[int] = mapped_column(Integer, default=0)
    backend: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(300), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    # As the client sent it: shown escaped, never used to build a path or key.
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default=PROCESSING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # The database, not the queue, is the record of work to do (materials/catalogue/jobs.py):
    # a `processing` asset is owed renditions. `queued_at` is when it was last handed to the
    # queue, `lease_until` how long the worker running it may hold it (renewed while it runs).
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retryable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    material: Mapped[Material] = relationship(back_populates="assets")
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="Rendition.name"
    )

    def rendition(self, name: str) -> Rendition | None:
        return next((r for r in self.renditions if r.name == name), None)


class Rendition(Base):
    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))  # display | thumb | video | poster
    backend: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(300), index=True)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    asset: Mapped[Asset] = relationship(back_populates="renditions")


class ChangeLog(Base):
    """One row per change to a material, written in the same transaction as the change."""

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    material_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    # What was asked the first time (fields and file hashes): a replay must ask the same.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Card(Base):
    """A rendered share card (or a seller-independent base), stored through the storage."""

    __tablename__ = "cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cache_key: Mapped[str] = mapped_column(String(64), unique=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    backend: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CopyVariant(Base):
    """One of ops' alternative wordings of a material's copy; retired, never deleted (the
    forwards, clicks and orders made with it keep pointing at it)."""

    __tablename__ = "copy_variants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SellerCopy(Base):
    """A seller's own choices for one material: the copy they forward (an ops variant, or
    their own words when `own_body` is set) and their markup."""

    __tablename__ = "seller_copies"
    __table_args__ = (UniqueConstraint("seller_id", "material_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("copy_variants.id", ondelete="SET NULL")
    )
    own_body: Mapped[str | None] = mapped_column(Text)
    markup_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VariantMixin:
    """Which copy an event was made with (materials/sharing/copies.py): an ops variant, the
    seller's own words (`own_copy`), or neither: the material's own copy."""

    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("copy_variants.id", ondelete="SET NULL"), index=True
    )
    own_copy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Forward(VariantMixin, Base):
    __tablename__ = "forwards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Click(VariantMixin, Base):
    __tablename__ = "clicks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    visitor: Mapped[str] = mapped_column(String(64))  # a hash, never the raw IP
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(String(32))  # why not valid: bot, duplicate, …
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Conversion(VariantMixin, Base):
    __tablename__ = "conversions"
    __table_args__ = (UniqueConstraint("storefront_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    storefront_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(100))
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    material_id: Mapped[int | None] = mapped_column(
        ForeignKey("materials.id", ondelete="SET NULL"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # The seller's markup on the material when the order was reported: their income, apart.
    markup_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Favorite(Base):
    __tablename__ = "favorites"
    __table_args__ = (UniqueConstraint("user_id", "material_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceToken(Base):
    """A short-lived credential an outside service hands out (WeChat's access_token and
    jsapi_ticket), kept here so that every process and node shares one and only one of them
    fetches a new one (materials/platform/servicetokens.py)."""

    __tablename__ = "service_tokens"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # WeChat asks for at least 512 characters of room for an access_token.
    value: Mapped[str] = mapped_column(Text, default="")
    refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # fetch anew from here on
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unusable from here on
    # While a process fetches a new value it holds the row until `lease_until`; after a failed
    # fetch `error` says why and `lease_until` is the end of the backoff.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class RateSlot(Base):
    """When the next call to a rate-limited outside API may start, for every process and node
    together (materials/platform/pacing.py)."""

    __tablename__ = "rate_slots"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
