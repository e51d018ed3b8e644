"""Fixtures: real backends at the boundary.

`app` runs each test twice: on the embedded default (SQLite, local disk, SQLite queue) and on
the scale path (PostgreSQL, SeaweedFS as the S3 server, Redis queue). Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from materials.models import Base
from materials.platform import migrate
from materials.platform.deps import get_deps
from media.samples import jpeg_bytes, make_clip, png_bytes, product_image
from tests.helpers import make_user

PG_BASE = os.environ.get("SUCAI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SUCAI_TEST_REDIS", "redis://127.0.0.1:6379/0")
RUN_ID = f"t{os.getpid()}_{uuid.uuid4().hex[:6]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


# ---------------------------------------------------------------- external servers


class Weed:
    """A real SeaweedFS S3 server on loopback, in `root`, that a test may stop and start again
    (the same ports and directory: the objects survive)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        ports = [free_port() for _ in range(5)]
        # Every SeaweedFS service also listens on port+10000 (gRPC): keep those free too.
        self.ports = [p if p < 55000 else free_port() % 40000 + 10000 for p in ports]
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports[4]}"

    def start(self) -> Weed:
        weed = shutil.which("weed") or str(Path(os.sys.executable).parent / "weed")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "s3.json").write_text(_S3_IDENTITIES)
        master, volume, filer, admin, s3 = self.ports
        cmd = [
            weed,
            "mini",
            f"-dir={self.root}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-admin.port={admin}",
            f"-s3.port={s3}",
            f"-s3.config={self.root / 's3.json'}",
        ]
        self._log = open(self.root / "weed.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for_port(s3, 60)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._closed()

    def kill(self) -> None:
        """SIGKILL, as an OOM killer would: start() brings it back on the same ports."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self._closed()

    def _closed(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


_S3_IDENTITIES = json.dumps(
    {
        "identities": [
            {
                "name": "t",
                "credentials": [{"accessKey": "K", "secretKey": "S"}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory) -> Iterator[str]:
    """A real SeaweedFS S3 server on loopback; yields its endpoint URL."""
    weed = Weed(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        yield weed.endpoint
    finally:
        weed.stop()


@pytest.fixture(scope="session")
def s3_bucket(seaweedfs) -> str:
    return f"sucai-{RUN_ID}".replace("_", "-").lower()


def _empty_bucket(storage) -> None:
    for key, _ in list(storage.list("")):
        storage.delete(key)


@contextmanager
def pg_schema(schema: str) -> Iterator[str]:
    """A schema of its own in the shared `test` database, dropped at the end; its URL."""
    admin = create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A private schema in the shared `test` database, migrated once, dropped at the end."""
    with pg_schema(f"sucai_{RUN_ID}") as url:
        yield url


def _truncate_pg(app) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_deps(app).db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


# ---------------------------------------------------------------- the app


BACKENDS = ["embedded", "scale"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend, tmp_path, request) -> dict:
    base = {
        "DATA_DIR": str(tmp_path / "var"),
        "PUBLIC_URL": "http://sucai.test",
        "SECRET_KEY": "test-secret",
        "ORPHAN_GRACE_SECONDS": 0,
    }
    if backend == "scale":
        endpoint = request.getfixturevalue("seaweedfs")
        # One bucket per run, emptied before each test: SeaweedFS gives every bucket its own
        # volumes, and a bucket per test runs the single test server out of them.
        bucket = request.getfixturevalue("s3_bucket")
        base |= {
            "DATABASE_URL": request.getfixturevalue("pg_url"),
            "STORAGE_URL": f"s3://K:S@{bucket}?endpoint_url={endpoint}",
            "QUEUE_URL": REDIS_URL,
            "QUEUE_NAME": f"sucai-{RUN_ID}-{uuid.uuid4().hex[:6]}",
        }
    marker = request.node.get_closest_marker("settings")
    return base | (marker.kwargs if marker else {})


_migrated: set[str] = set()


@pytest.fixture
def app(settings, backend):
    app = create_app(settings)
    # Every API answer a test gets is checked against the model the document declares for it.
    app.config["API_CHECK_RESPONSES"] = True
    db = get_deps(app).db
    if backend == "scale":
        if db.url not in _migrated:
            migrate.upgrade(db)
            _migrated.add(db.url)
        _truncate_pg(app)
        get_deps(app).storage.ensure()
        _empty_bucket(get_deps(app).storage)
    else:
        migrate.upgrade(db)
        get_deps(app).storage.ensure()
    yield app
    db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def worker(app) -> Iterator[None]:
    """The real huey consumer for this app, in background threads."""
    c = get_deps(app).queue.consumer(workers=2, periodic=False)
    c.start()
    yield
    c.stop(graceful=True)


@pytest.fixture
def paused_worker(app) -> Iterator:
    """The same consumer, started only when the test calls the function it yields: a test can
    change a stored file between the upload and the job (files the upload checks would refuse
    today can be in storage from before, or put there by other means)."""
    started = []

    def start() -> None:
        c = get_deps(app).queue.consumer(workers=2, periodic=False)
        c.start()
        started.append(c)

    yield start
    for c in started:
        c.stop(graceful=True)


@pytest.fixture
def ops(app) -> dict:
    user = make_user(app, "ops", "ops")
    user["headers"] = {"Authorization": f"Bearer {user['token']}"}
    return user


@pytest.fixture
def seller(app) -> dict:
    user = make_user(app, "seller", "seller")
    user["headers"] = {"Authorization": f"Bearer {user['token']}"}
    return user


# ---------------------------------------------------------------- real media


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def small_jpeg() -> bytes:
    return jpeg_bytes(product_image(640, 480, seed=1))


@pytest.fixture(scope="session")
def small_png() -> bytes:
    return png_bytes(product_image(500, 500, seed=2))


@pytest.fixture(scope="session")
def short_clip(media_dir) -> bytes:
    return make_clip(media_dir / "short.mp4", seconds=2, width=320, height=568).read_bytes()
