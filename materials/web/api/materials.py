"""The JSON API under /api/v1: materials for ops (upload, edit, publish)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for

from materials.catalogue import browse
from materials.catalogue import lifecycle as service
from materials.catalogue.uploads import check_files
from materials.errors import Invalid
from materials.formatting import iso
from materials.formatting import yuan as money
from materials.models import Asset, Material
from materials.validation import clean_text, material_fields, parse_time, small_int
from materials.web.api.openapi import openapi_document
from materials.web.auth import require_role
from materials.web.deps import get_deps
from materials.web.uploads import spooled

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 100


def media_url(key: str) -> str:
    urls = get_deps().urls
    return urls.absolute(urls.media(key))


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


def _form_or_json() -> tuple[dict[str, Any], list[Any] | None]:
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Invalid("the body must be a JSON object", rule="json")
        tags = body.get("tags")
        if tags is not None and not isinstance(tags, list):
            raise Invalid("tags must be a list", field="tags", rule="type")
        return body, tags
    form = request.form
    return form.to_dict(), (form.getlist("tags") if "tags" in form else None)


@bp.post("/materials")
@require_role("ops")
def create() -> Response:
    deps = get_deps()
    if request.mimetype != "multipart/form-data":
        raise Invalid("upload with multipart/form-data", rule="content_type")
    form, tags = _form_or_json()
    fields = material_fields(form, tags or [], deps.settings.MAX_TEXT_CHARS, partial=False)
    files = check_files(
        spooled(request.files.getlist("photos")),
        spooled(request.files.getlist("video")),
        deps.settings,
    )
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = clean_text("Idempotency-Key", key, max_chars=200, required=True)
    created = service.create_material(deps, g.user, fields, files, key)
    resp = _material_response(created.material_id, 200 if created.replayed else 201)
    resp.headers["Location"] = url_for("api.get", material_id=created.material_id)
    if created.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    value = small_int(raw, max_digits=len(str(hi)))
    if value is None or not lo <= value <= hi:
        raise Invalid(f"{name} must be a whole number from {lo} to {hi}", field=name, rule="range")
    return value


@bp.get("/materials")
@require_role("ops")
def index() -> Response:
    args = request.args
    page = browse.list_materials(
        get_deps(),
        status=args.get("status"),
        state=args.get("state"),
        q=args.get("q"),
        tag=args.get("tag"),
        brand=args.get("brand"),
        category=args.get("category"),
        page=_int_arg("page", 1, 1, 100_000),
        per_page=_int_arg("per_page", 20, 1, MAX_PER_PAGE),
    )
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
@require_role("ops")
def get(material_id: int) -> Response:
    return _material_response(material_id)


@bp.patch("/materials/<int:material_id>")
@require_role("ops")
def edit(material_id: int) -> Response:
    deps = get_deps()
    form, tags = _form_or_json()
    changes = material_fields(form, tags, deps.settings.MAX_TEXT_CHARS, partial=True)
    if not changes:
        raise Invalid("nothing to change: send at least one field", rule="empty")
    service.update_material(deps, material_id, changes)
    return _material_response(material_id)


@bp.post("/materials/<int:material_id>/publish")
@require_role("ops")
def publish(material_id: int) -> Response:
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if body is None and request.is_json and request.get_data():
        # Unreadable JSON is not "no window": it must not publish now.
        raise Invalid("the body must be a JSON object", rule="json")
    if body is not None and not isinstance(body, dict):
        raise Invalid("the body must be a JSON object", rule="json")
    body = body or {}
    service.publish(
        get_deps(),
        material_id,
        parse_time("publish_at", body.get("publish_at")),
        parse_time("take_down_at", body.get("take_down_at")),
    )
    return _material_response(material_id)


@bp.post("/materials/<int:material_id>/unpublish")
@require_role("ops")
def unpublish(material_id: int) -> Response:
    service.unpublish(get_deps(), material_id)
    return _material_response(material_id)


@bp.post("/materials/<int:material_id>/retry")
@require_role("ops")
def retry(material_id: int) -> Response:
    service.retry(get_deps(), material_id)
    return _material_response(material_id, 202)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
