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
        # Either a bearer token, or the pages' signed-in session (then unsafe methods also need
        # the session's X-CSRF-Token header).
        op["security"] = [{"bearer": []}, {"session": []}]
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
                "429": PROBLEM,  # SUCAI_UPLOAD_RATE_LIMIT per user, with Retry-After
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
    "/api/v1/search": {
        "get": _op(
            "Search live materials: Chinese words, pinyin, English; filters, facets, sort",
            {"200": {"description": "a page of hits with facet counts"}, "503": PROBLEM},
            role="any",
            parameters=[
                {"name": name, "in": "query", "schema": schema}
                for name, schema in (
                    ("q", {"type": "string"}),
                    ("tag", {"type": "array", "items": {"type": "string"}, "maxItems": 10}),
                    ("brand", {"type": "string"}),
                    ("category", {"type": "string"}),
                    ("price_min", {"type": "string", "example": "50"}),
                    ("price_max", {"type": "string", "example": "99.90"}),
                    ("has_video", {"type": "boolean"}),
                    ("sort", {"enum": ["relevance", "newest", "forwarded"]}),
                    ("page", {"type": "integer", "minimum": 1}),
                    ("per_page", {"type": "integer", "minimum": 1, "maximum": 50}),
                )
            ],
        ),
    },
    # Share cards, referrals, forward, conversions, stats (materials/web/cards.py, referrals.py,
    # share_api.py). The first two are public URLs outside /api/v1, listed for completeness.
    "/cards/{material_id}/{code}/{layout}.jpg": {
        "get": _op(
            "A seller's share card (JPEG); strong ETag, 304 on If-None-Match",
            {"200": {"description": "image/jpeg"}, "304": {"description": "not modified"}},
            role=None,
            parameters=[
                *ID_PARAM,
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "layout",
                    "in": "path",
                    "required": True,
                    # moments: only where a mini-program is configured
                    "schema": {
                        "type": "string",
                        "pattern": "^(square|poster|story|moments|photo-[1-9])$",
                    },
                },
            ],
        ),
    },
    "/r/{code}/{material_id}": {
        "get": _op(
            "Referral redirect: 302 to the stored product URL with the code; the click is logged",
            {"302": {"description": "to the storefront"}},
            role=None,
            parameters=[
                {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                *ID_PARAM,
            ],
        ),
    },
    "/api/v1/materials/{material_id}/forward": {
        "get": _op(
            "One-tap forward: text with the seller's link, card URLs, video; records a forward",
            {
                "200": {
                    "description": "text, link, cards {square, poster, story, moments (where "
                    "a mini-program is configured), photos}, video"
                }
            },
            role="seller",
            parameters=ID_PARAM,
        ),
    },
    "/api/v1/conversions": {
        "post": _op(
            "Report an order; idempotent by order_id per storefront",
            {
                "201": {"description": "recorded"},
                "200": {"description": "a replay of an order reported before"},
                "409": PROBLEM,
            },
            role="storefront",
            requestBody={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["order_id", "referral_code", "amount"],
                            "properties": {
                                "order_id": {"type": "string", "maxLength": 100},
                                "referral_code": {"type": "string"},
                                "material_id": {"type": "integer"},
                                "amount": {"type": "string", "example": "89.00"},
                            },
                        }
                    }
                },
            },
        ),
    },
    "/api/v1/stats/seller": {
        "get": _op(
            "The seller's forwards, clicks (raw, valid), orders and amount, by material and day",
            {"200": {"description": "totals, by_material, by_day"}},
            role="seller",
            parameters=[
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            ],
        ),
    },
    "/api/v1/stats/ops": {
        "get": _op(
            "Funnel (forwards, valid clicks, orders, conversion rate), top materials and sellers",
            {"200": {"description": "funnel, top_materials, top_sellers"}},
            role="ops",
            parameters=[
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                {
                    "name": "by",
                    "in": "query",
                    "schema": {"enum": ["forwards", "clicks", "orders", "amount"]},
                },
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
            ],
        ),
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sucai API", "version": "1"},
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "sucai_session",
                    "description": "Signed-in pages; POST/PATCH/PUT/DELETE also need the "
                    "X-CSRF-Token header.",
                },
            },
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
