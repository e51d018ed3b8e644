"""Fixtures for the pages: users with passwords, signed-in test clients, a real HTTP server
for the browser, and headless Chromium."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from materials.platform.deps import get_deps
from tests.conftest import free_port
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, make_user, post_upload, wait_until

PASSWORD = "correct horse 电池"


@pytest.fixture
def live_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, live_port) -> dict:
    # Links and QR codes must point at the server the browser talks to.
    return settings | {"PUBLIC_URL": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def ops_user(app) -> dict:
    user = make_user(app, "运营小王", "ops", PASSWORD)
    return user | {"headers": {"Authorization": f"Bearer {user['token']}"}}


@pytest.fixture
def seller_user(app) -> dict:
    user = make_user(app, "宝妈小李", "seller", PASSWORD)
    return user | {"headers": {"Authorization": f"Bearer {user['token']}"}}


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    token = csrf_from(client.get("/signin").get_data(as_text=True))
    return client.post("/signin", data={"name": name, "password": password, "csrf_token": token})


@pytest.fixture
def ops_client(app, ops_user):
    client = app.test_client()
    assert sign_in(client, ops_user["name"]).status_code == 303
    client.csrf = csrf_from(client.get("/ops/").get_data(as_text=True))
    return client


@pytest.fixture
def seller_client(app, seller_user):
    client = app.test_client()
    assert sign_in(client, seller_user["name"]).status_code == 303
    client.csrf = csrf_from(client.get("/h5/").get_data(as_text=True))
    return client


def ready_material(client, ops_user: dict, photos, video=None, publish: bool = True, **fields):
    """Upload through the API, wait for the real worker, publish; returns the material id."""
    resp = post_upload(client, ops_user["headers"], photos, video, **fields)
    assert resp.status_code == 201, resp.get_json()
    material_id = resp.get_json()["id"]

    def status():
        body = client.get(f"/api/v1/materials/{material_id}", headers=ops_user["headers"])
        return body.get_json()["status"] != "processing" and body.get_json()["status"]

    assert wait_until(status, timeout=60) == "ready"
    if publish:
        resp = client.post(f"/api/v1/materials/{material_id}/publish", headers=ops_user["headers"])
        assert resp.status_code == 200
    return material_id


@pytest.fixture
def live_server(app, live_port) -> Iterator[str]:
    """The app on a real socket (threaded), for the browser."""
    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()
    thread.join(10)
    server.server_close()


@pytest.fixture
def indexer(app) -> Iterator[None]:
    """The search indexer following the change log, as `flask indexer` runs it."""
    from materials.indexing.follower import Follower

    stop = threading.Event()
    follower = Follower.for_deps(get_deps(app), poll=0.05)
    thread = threading.Thread(target=follower.run, args=(stop,), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(30)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
