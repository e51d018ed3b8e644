"""The OpenAPI 3.1 document served at /api/v1/openapi.json. Each API module adds its paths."""

from __future__ import annotations

from typing import Any

PROBLEM = {"$ref": "#/components/responses/Problem"}
MATERIAL = {"application/json": {"schema": {"$ref": "#/components/schemas/Material"}}}


def _op(summary: str, ok: dict[str, Any], role: str | None = "ops", **extra: Any) -> dict:
    responses: dict[str, Any] = {**ok, "400": PROBLEM, "404": PROBLEM, "422": PROBLEM}
    if role:
        responses |= {"401": PROBLEM, "403": PROBLEM}
    op: dict[str, Any] = {"summary": summary, "responses": responses, **extra}
    if role:
        op["security"] = [{"bearer": []}]
        op["x-role"] = role
    return op


ID_PARAM = [{"name": "material_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

PATHS: dict[str, Any] = {
    "/api/v1/materials": {
        "post": _op(
            "Upload a material: copy, 1-9 photos, at most one video",
            {
                "201": {"description": "created", "content": MATERIAL},
                "200": {"description": "replay of an Idempotency-Key", "content": MATERIAL},
                "413": PROBLEM,
                "415": PROBLEM,
            },
            parameters=[
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {"type": "string", "maxLength": 200},
                }
            ],
            requestBody={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["title", "price", "product_url", "photos"],
                            "properties": {
                                "title": {"type": "string", "maxLength": 200},
                                "copy": {"type": "string"},
                                "price": {"type": "string", "example": "89.90"},
                                "original_price": {"type": "string"},
                                "product_url": {"type": "string", "format": "uri"},
                                "brand": {"type": "string"},
                                "category": {"type": "string"},
                                "tags": {"type": "array", "items": {"type": "string"}},
                                "photos": {
                                    "type": "array",
                                    "maxItems": 9,
                                    "items": {"type": "string", "format": "binary"},
                                },
                                "video": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            },
        ),
        "get": _op(
            "List materials (filters: status, state, q, tag, brand, category)",
            {"200": {"description": "a page of materials"}},
        ),
    },
    "/api/v1/materials/{material_id}": {
        "get": _op(
            "One material", {"200": {"description": "ok", "content": MATERIAL}}, parameters=ID_PARAM
        ),
        "patch": _op(
            "Edit fields (a new version)",
            {"200": {"description": "ok", "content": MATERIAL}},
            parameters=ID_PARAM,
        ),
    },
    "/api/v1/materials/{material_id}/publish": {
        "post": _op(
            "Publish now or within a window (publish_at, take_down_at)",
            {"200": {"description": "ok", "content": MATERIAL}, "409": PROBLEM},
            parameters=ID_PARAM,
        ),
    },
    "/api/v1/materials/{material_id}/unpublish": {
        "post": _op(
            "Take down", {"200": {"description": "ok", "content": MATERIAL}}, parameters=ID_PARAM
        ),
    },
    "/api/v1/materials/{material_id}/retry": {
        "post": _op(
            "Retry failed processing",
            {"202": {"description": "queued", "content": MATERIAL}, "409": PROBLEM},
            parameters=ID_PARAM,
        ),
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sucai API", "version": "1"},
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Problem": {
                    "description": "application/problem+json error",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "rule": {"type": "string"},
                        "field": {"type": "string"},
                        "file": {"type": "string"},
                    },
                },
                "Material": {
                    "type": "object",
                    "required": ["id", "status"],
                    "properties": {
                        "id": {"type": "integer"},
                        "status": {"enum": ["processing", "ready", "failed"]},
                        "title": {"type": "string"},
                        "price": {"type": "string"},
                        "assets": {"type": "array"},
                        "publication": {"type": "object"},
                        "version": {"type": "integer"},
                    },
                },
            },
        },
    }
