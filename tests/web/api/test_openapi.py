"""The generated OpenAPI document: what it says, that real answers match it, that its patterns
say what the domain's rules take, and the wire cases the fuzzer (bench/fuzz_api.sh) found."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from materials.errors import Invalid
from materials.platform.deps import get_deps
from materials.sharing import stats
from materials.validation import (
    SPACES,
    clean_text,
    parse_price,
    parse_time,
    parse_url,
)
from materials.web.api import schemas
from materials.web.api.fields import (
    DATETIME,
    DAY,
    MONEY,
    URL_PATTERN,
    money_schema,
    text_schema,
)
from tests.helpers import make_user, post_upload, wait_until

PROBLEM = "application/problem+json"


@pytest.fixture
def doc(client) -> dict:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


# ---------------------------------------------------------------- what the document says


def test_every_api_operation_is_declared_with_roles_and_security(doc):
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session", "csrf"}
    ids = []
    for path, method, op in operations(doc):
        ids.append(op["operationId"])
        if not path.startswith("/api/v1/"):
            assert op["security"] == [], path  # the public card and referral URLs
            continue
        assert op["x-role"] and set(op["x-role"]) <= {"ops", "seller", "storefront"}, path
        session = {"session": []} if method == "get" else {"session": [], "csrf": []}
        assert op["security"] == [{"bearer": []}, session], (method, path)
        for status, answer in op["responses"].items():
            if status.startswith("4") and status != "414":
                assert list(answer["content"]) == [PROBLEM], (method, path, status)
    assert len(ids) == len(set(ids))
    search = doc["paths"]["/api/v1/search"]["get"]
    assert search["x-role"] == ["ops", "seller", "storefront"]


def test_links_chain_create_read_edit_publish(doc):
    def links(path, method, status):
        found = doc["paths"][path][method]["responses"][status]["links"]
        for link in found.values():
            assert link["parameters"] == {"material_id": "$response.body#/id"}
        return {link["operationId"] for link in found.values()}

    one = "/api/v1/materials/{material_id}"
    assert links("/api/v1/materials", "post", "201") == {
        "getMaterial",
        "patchMaterial",
        "publishMaterial",
        "unpublishMaterial",
        "retryMaterial",
    }
    assert {"patchMaterial", "publishMaterial"} <= links(one, "get", "200")
    assert "publishMaterial" in links(one, "patch", "200")


def test_limits_come_from_the_settings(app, client):
    upload = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    photos = upload["MaterialUpload"]["properties"]["photos"]
    settings = get_deps(app).settings
    assert photos["maxItems"] == settings.MAX_PHOTOS
    assert photos["items"]["maxLength"] == settings.MAX_PHOTO_BYTES
    copy = upload["MaterialUpload"]["properties"]["copy"]["pattern"]
    assert f"{{0,{settings.MAX_TEXT_CHARS - 2}}}" in copy


def test_patch_takes_json_and_both_forms_publish_json(doc):
    patch = doc["paths"]["/api/v1/materials/{material_id}"]["patch"]["requestBody"]["content"]
    assert set(patch) == {
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    }
    publish = doc["paths"]["/api/v1/materials/{material_id}/publish"]["post"]["requestBody"]
    assert publish["required"] is False and set(publish["content"]) == {"application/json"}
    upload = doc["paths"]["/api/v1/materials"]["post"]["requestBody"]["content"]
    encoding = upload["multipart/form-data"]["encoding"]
    assert encoding["photos"]["contentType"] == "image/jpeg, image/png, image/webp"


# ---------------------------------------------------------------- real answers match it


def _model(doc: dict, path: str, method: str, status: int):
    """The declared model of this answer, from the document's $ref."""
    answer = doc["paths"][path][method]["responses"][str(status)]
    ((media, content),) = answer["content"].items()
    return media, getattr(schemas, content["schema"]["$ref"].rsplit("/", 1)[1])


