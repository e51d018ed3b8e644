"""Use cases on materials: create (upload), edit, publish, take down, list, retry.

No Flask request objects in here: the web layer parses, these functions decide. Side effects
outside the database (jobs) happen only after the transaction commits.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from materials.catalogue import products
from materials.catalogue.uploads import IncomingFile
from materials.errors import Conflict, Invalid, NotFound
from materials.models import (
    APPROVED,
    DRAFT,
    FAILED,
    MAX_ID,
    PROCESSING,
    PUBLISHED,
    READY,
    TAKEN_DOWN,
    Asset,
    ChangeLog,
    IdempotencyKey,
    Material,
    MaterialTag,
    User,
    utcnow,
)
from materials.platform.deps import Deps
from materials.validation import parse_tags
from media.storage import Storage

EXT = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


def log_change(s: Session, material: Material, op: str) -> None:
    """Every change to a material leaves a change-log row in the same transaction."""
    s.add(ChangeLog(material_id=material.id, version=material.version, op=op))


def load_material(s: Session, material_id: int, *, lock: bool = False) -> Material:
    if not 0 < material_id <= MAX_ID:
        raise NotFound(f"material {material_id} not found", rule="not_found")
    stmt = (
        select(Material)
        .where(Material.id == material_id)
        .options(
            selectinload(Material.assets).selectinload(Asset.renditions),
            selectinload(Material.tag_rows),
        )
    )
    if lock:
        stmt = stmt.with_for_update(of=Material)
    material = s.scalar(stmt)
    if material is None:
        raise NotFound(f"material {material_id} not found", rule="not_found")
    return material


@dataclass
class Created:
    material_id: int
    replayed: bool = False  # an Idempotency-Key retry: nothing new was made
    asset_ids: list[int] = field(default_factory=list)


# Runs inside the upload's transaction before the material is added (a check that must hold
# at commit, such as a seller's daily post cap).
Guard = Callable[[Session], None]


def create_material(
    deps: Deps,
    user: User,
    fields: dict[str, Any],
    files: list[IncomingFile],
    idempotency_key: str | None = None,
    guard: Guard | None = None,
) -> Created:
    fingerprint = request_fingerprint(fields, files)
    if idempotency_key:
        existing = _replay(deps, user, idempotency_key, fingerprint)
        if existing:
            return existing
    keys = _store_originals(deps.storage, files)
    try:
        created = _insert_material(
            deps, user, fields, files, keys, idempotency_key, fingerprint, guard
        )
    except BaseException as exc:
        _delete_quietly(deps.storage, keys.values())
        if idempotency_key and isinstance(exc, IntegrityError):
            # A concurrent retry with the same key won the race: answer with its material.
            replay = _replay(deps, user, idempotency_key, fingerprint)
            if replay:
                return replay
        raise
    for asset_id in created.asset_ids:
        deps.queue.enqueue("process_asset", asset_id)
    return created


def request_fingerprint(fields: dict[str, Any], files: list[IncomingFile]) -> str:
    """What an upload asks for: its checked fields and its files' hashes, in order."""
    asked = {"fields": fields, "files": [(f.field, f.sha256) for f in files]}
    text = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(deps: Deps, user: User, key: str, fingerprint: str) -> Created | None:
    """The material an earlier request with this key made; a 422 if it asked otherwise."""
    with deps.db.read() as s:
        row = s.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user.id, IdempotencyKey.key == key
            )
        )
    if row is None:
        return None
    if row.request_hash and row.request_hash != fingerprint:
        raise Invalid(
            "this Idempotency-Key was used for a different upload; use a new key",
            field="Idempotency-Key",
            rule="idempotency_mismatch",
        )
    return Created(row.material_id, replayed=True)


def _store_originals(storage: Storage, files: list[IncomingFile]) -> dict[str, str]:
    """Originals under fresh server-made keys; on any failure, what was stored is removed."""
    month = datetime.now(UTC).strftime("%Y/%m")
    keys: dict[str, str] = {}
    try:
        for f in files:
            key = f"originals/{month}/{secrets.token_hex(12)}.{EXT[f.mime]}"
            storage.put_file(key, f.path, f.mime)
            keys[f.field] = key
    except BaseException:
        _delete_quietly(storage, keys.values())
        raise
    return keys


def _delete_quietly(storage: Storage, keys) -> None:  # noqa: ANN001
    for key in keys:
        try:
            storage.delete(key)
        except Exception:  # noqa: S112 - the orphan sweep catches what is left
            continue


def _insert_material(
    deps: Deps,
    user: User,
    fields: dict[str, Any],
    files: list[IncomingFile],
    keys: dict[str, str],
    idempotency_key: str | None,
    fingerprint: str,
    guard: Guard | None = None,
) -> Created:
    tags = fields.pop("tags", [])
    with deps.db.transaction() as s:
        if guard is not None:
            guard(s)
        material = Material(**fields, status=PROCESSING, state=DRAFT, created_by=user.id)
        material.tag_rows = [MaterialTag(tag=t, position=i) for i, t in enumerate(tags)]
        material.assets = [
            _asset(f, i, keys[f.field], deps.storage.backend) for i, f in enumerate(files)
        ]
        s.add(material)
        s.flush()
        if not material.product_key:  # no readable URL: a product of its own
            material.product_key = products.product_key(material.product_url, material.id)
        if idempotency_key:
            s.add(
                IdempotencyKey(
                    user_id=user.id,
                    key=idempotency_key,
                    request_hash=fingerprint,
                    material_id=material.id,
                )
            )
        log_change(s, material, "create")
        s.flush()
        return Created(material.id, asset_ids=[a.id for a in material.assets])


