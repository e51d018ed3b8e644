"""spectree wired into the API: the `operation` decorator every /api/v1 view wears, and the
OpenAPI document, generated from the declarations (schemas.py) and served at
/api/v1/openapi.json.

spectree generates the paths and schemas; `document()` adds what it cannot say: problem+json
for errors, the security schemes and each operation's roles, the form variant of PATCH, the
accepted file types, settings-dependent limits, and OpenAPI links (LINKS), which let a stateful
client (schemathesis) chain create -> read -> edit -> publish.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError
from spectree import Response as Responses
from spectree import SpecTree
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.utils import get_multidict_items

from materials.catalogue.lifecycle import EXT
from materials.errors import Invalid
from materials.models import MAX_ID
from materials.web.api import schemas
from materials.web.api.fields import fill_settings, problem
from materials.web.auth import require_role
from materials.web.deps import get_deps
from materials.web.errorhandlers import PROBLEM_JSON

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Set by the tests: every answer is then checked against its declared model, so each API test
# is also a test of the document. Not in production: a drift there would turn a good answer
# into a 500.
CHECK_RESPONSES = "API_CHECK_RESPONSES"


class Plugin(FlaskPlugin):
    """spectree 3's Flask plugin with four changes, through its public hooks:

    1. a body of a type the operation does not take is our 422 `content_type`, and JSON that
       is no object (garbage, null, []) our 422 `json`: spectree would validate `{}` instead
       (an all-optional body, such as publish's, would then "succeed");
    2. a validation error is our problem+json 422, raised here: spectree's own answer
       serialises the input, which fails for a file part;
    3. a single value of a list field (one `tags`, one photo) is a list: spectree's form
       reading does not look at the model;
    4. answers are checked against their models only under test (CHECK_RESPONSES).
    """

    def request_validation(self, request, query, json, form, headers, cookies):  # noqa: ANN001, ANN201
        if (json or form) and request.method in ("POST", "PUT", "PATCH"):
            _check_body(request, json, form)
        request.sucai_form_model = form
        try:
            super().request_validation(request, query, json, form, headers, cookies)
        except ValidationError as err:
            raise problem(err) from None

    def fill_form(self, request) -> dict:  # noqa: ANN001
        model = request.sucai_form_model
        data = get_multidict_items(request.form, model)
        # File parts are already spooled to disk by materials/web/uploads.py; none is read here.
        data.update(get_multidict_items(request.files, model))
        return data

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):  # noqa: ANN001, ANN201
        if not current_app.config.get(CHECK_RESPONSES):
            return resp, None
        checked, error = super().validate_response(
            resp, resp_model, skip_validation, force_resp_serialize
        )
        if error is not None:
            raise error
        return checked, None


def _check_body(req: Any, json: Any, form: Any) -> None:
    if form is not None and req.mimetype in FORM_TYPES:
        return
    if json is not None and req.mimetype == "application/json" and _has_body(req):
        # UploadRequest.get_json turns a body nested too deep for json.loads into None too.
        if not isinstance(req.get_json(silent=True), dict):
            raise Invalid("the body must be a JSON object", rule="json")
        return
    if json is not None and not _has_body(req):
        return  # spectree validates {}: the operation says whether that will do
    accepted = ["application/json"] if json is not None else []
    accepted += ["multipart/form-data"] if form is not None else []
    raise Invalid(f"send the body as {' or '.join(accepted)}", rule="content_type")


def _has_body(req: Any) -> bool:
    # Never for a form: reading the raw data would leave nothing for the form parser.
    if req.content_length is not None:
        return req.content_length > 0
    return bool(req.get_data(cache=True))


spec = SpecTree(
    backend=Plugin,
    mode="strict",  # only the operations below; our own route serves the document
    annotations=False,
    # The default appends a module hash to each schema name ("Problem.94c8c21").
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    validation_error_model=schemas.Problem,
    title="Sucai API",
    version="1",
)

# operationId -> the roles that may call it (the document's x-role).
ROLES: dict[str, tuple[str, ...]] = {}
ALWAYS = (400, 401, 403)


def operation(
    *roles: str,
    op_id: str,
    ok: dict[int, Any],
    errors: tuple[int, ...] = (),
    query: type[BaseModel] | None = None,
    json: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
) -> Callable:
    """An /api/v1 view: the role check first (401/403 come before 422), then spectree's
    validation, which hands the view the parsed parts as `query`, `body` and `headers`.
    `ok` maps each success status to its model (or (model, description))."""
    codes = {f"HTTP_{s}": m for s, m in ok.items()}
    codes |= {f"HTTP_{s}": schemas.Problem for s in (*ALWAYS, *errors)}
    validate = spec.validate(
        query=query,
        json=json,
        form=form,
        headers=headers,
        resp=Responses(**codes),
        operation_id=op_id,
    )

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def with_parts(*args: Any, **kwargs: Any) -> Any:
            parts = request.context
            if query is not None:
                kwargs["query"] = parts.query
            if json is not None or form is not None:
                kwargs["body"] = parts.json if parts.json is not None else parts.form
            if headers is not None:
                kwargs["headers"] = parts.headers
            return view(*args, **kwargs)

        ROLES[op_id] = roles
        return require_role(*roles)(validate(with_parts))

    return decorate


# ---------------------------------------------------------------- the document


def _link(target: str, param: str = "material_id") -> dict[str, Any]:
    return {"operationId": target, "parameters": {param: "$response.body#/id"}}


def _links(*targets: str, param: str = "material_id") -> dict[str, Any]:
    return {target: _link(target, param) for target in targets}


EDITS = ("getMaterial", "patchMaterial", "publishMaterial", "unpublishMaterial", "retryMaterial")
# (operationId, status) -> the operations the answer's id leads to.
LINKS = {
    ("createMaterial", "201"): _links(*EDITS),
    ("createMaterial", "200"): _links(*EDITS),
    ("getMaterial", "200"): _links("patchMaterial", "publishMaterial"),
    ("patchMaterial", "200"): _links("getMaterial", "publishMaterial"),
    ("publishMaterial", "200"): _links("getMaterial", "unpublishMaterial"),
    ("createPost", "201"): _links(
        "getPost", "editPost", "approvePost", "rejectPost", "requestPostChanges", param="post_id"
    ),
    ("requestPostChanges", "200"): _links("editPost", "resubmitPost", param="post_id"),
}
# Path parameters that are ids: 32-bit, as the database holds them.
ID_PARAMS = ("material_id", "post_id", "seller_id", "variant_id")

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "sucai_session",
        "description": "The signed-in pages' session.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "With the session, POST, PUT, PATCH and DELETE also need the "
        "session's CSRF token.",
    },
}
SAFE = ("get", "head", "options")


def document(app: Flask | None = None) -> dict[str, Any]:
    """The app's OpenAPI document (generated once per app: its settings set some limits)."""
    app = app or current_app
    doc = app.extensions.get("sucai.openapi")
    if doc is None:
        doc = app.extensions["sucai.openapi"] = _finish(copy.deepcopy(spec.spec), app)
    return doc


def _finish(doc: dict[str, Any], app: Flask) -> dict[str, Any]:
    doc["info"]["description"] = __doc__.split("\n\n")[0].replace("\n", " ")
    doc["servers"] = [{"url": "/"}]
    doc.pop("security", None)
    doc.pop("tags", None)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    for method, op in _operations(doc):
        _finish_operation(method, op)
    doc["paths"] |= PUBLIC_PATHS
    fill_settings(doc, get_deps(app).settings)
    return doc


def _operations(doc: dict[str, Any]):  # noqa: ANN202
    for item in doc["paths"].values():
        yield from item.items()


def _finish_operation(method: str, op: dict[str, Any]) -> None:
    op_id = op["operationId"]
    op.pop("tags", None)
    if not op.get("description"):
        op.pop("description", None)
    for param in op.get("parameters", []):
        if not param.get("description"):
            param.pop("description", None)
        if param["in"] == "path" and param["name"] in ID_PARAMS:
            param["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    for status, answer in op["responses"].items():
        if status[0] in "45" and "content" in answer:
            answer["content"] = {PROBLEM_JSON: answer["content"].pop("application/json")}
        if (op_id, status) in LINKS:
            answer["links"] = LINKS[(op_id, status)]
    if any(p["in"] == "query" for p in op.get("parameters", [])):
        op["responses"]["414"] = URI_TOO_LONG
    body = op.get("requestBody", {}).get("content", {})
    if method == "patch" and "multipart/form-data" in body:
        body["application/x-www-form-urlencoded"] = body["multipart/form-data"]
    if op_id in ("createMaterial", "createPost"):
        body["multipart/form-data"]["encoding"] = FILE_TYPES
    if op_id == "publishMaterial":
        op["requestBody"]["required"] = False
    op["x-role"] = list(ROLES[op_id])
    op["security"] = [{"bearer": []}]
    op["security"].append({"session": []} if method in SAFE else {"session": [], "csrf": []})


# The HTTP server's answer, before the app: long CJK filters, percent-encoded, can pass it.
URI_TOO_LONG = {
    "description": "the request line is longer than the HTTP server takes (gunicorn: 4094 bytes)",
    "content": {"text/html": {"schema": {"type": "string"}}},
}

# What check_files takes (judged by content, so these only tell a client what to send).
FILE_TYPES = {
    "photos": {"contentType": ", ".join(m for m in EXT if m.startswith("image/"))},
    "video": {"contentType": ", ".join(m for m in EXT if m.startswith("video/"))},
}


# ---------------------------------------------------------------- the public URLs

# Served by materials/web/serving, outside /api/v1, but printed into every share: they are
# documented here with the API that hands them out.
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_CODE = {"type": "string"}
_LAYOUT = {"type": "string", "pattern": "^(square|poster|story|og|moments|photo-[1-9][0-9]?)$"}
_HTML = {"text/html": {"schema": {"type": "string"}}}
# Their errors follow Accept (materials/web/errorhandlers.py NEGOTIATED): problem+json for
# programs (the default for */*), a page for a browser that prefers HTML.
_NOT_FOUND = {"application/problem+json": {"schema": {"type": "object"}}, **_HTML}


def _path_params(**params: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": s} for n, s in params.items()]


PUBLIC_PATHS = {
    "/cards/{material_id}/{code}/{layout}.jpg": {
        "get": {
            "operationId": "getCard",
            "summary": "A seller's share card; strong ETag, 304 on If-None-Match",
            "security": [],
            "parameters": _path_params(material_id=_ID, code=_CODE, layout=_LAYOUT),
            "responses": {
                "200": {
                    "description": "the card",
                    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "not modified"},
                "404": {
                    "description": "no such live material, seller or layout; or the stored"
                    " photo cannot be drawn on a card (rule unusable_photo)",
                    "content": _NOT_FOUND,
                },
                "503": {
                    "description": "the card is being rendered: try again (Retry-After)",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
            },
        }
    },
    "/r/{code}/{material_id}": {
        "get": {
            "operationId": "followReferral",
            "summary": "The referral link: 302 to the product URL with the code; logs the click",
            "security": [],
            "parameters": _path_params(code=_CODE, material_id=_ID),
            "responses": {
                "302": {"description": "to the storefront"},
                "404": {
                    "description": "no such seller, or a material never public",
                    "content": _NOT_FOUND,
                },
            },
        }
    },
}

# ---------------------------------------------------------------- the route

bp = Blueprint("api_doc", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