def test_real_answers_validate_against_their_documented_models(
    app, client, doc, ops, seller, worker, follower, small_jpeg
):
    shop = make_user(app, "shop", "storefront")
    shop["headers"] = {"Authorization": f"Bearer {shop['token']}"}
    answers = []

    def call(path: str, method: str, url: str, user: dict, **kw):
        resp = client.open(url, method=method.upper(), headers=user["headers"], **kw)
        answers.append((path, method, resp))
        return resp

    one = "/api/v1/materials/{material_id}"
    created = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")])
    answers.append(("/api/v1/materials", "post", created))
    mid = created.get_json()["id"]
    url = f"/api/v1/materials/{mid}"
    wait_until(lambda: client.get(url, headers=ops["headers"]).get_json()["status"] == "ready")
    call(one, "get", url, ops)
    call("/api/v1/materials", "get", "/api/v1/materials?tag=防晒", ops)
    call(one, "patch", url, ops, json={"original_price": None, "tags": []})
    call(one, "patch", url, ops, data={"tags": "新品", "title": "新标题"})
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    call(f"{one}/publish", "post", f"{url}/publish", ops, json={"take_down_at": soon})
    call(f"{one}/retry", "post", f"{url}/retry", ops)  # 409: nothing failed
    follower.catch_up()
    call("/api/v1/search", "get", "/api/v1/search?q=新标题", seller)
    forwarded = call(f"{one}/forward", "get", f"{url}/forward", seller)
    code = forwarded.get_json()["referral_code"]
    order = {"order_id": "A-1", "referral_code": code, "material_id": mid, "amount": "89.00"}
    call("/api/v1/conversions", "post", "/api/v1/conversions", shop, json=order)
    call("/api/v1/conversions", "post", "/api/v1/conversions", shop, json=order)  # replay
    call("/api/v1/stats/seller", "get", "/api/v1/stats/seller", seller)
    call("/api/v1/stats/ops", "get", "/api/v1/stats/ops?by=forwards", ops)
    call("/api/v1/stats/ops", "get", "/api/v1/stats/ops?limit=0", ops)  # 422

    statuses = []
    for path, method, resp in answers:
        media, model = _model(doc, path, method, resp.status_code)
        assert resp.mimetype == media, (path, method, resp.status_code)
        model.model_validate_json(resp.data)
        statuses.append(resp.status_code)
    assert statuses.count(200) >= 10 and {201, 409, 422} <= set(statuses)
    assert forwarded.get_json()["cards"]["photos"] and search_hits(answers)


def search_hits(answers) -> list:
    (resp,) = [r for path, _, r in answers if path == "/api/v1/search"]
    return resp.get_json()["items"]


def test_an_answer_that_drifts_from_its_model_fails_the_tests(client, ops, small_jpeg, monkeypatch):
    from materials.web.api import materials as views

    created = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")]).get_json()
    drifted = views.material_json
    monkeypatch.setattr(views, "material_json", lambda m: drifted(m) | {"undocumented": 1})
    resp = client.get(f"/api/v1/materials/{created['id']}", headers=ops["headers"])
    assert resp.status_code == 500


# ---------------------------------------------------------------- patterns say what rules take

TEXTS = [
    "",
    " ",
    "a",
    " a ",
    "\u3000防晒\u3000",
    "a b",
    "a\tb",
    "a\nb",
    "a\r\nb",
    "\x0ba\x0c",
    "a\x0bb",
    "a\x00b",
    "\x00",
    "a\x7f",
    "\u202eevil",
    "a\u2028b",
    "\u2028a\u2029",
    "\x85a\x85",
    "a\x85b",
    "\ufeffa",
    "🧴",
    "x" * 5,
    "x" * 6,
    " " * 3 + "x" * 5 + "\u3000" * 3,
    "x" * 4 + "\x00",
]


def _takes(rule, value) -> bool:
    try:
        rule(value)
    except Invalid:
        return False
    return True


@pytest.mark.parametrize("required", [True, False])
def test_text_patterns_take_what_clean_text_takes(required):
    pattern = re.compile(text_schema(5, required=required)["pattern"])
    for text in TEXTS:

        def rule(v):
            return clean_text("f", v, max_chars=5, required=required)

        assert bool(pattern.fullmatch(text)) == _takes(rule, text), repr(text)


