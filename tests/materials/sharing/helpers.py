"""Helpers for the card, forward, referral and stats tests."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import zxingcpp
from PIL import Image

from tests.helpers import make_user, post_upload, wait_until

PUBLIC = "http://sucai.test"  # PUBLIC_URL in the test settings
ROOT = Path(__file__).parents[3]


def live_material(client, ops: dict, photos: list[bytes], video: bytes | None = None, **fields):
    """Upload, wait for the worker to make the renditions, publish; the material's JSON."""
    resp = post_upload(
        client,
        ops["headers"],
        [(data, f"p{i}.jpg") for i, data in enumerate(photos)],
        (video, "clip.mp4") if video else None,
        **fields,
    )
    assert resp.status_code == 201, resp.get_json()
    material_id = resp.get_json()["id"]
    ready(client, ops, material_id)
    resp = client.post(f"/api/v1/materials/{material_id}/publish", headers=ops["headers"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def ready(client, ops: dict, material_id: int) -> None:
    def status():
        url = f"/api/v1/materials/{material_id}"
        return client.get(url, headers=ops["headers"]).get_json()["status"] == "ready"

    wait_until(status, timeout=120)


def seller_user(app, name: str) -> dict:
    user = make_user(app, name, "seller")
    user["headers"] = {"Authorization": f"Bearer {user['token']}"}
    return user


def storefront_user(app, name: str = "shop") -> dict:
    user = make_user(app, name, "storefront")
    user["headers"] = {"Authorization": f"Bearer {user['token']}"}
    return user


def qr_texts(jpeg: bytes) -> list[str]:
    with Image.open(io.BytesIO(jpeg)) as image:
        image.load()
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in found]


def image_size(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        return image.size


def card_url(material_id: int, code: str, layout: str) -> str:
    return f"/cards/{material_id}/{code}/{layout}.jpg"


def _asker(settings: dict, paths: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.materials.sharing.asker", json.dumps(settings), *paths]
    opts = {"cwd": ROOT, "stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    return subprocess.Popen(cmd, **opts)


def ask_at_once(settings: dict, *paths: list[str]) -> list[dict]:
    """One OS process per list of paths, each its own app on the same database and storage,
    GETting its paths in order, all starting at the same instant; their answers in order."""
    procs = [_asker(settings, p) for p in paths]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    answers = [json.loads(line) for out in outs for line in out.splitlines()]
    assert len(answers) == sum(len(p) for p in paths)
    return [a | {"body": base64.b64decode(a["body"])} for a in answers]
