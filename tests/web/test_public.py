"""The public share page, the iframe widget, embed.js and oEmbed."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from materials.catalogue.lifecycle import load_material
from materials.platform.deps import get_deps
from tests.web.conftest import ready_material


@pytest.fixture
def live(client, worker, ops_user, small_jpeg, short_clip) -> int:
    return ready_material(
        client,
        ops_user,
        [(small_jpeg, "a.jpg"), (small_jpeg, "b.jpg")],
        (short_clip, "clip.mp4"),
        title="婴儿纯棉连体衣",
        copy="A类纯棉，无荧光剂。",
    )


@pytest.fixture
def draft(client, worker, ops_user, small_jpeg) -> int:
    return ready_material(client, ops_user, [(small_jpeg, "a.jpg")], publish=False)


def meta(html: str, key: str) -> str | None:
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    return unescape(match.group(1)) if match else None


def test_share_page_with_a_sellers_code(client, app, live, seller_user):
    base, code = get_deps(app).settings.PUBLIC_URL, seller_user["referral_code"]
    resp = client.get(f"/m/{live}?ref={code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert meta(html, "og:title") == "婴儿纯棉连体衣"
    # The seller's link previews as the seller's 1.91:1 og card, its size declared.
    assert meta(html, "og:image") == f"{base}/cards/{live}/{code}/og.jpg"
    assert (meta(html, "og:image:width"), meta(html, "og:image:height")) == ("1200", "630")
    assert "婴儿纯棉连体衣" in meta(html, "og:image:alt") and code in meta(html, "og:image:alt")
    assert meta(html, "og:locale") == "zh_CN"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "twitter:image") == meta(html, "og:image")
    assert meta(html, "og:url") == f"{base}/m/{live}?ref={code}"
    assert f'href="/r/{code}/{live}"' in html  # the buy button is attributed
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', html)
    oembed = urlsplit(unescape(link.group(1)))
    assert parse_qs(oembed.query) == {"url": [f"{base}/m/{live}?ref={code}"], "format": ["json"]}
    assert "<video" in html and "poster=" in html
    assert resp.headers["Cache-Control"].startswith("public")


def test_share_page_ignores_an_unknown_code(app, client, live):
    html = client.get(f"/m/{live}?ref=ZZZZZZZ").get_data(as_text=True)
    assert "/cards/" not in html and "ZZZZZZZ" not in html
    assert "/media/renditions/" in meta(html, "og:image")
    # The first photo's display rendition, with that rendition's own size (small_jpeg is
    # smaller than the display side, so the rendition keeps its size).
    with get_deps(app).db.read() as s:
        r = load_material(s, live).photos[0].rendition("display")
    assert (meta(html, "og:image:width"), meta(html, "og:image:height")) == (
        str(r.width),
        str(r.height),
    )
    assert meta(html, "og:image:alt") == "婴儿纯棉连体衣"
    assert 'href="https://shop.example.com/item/1"' in html


def test_only_live_materials_are_public(client, draft, live, ops_user):
    for path in (f"/m/{draft}", f"/embed/{draft}", "/m/999999", "/embed/999999"):
        assert client.get(path).status_code == 404, path
    client.post(f"/api/v1/materials/{live}/unpublish", headers=ops_user["headers"])
    assert client.get(f"/m/{live}").status_code == 404
    assert client.get(f"/embed/{live}").status_code == 404


def test_embed_widget(client, live, seller_user):
    code = seller_user["referral_code"]
    resp = client.get(f"/embed/{live}?ref={code}")
    html = resp.get_data(as_text=True)
    assert f'src="/cards/{live}/{code}/square.jpg"' in html
    assert f'href="/r/{code}/{live}"' in html and 'target="_blank"' in html
    assert "embed-frame.js" in html
    assert "X-Frame-Options" not in resp.headers and "Set-Cookie" not in resp.headers


def test_embed_js_is_served_to_any_origin(client):
    resp = client.get("/embed.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = resp.get_data(as_text=True)
    resp.close()
    assert "data-sucai-material" in body and "e.origin !== origin" in body


def test_oembed_rich(client, app, live, seller_user):
    base, code = get_deps(app).settings.PUBLIC_URL, seller_user["referral_code"]
    resp = client.get("/oembed", query_string={"url": f"{base}/m/{live}?ref={code}"})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["version"] == "1.0" and body["type"] == "rich"
    # The height the widget renders at that width (measured in test_browser.py).
    assert body["width"] == 360 and body["height"] == 422
    assert body["thumbnail_url"] == f"{base}/cards/{live}/{code}/square.jpg"
    assert body["thumbnail_width"] == body["thumbnail_height"] == 1080
    assert f'src="{base}/embed/{live}?ref={code}"' in body["html"]
    assert 'width="360" height="422"' in body["html"]


def test_oembed_respects_max_sizes(client, app, live):
    url = f"{get_deps(app).settings.PUBLIC_URL}/m/{live}"
    body = client.get(
        "/oembed", query_string={"url": url, "maxwidth": "200", "maxheight": "9999"}
    ).get_json()
    assert body["width"] == 200 and body["height"] == 200 + 114  # the title box too
    assert 'width="200" height="314"' in body["html"]
    # The thumbnail keeps within the limits: the 360 px thumb rendition, declared scaled down.
    assert "/thumb-" in body["thumbnail_url"]
    assert body["thumbnail_width"] <= 200 and body["thumbnail_height"] <= 9999
    for maxwidth in ("-3", "²", "0", "000"):
        bad = client.get("/oembed", query_string={"url": url, "maxwidth": maxwidth})
        assert bad.status_code == 400 and bad.get_json()["field"] == "maxwidth", maxwidth
    huge = client.get("/oembed", query_string={"url": url, "maxwidth": "9" * 5000}).get_json()
    assert huge["width"] == 360


def test_a_low_maxheight_narrows_the_widget_and_shrinks_the_thumbnail(
    client, app, live, seller_user
):
    base, code = get_deps(app).settings.PUBLIC_URL, seller_user["referral_code"]
    url = f"{base}/m/{live}?ref={code}"
    body = client.get("/oembed", query_string={"url": url, "maxheight": "300"}).get_json()
    assert (body["width"], body["height"]) == (238, 300)
    assert (body["thumbnail_width"], body["thumbnail_height"]) == (300, 300)
    body = client.get(
        "/oembed", query_string={"url": url, "maxwidth": "500", "maxheight": "200"}
    ).get_json()
    assert body["height"] <= 200 and body["thumbnail_height"] <= 200
    # Too small for a widget at all: nothing to embed, said so.
    tiny = client.get("/oembed", query_string={"url": url, "maxheight": "100"})
    assert tiny.status_code == 404 and tiny.get_json()["field"] == "maxheight"
    photo = client.get("/oembed", query_string={"url": f"{base}/m/{live}", "maxwidth": "1000"})
    assert "/display-" in photo.get_json()["thumbnail_url"]  # the display rendition fits


def test_oembed_refuses_what_is_not_a_sucai_share_page(client, app, live, draft):
    base = get_deps(app).settings.PUBLIC_URL
    for url in (
        f"https://evil.example/m/{live}",
        f"{base}/ops/m/{live}",
        f"{base}/m/{live}/../../ops",
        f"{base}/m/{draft}",
        f"{base}/m/0{live}",
        "javascript:alert(1)",
        "http://[::1",  # urlsplit raises ValueError
    ):
        resp = client.get("/oembed", query_string={"url": url, "format": "json"})
        assert resp.status_code == 404, url
        assert resp.mimetype == "application/problem+json"
    assert client.get("/oembed").status_code == 400


def test_oembed_only_speaks_json(client, app, live):
    url = f"{get_deps(app).settings.PUBLIC_URL}/m/{live}"
    resp = client.get("/oembed", query_string={"url": url, "format": "xml"})
    assert resp.status_code == 501
