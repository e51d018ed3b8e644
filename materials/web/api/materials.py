"""The JSON API under /api/v1: materials for ops (upload, edit, publish).

Each view's shapes are declared in schemas.py; its docstring is its summary in the document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, url_for
from werkzeug.datastructures import FileStorage

from materials.catalogue import browse
from materials.catalogue import lifecycle as service
from materials.catalogue.uploads import check_files
from materials.formatting import iso
from materials.formatting import yuan as money
from materials.models import Asset, Material
from materials.web.api import schemas
from materials.web.api.spec import operation
from materials.web.deps import get_deps
from materials.web.uploads import spooled

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def media_url(key: str) -> str:
    urls = get_deps().urls
    return urls.absolute(urls.media(key))


def thumbnail_url(m: Material) -> str | None:
    photo = m.photos[0] if m.photos else None
    thumb = photo.rendition("thumb") if photo else None
    return media_url(thumb.key) if thumb else None


def asset_json(a: Asset) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind,
        "position": a.position,
        "status": a.status,
        "error": a.error,
        "mime": a.mime,
        "size": a.size,
        "sha256": a.sha256,
        "width": a.width,
        "height": a.height,
        "duration": a.duration,
        "original_filename": a.original_filename,
        "renditions": {
            r.name: {
                "url": media_url(r.key),
                "width": r.width,
                "height": r.height,
                "size": r.size,
                "mime": r.mime,
            }
            for r in a.renditions
        },
    }


def material_json(m: Material, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "id": m.id,
        "title": m.title,
        "copy": m.copy,
        "price": money(m.price_cents),
        "original_price": money(m.original_price_cents),
        "product_url": m.product_url,
        "brand": m.brand,
        "category": m.category,
        "tags": m.tags,
        "status": m.status,
        "error": m.error,
        "publication": {
            "state": m.publication(now),
            "live": m.is_live(now),
            "publish_at": iso(m.publish_at),
            "take_down_at": iso(m.take_down_at),
        },
        "version": m.version,
        "forward_count": m.forward_count,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
        "assets": [asset_json(a) for a in m.assets],
    }


def _material_response(material_id: int, status: int = 200) -> Response:
    resp = jsonify(material_json(service.get_material(get_deps(), material_id)))
    resp.status_code = status
    return resp


@bp.post("/materials")
@operation(
    "ops",
    op_id="createMaterial",
    ok={201: schemas.Material, 200: (schemas.Material, "a replay of an Idempotency-Key")},
    errors=(413, 415, 429),  # 429: SUCAI_UPLOAD_RATE_LIMIT per user, with Retry-After
    form=schemas.MaterialUpload,
    headers=schemas.UploadHeaders,
)
def create(body: schemas.MaterialUpload, headers: schemas.UploadHeaders) -> Response:
    """Upload a material: the copy, 1-9 photos and at most one video"""
    deps = get_deps()
    files = check_files(spooled(body.photos), spooled(_given(body.video)), deps.settings)
    key = headers.idempotency_key
    created = service.create_material(deps, g.user, body.fields(), files, key)
    resp = _material_response(created.material_id, 200 if created.replayed else 201)
    resp.headers["Location"] = url_for("api.get", material_id=created.material_id)
    if created.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _given(file: FileStorage | None) -> list[FileStorage]:
    return [file] if file is not None else []


@bp.get("/materials")
@operation(
    "ops", op_id="listMaterials", ok={200: schemas.MaterialPage}, query=schemas.MaterialQuery
)
def index(query: schemas.MaterialQuery) -> Response:
    """List materials, newest first (filters: status, state, q, tag, brand, category)"""
    page = browse.list_materials(get_deps(), **query.model_dump())
    now = datetime.now(UTC)
    return jsonify(
        {
            "items": [material_json(m, now) for m in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
        }
    )


@bp.get("/materials/<int:material_id>")
@operation("ops", op_id="getMaterial", ok={200: schemas.Material}, errors=(404,))
def get(material_id: int) -> Response:
    """One material"""
    return _material_response(material_id)


@bp.patch("/materials/<int:material_id>")
@operation(
    "ops",
    op_id="patchMaterial",
    ok={200: schemas.Material},
    errors=(404, 413),
    json=schemas.MaterialEdit,
    form=schemas.MaterialEditForm,
)
def edit(material_id: int, body: schemas.MaterialFields) -> Response:
    """Edit fields: only those sent change, and the material gets a new version"""
    service.update_material(get_deps(), material_id, body.fields())
    return _material_response(material_id)


@bp.post("/materials/<int:material_id>/publish")
@operation(
    "ops",
    op_id="publishMaterial",
    ok={200: schemas.Material},
    errors=(404, 409),
    json=schemas.PublishWindow,
)
def publish(material_id: int, body: schemas.PublishWindow) -> Response:
    """Publish now, or within a window (publish_at, take_down_at)"""
    service.publish(get_deps(), material_id, body.publish_at, body.take_down_at)
    return _material_response(material_id)


@bp.post("/materials/<int:material_id>/unpublish")
@operation("ops", op_id="unpublishMaterial", ok={200: schemas.Material}, errors=(404,))
def unpublish(material_id: int) -> Response:
    """Take down"""
    service.unpublish(get_deps(), material_id)
    return _material_response(material_id)


@bp.post("/materials/<int:material_id>/retry")
@operation(
    "ops",
    op_id="retryMaterial",
    ok={202: (schemas.Material, "the failed files are queued again")},
    errors=(404, 409),
)
def retry(material_id: int) -> Response:
    """Retry failed processing"""
    service.retry(get_deps(), material_id)
    return _material_response(material_id, 202)
