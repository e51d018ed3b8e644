"""Small helpers shared by the tests."""

from __future__ import annotations

import io
import json
import time

# Debian's Chromium, never a downloaded one; the background-networking flags keep it from
# trying the closed network at every start.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_user(app, name: str, role: str, password: str | None = None) -> dict:
    runner = app.test_cli_runner()
    args = ["users", "create", name, "--role", role]
    if password:
        args += ["--password", password]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def upload_form(
    photos: list[tuple[bytes, str]], video: tuple[bytes, str] | None = None, **fields
) -> dict:
    """Multipart form data for the test client; files are (bytes, filename)."""
    form = {
        "title": "夏季清爽防晒霜 SPF50+",
        "copy": "轻薄不油腻，一抹成膜！",
        "price": "89.00",
        "original_price": "129.00",
        "product_url": "https://shop.example.com/item/1",
        "brand": "安热沙",
        "category": "美妆",
        "tags": ["防晒", "夏季"],
    }
    form.update(fields)
    form["photos"] = [(io.BytesIO(data), name) for data, name in photos]
    if video:
        form["video"] = (io.BytesIO(video[0]), video[1])
    return form


def encode_form(form: dict) -> tuple[bytes, str]:
    """`form` (values: text, (file object, filename), or lists of them) as a multipart body
    encoded in memory, and its Content-Type."""
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import stream_encode_multipart

    data = MultiDict()
    for key, value in form.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                item = FileStorage(item[0], filename=item[1])
            data.add(key, item)
    stream, _, boundary = stream_encode_multipart(data, use_tempfile=False)
    return stream.read(), f"multipart/form-data; boundary={boundary}"


def encode_upload(
    photos: list[tuple[bytes, str]], video: tuple[bytes, str] | None = None, **fields
) -> tuple[bytes, str]:
    """The multipart body of an upload, encoded in memory, and its Content-Type."""
    return encode_form(upload_form(photos, video, **fields))


def post_upload(
    client,
    headers: dict,
    photos: list[tuple[bytes, str]],
    video: tuple[bytes, str] | None = None,
    **fields,
):
    """POST /api/v1/materials with the body encoded in memory."""
    return post_multipart(
        client, "/api/v1/materials", headers, upload_form(photos, video, **fields)
    )


def post_multipart(client, url: str, headers: dict, form: dict):
    """POST `form` as multipart, encoded in memory (the test client would spool a large body
    to a temp file it never closes)."""
    body, content_type = encode_form(form)
    return client.post(url, data=body, headers=headers, content_type=content_type)


def stop_group(proc, timeout: float = 15) -> None:  # noqa: ANN001 - a subprocess.Popen
    """End a process started with start_new_session=True and all it started: SIGTERM to its
    group, SIGKILL after `timeout` s."""
    import os
    import signal
    import subprocess

    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until(fn, timeout: float = 60, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)