def test_spaces_are_what_strip_removes():
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert {c for c in spaces if re.fullmatch(f"[{SPACES}]", c)} == spaces
    assert len(re.findall(f"[{SPACES}]", "".join(map(chr, range(0x10000))))) == len(spaces)


MONEYS = ["0", "0.5", "89.90", "89.9", " 89 ", "100000000", "100000000.00", "100000000.01"]
MONEYS += ["99999999.99", "1.234", "-1", "+1", "1e3", ".5", "5.", "", "NaN", "٣"]


def test_the_money_pattern_is_within_parse_price():
    pattern = re.compile(money_schema(required=True)["pattern"])
    assert re.fullmatch(MONEY, "100000000.00") and not re.fullmatch(MONEY, "100000000.01")
    for value in MONEYS:
        if pattern.fullmatch(value):
            assert _takes(lambda v: parse_price("p", v, required=True), value), value
    assert not _takes(lambda v: parse_price("p", v, required=True), "100000000.01")


URLS = [
    "https://shop.example.com/item/1?ref=x#top",
    "http://a",
    "http://a:0/",
    "http://a:65535",
    "http://a:65536",
    "http://a..b",
    "http://-a.b",
    "http://" + "a" * 63 + ".cn",
    "http://" + "a" * 64 + ".cn",
    "http://[::1",
    "http://a/b\\c",
    "javascript:alert(1)",
    "//evil.example",
    " http://a.b/c ",
]


def test_every_url_the_pattern_matches_is_taken():
    pattern = re.compile(URL_PATTERN)
    matched = [u for u in URLS if pattern.fullmatch(u)]
    assert len(matched) >= 6
    for url in matched:
        assert _takes(lambda v: parse_url("u", v), url), url


TIMES = [
    "2026-12-01T08:00:00Z",
    "2026-12-01T08:00:00.123456789+08:00",
    "1000-01-01T00:00:00+23:59",
    "9998-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-12-01T08:00:00",
    "2026-12-01T24:00:00Z",
]


def test_every_time_the_pattern_matches_is_taken():
    pattern = re.compile(DATETIME["pattern"])
    matched = [t for t in TIMES if pattern.fullmatch(t)]
    assert len(matched) == 4
    for value in matched:
        assert _takes(lambda v: parse_time("t", v), value), value


def test_an_empty_day_is_no_day():
    assert re.fullmatch(DAY["pattern"], "2026-11-25") and not re.fullmatch(DAY["pattern"], "")
    assert not _takes(lambda v: stats.parse_day("from", v), "")


# ---------------------------------------------------------------- what the fuzzer found


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/search?price_min=null&price_min=null",
        "/api/v1/search?brand=a&brand=b",
        "/api/v1/stats/seller?to=null&to=null",
    ],
)
def test_a_query_value_sent_twice_is_422_not_500(client, seller, url):
    resp = client.get(url, headers=seller["headers"])
    assert resp.status_code == 422 and resp.get_json()["rule"] == "type"


@pytest.fixture
def material(client, ops, small_jpeg) -> str:
    resp = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")])
    return f"/api/v1/materials/{resp.get_json()['id']}"


def test_json_null_is_no_text(client, ops, material):
    for field in ("copy", "brand", "title", "product_url"):
        resp = client.patch(material, headers=ops["headers"], json={field: None})
        assert resp.status_code == 422, field
        assert (resp.get_json()["field"], resp.get_json()["rule"]) == (field, "type")
    resp = client.patch(material, headers=ops["headers"], json={"original_price": None})
    assert resp.status_code == 200 and resp.get_json()["original_price"] is None


@pytest.mark.parametrize(
    "url", ["https://shop.example\u205f\u3000*/", "http://a*b.example/", "http://a.b/x y"]
)
def test_a_product_url_whose_host_no_browser_reaches_is_refused(client, ops, material, url):
    # IDNA maps "\u3000" to a space and lets "*" through: the redirect's host would be broken.
    resp = client.patch(material, headers=ops["headers"], json={"product_url": url})
    assert resp.status_code == 422 and resp.get_json()["rule"] == "url"


