"""The Procfile, run as a platform would, on an empty data directory: upload, process,
publish, and find it through the indexer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import free_port, wait_for_port
from tests.helpers import encode_upload, stop_group, wait_until

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def flask(env, *args) -> str:
    out = subprocess.run(
        [BIN / "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout


def request(url, data=None, headers=None, method=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
        return resp.status, json.loads(resp.read() or b"null")


@pytest.mark.slow
def test_procfile_on_empty_data_dir(tmp_path, small_jpeg):
    port = free_port()
    env = {
        **os.environ,
        "SUCAI_DATA_DIR": str(tmp_path / "var"),
        "PORT": str(port),
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    flask(env, "release")
    flask(env, "release")  # safe to run again
    ops = json.loads(flask(env, "users", "create", "ops", "--role", "ops"))
    proc = subprocess.Popen(
        [BIN / "honcho", "start", "web", "worker", "indexer"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, 30)
        base = f"http://127.0.0.1:{port}"
        body, content_type = encode_upload([(small_jpeg, "a.jpg")])
        headers = {"Authorization": f"Bearer {ops['token']}", "Content-Type": content_type}
        status, body = request(f"{base}/api/v1/materials", body, headers, "POST")
        assert status == 201
        auth = {"Authorization": f"Bearer {ops['token']}"}

        def ready():
            return (
                request(f"{base}/api/v1/materials/{body['id']}", headers=auth)[1]["status"]
                == "ready"
            )

        wait_until(ready, 30)
        status, _ = request(
            f"{base}/api/v1/materials/{body['id']}/publish",
            b"{}",
            {**auth, "Content-Type": "application/json"},
            "POST",
        )
        assert status == 200

        def found():
            try:
                _, result = request(f"{base}/api/v1/search?q={quote('防晒霜')}", headers=auth)
            except urllib.error.HTTPError as exc:  # 503 until the indexer has built the index
                assert exc.code == 503
                return False
            return [h["id"] for h in result["items"]] == [body["id"]]

        wait_until(found, 30)
    finally:
        stop_group(proc)
        proc.stdout.close()