def _asset(f: IncomingFile, position: int, key: str, backend: str) -> Asset:
    return Asset(
        kind=f.kind,
        position=position,
        backend=backend,
        key=key,
        sha256=f.sha256,
        size=f.size,
        mime=f.mime,
        width=f.width,
        height=f.height,
        duration=f.duration,
        original_filename=_safe_filename(f.filename),
        status=PROCESSING,
        queued_at=utcnow(),  # the reaper finds it if the enqueue after the commit is lost
    )


def _safe_filename(name: str) -> str:
    """Kept as metadata only; control characters dropped, length bounded."""
    name = "".join(ch for ch in name if ch.isprintable())
    return name[-255:]


def update_material(deps: Deps, material_id: int, changes: dict[str, Any]) -> None:
    """An edit: a new version, so every card made from the old one changes."""
    with deps.db.transaction() as s:
        material = load_material(s, material_id, lock=True)
        edit_loaded(s, material, changes)


def edit_loaded(s: Session, material: Material, changes: dict[str, Any]) -> None:
    """The edit of a material already loaded (and locked) in the transaction `s`."""
    changes = dict(changes)
    tags = changes.pop("tags", None)
    product = material.product_key
    for name, value in changes.items():
        setattr(material, name, value)
    if tags is not None:
        _set_tags(s, material, tags)
    if "product_url" in changes:
        _set_product(s, material, product)
    _new_version(s, material)


def _set_product(s: Session, material: Material, old: str) -> None:
    for other in products.repoint(s, material, old):
        # Their product's ratings changed (and so the index their search documents carry).
        log_change(s, s.get(Material, other), "rating")


def add_tag(deps: Deps, material_id: int, tag: str) -> bool:
    """Adds `tag` (checked like any tag) unless it is there; False when nothing changed. One
    transaction with the row locked, so concurrent bulk edits never drop each other's tags."""
    wanted = parse_tags([tag])
    with deps.db.transaction() as s:
        material = load_material(s, material_id, lock=True)
        tags = parse_tags([*material.tags, *wanted])
        if tags == material.tags:
            return False
        _set_tags(s, material, tags)
        _new_version(s, material)
        return True


def _set_tags(s: Session, material: Material, tags: list[str]) -> None:
    material.tag_rows.clear()
    s.flush()  # the old rows go before the new ones meet the (material, tag) unique key
    material.tag_rows.extend(MaterialTag(tag=t, position=i) for i, t in enumerate(tags))


def _new_version(s: Session, material: Material) -> None:
    material.version += 1
    material.updated_at = utcnow()
    log_change(s, material, "edit")


def publish(
    deps: Deps,
    material_id: int,
    publish_at: datetime | None = None,
    take_down_at: datetime | None = None,
) -> None:
    if publish_at and take_down_at and take_down_at <= publish_at:
        raise Invalid("take_down_at must be after publish_at", field="take_down_at", rule="window")
    with deps.db.transaction() as s:
        material = load_material(s, material_id, lock=True)
        if material.review not in (None, APPROVED):
            raise Conflict(
                f"a try-out post is published by approving it; this one is {material.review}",
                rule="in_review",
            )
        publish_loaded(s, material, publish_at, take_down_at)


def publish_loaded(
    s: Session, material: Material, publish_at: datetime | None, take_down_at: datetime | None
) -> None:
    """Publishes a material already loaded (and locked) in the transaction `s`."""
    if material.status == FAILED:
        raise Conflict(
            "a material whose processing failed cannot be published; "
            "retry or replace the file first",
            rule="failed",
        )
    material.state = PUBLISHED
    material.publish_at = publish_at
    material.take_down_at = take_down_at
    material.published_at = publish_at or utcnow()
    material.updated_at = utcnow()
    log_change(s, material, "publish")


def unpublish(deps: Deps, material_id: int) -> None:
    with deps.db.transaction() as s:
        material = load_material(s, material_id, lock=True)
        if material.state == PUBLISHED:
            material.state = TAKEN_DOWN
            material.updated_at = utcnow()
            log_change(s, material, "unpublish")


def retry(deps: Deps, material_id: int) -> list[int]:
    """Failed assets, and processing ones that no worker holds (stuck), go back to the queue;
    the material shows processing again."""
    now = utcnow()
    with deps.db.transaction() as s:
        material = load_material(s, material_id, lock=True)
        failed = [a for a in material.assets if a.status == FAILED or _unheld(a, now)]
        if not failed:
            raise Conflict(
                "nothing to retry: no asset has failed or is stuck", rule="nothing_failed"
            )
        for asset in failed:
            asset.status, asset.error, asset.retryable = PROCESSING, None, False
            asset.queued_at, asset.lease_until, asset.attempts = now, None, 0
        material.status, material.error = PROCESSING, None
        log_change(s, material, "retry")
        ids = [a.id for a in failed]
    for asset_id in ids:
        deps.queue.enqueue("process_asset", asset_id)
    return ids


def _unheld(asset: Asset, now: datetime) -> bool:
    """Processing, but no live worker holds its lease: queued or stuck."""
    live = asset.lease_until is not None and asset.lease_until > now
    return asset.status == PROCESSING and not live


def get_material(deps: Deps, material_id: int) -> Material:
    with deps.db.read() as s:
        return load_material(s, material_id)


__all__ = [
    "READY",
    "PUBLISHED",
    "create_material",
    "update_material",
    "add_tag",
    "publish",
    "publish_loaded",
    "edit_loaded",
    "unpublish",
    "retry",
    "get_material",
    "log_change",
    "load_material",
]