def test_text_is_measured_as_the_rules_measure_it(client, ops, material):
    # Spaces around are stripped first: 200 characters of title inside them is a good title.
    title = "\u3000 " + "题" * 200 + " \u3000"
    resp = client.patch(material, headers=ops["headers"], json={"title": title})
    assert resp.status_code == 200 and resp.get_json()["title"] == "题" * 200
    assert re.fullmatch(text_schema(200, required=True)["pattern"], title)


def test_a_form_sends_one_tag_as_it_sends_a_list_of_one(client, ops, material):
    resp = client.patch(material, headers=ops["headers"], data={"tags": "{}"})
    assert resp.status_code == 200 and resp.get_json()["tags"] == ["{}"]
    resp = client.patch(material, headers=ops["headers"], json={"tags": "{}"})
    assert resp.status_code == 422 and resp.get_json()["rule"] == "type"


def test_lists_are_counted_as_sent(client, ops, seller, material):
    many = {"tags": ["a", "a"] * 11}  # 22 values, one tag once merged
    resp = client.patch(material, headers=ops["headers"], json=many)
    assert resp.status_code == 422 and resp.get_json()["rule"] == "max_items"
    resp = client.get("/api/v1/search", query_string={"tag": [""] * 11}, headers=seller["headers"])
    assert resp.status_code == 422 and resp.get_json()["field"] == "tag"


@pytest.mark.parametrize("key", ["", " padded", "中文", "tab\tinside", "x" * 201])
def test_an_idempotency_key_is_printable_ascii(client, ops, small_jpeg, key):
    resp = post_upload(client, {**ops["headers"], "Idempotency-Key": key}, [(small_jpeg, "a.jpg")])
    assert resp.status_code == 422, key
    assert (resp.get_json()["field"], resp.get_json()["rule"]) == ("Idempotency-Key", "format")


def test_bodies_of_a_type_an_operation_does_not_take(client, ops, material):
    url = f"{material}/publish"
    resp = client.post(url, headers=ops["headers"], data={"publish_at": ""})
    assert resp.status_code == 422 and resp.get_json()["rule"] == "content_type"
    resp = client.post(url, headers=ops["headers"], data=b"x", content_type="text/plain")
    assert resp.status_code == 422 and resp.get_json()["rule"] == "content_type"
    resp = client.post(
        "/api/v1/materials", headers=ops["headers"], json={"title": "x"}
    )  # an upload is multipart
    assert resp.status_code == 422 and resp.get_json()["rule"] == "content_type"
    empty = client.post(url, headers=ops["headers"], data=b"", content_type="application/json")
    assert empty.status_code == 200  # no body: publish now, as before


def test_a_file_field_that_is_text_is_refused(client, ops):
    form = {"title": "t", "price": "1", "product_url": "http://a.b", "photos": "not a file"}
    resp = client.post("/api/v1/materials", headers=ops["headers"], data=form)
    assert resp.status_code == 422 and resp.get_json()["field"] == "photos"
    files = {
        **form,
        "photos": (io.BytesIO(b"x"), "a.jpg"),
        "video": [(io.BytesIO(b"v"), "a.mp4"), (io.BytesIO(b"w"), "b.mp4")],
    }
    resp = client.post("/api/v1/materials", headers=ops["headers"], data=files)
    assert resp.status_code == 422
    assert (resp.get_json()["field"], resp.get_json()["rule"]) == ("video", "max_items")


def test_the_public_urls_errors_are_documented_as_they_are_sent(client):
    # /cards and /r answer programs with problem+json and browsers with a page.
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/cards/{material_id}/{code}/{layout}.jpg", "/r/{code}/{material_id}"):
        sent = client.get(
            path.replace("{material_id}", "9")
            .replace("{code}", "ABCDEFG")
            .replace("{layout}", "square")
        )
        documented = doc["paths"][path]["get"]["responses"]["404"]["content"]
        assert sent.status_code == 404 and sent.mimetype in documented
