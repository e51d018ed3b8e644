"""Media bytes: one interface, a local-directory backend and an S3 backend, chosen by URL.

Keys are made by the server (never from a client's file name). Callers never see a vendor
error: a missing object is FileNotFoundError, anything else from S3 is StorageError.
Constructing a backend does no I/O; `ensure()` creates the directory or bucket (the release
command calls it), so a process starts while the object store is briefly down.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_./")


class StorageError(Exception):
    """The storage backend failed for a reason other than a missing object."""


def check_key(key: str) -> str:
    if (
        not key
        or not set(key) <= KEY_CHARS
        or key.startswith("/")
        or ".." in key.split("/")
        or "//" in key
    ):
        raise ValueError(f"bad storage key: {key!r}")
    return key


class Storage(Protocol):
    backend: str

    def put_file(self, key: str, path: str | Path, content_type: str) -> None: ...
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def open(self, key: str) -> BinaryIO: ...
    def size(self, key: str) -> int: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> Iterator[tuple[str, datetime]]: ...
    def local_path(self, key: str, suffix: str = "", tmp_dir: Path | None = None): ...  # -> Path
    def local_file(self, key: str) -> Path | None: ...
    def direct_url(self, key: str, expires: int = 3600) -> str | None: ...
    @property
    def origin(self) -> str: ...
    def ensure(self) -> None: ...


class LocalStorage:
    backend = "local"

    origin = ""  # served by the app itself

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def path(self, key: str) -> Path:
        """The file itself (local backend only); FileNotFoundError if absent."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return path

    def _write_atomically(self, key: str, fill) -> None:  # noqa: ANN001
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
            os.replace(tmp, dest)
        except BaseException:
            os.unlink(tmp)
            raise

    def put_file(self, key: str, path: str | Path, content_type: str) -> None:
        def fill(out: BinaryIO) -> None:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)

        self._write_atomically(key, fill)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        self._write_atomically(key, lambda out: out.write(data))

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[tuple[str, datetime]]:
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key, datetime.fromtimestamp(full.stat().st_mtime, UTC)

    @contextmanager
    def local_path(self, key: str, suffix: str = "", tmp_dir: Path | None = None) -> Iterator[Path]:
        yield self.path(key)

    def local_file(self, key: str) -> Path | None:
        """The object's own file, to send as is (this backend keeps every object so)."""
        return self.path(key)

    def direct_url(self, key: str, expires: int = 3600) -> str | None:
        return None  # nothing but the app serves these files


class S3Storage:
    backend = "s3"

    def __init__(self, bucket: str, client, create_bucket: bool = True):  # noqa: ANN001
        self.bucket = bucket
        self.client = client
        self.create_bucket = create_bucket

    @property
    def origin(self) -> str:
        """Where direct URLs point (path-style: the endpoint itself), known without I/O."""
        parts = urlsplit(self.client.meta.endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"

    def ensure(self) -> None:
        """The bucket exists (created when allowed): run by the release command, not on start."""
        try:
            with self._translate(""):
                self.client.head_bucket(Bucket=self.bucket)
        except FileNotFoundError:  # head_bucket's 404
            if not self.create_bucket:
                raise
            with self._translate(""):
                self.client.create_bucket(Bucket=self.bucket)

    def local_file(self, key: str) -> Path | None:
        return None  # objects live in the bucket: see direct_url

    def direct_url(self, key: str, expires: int = 3600) -> str | None:
        """A presigned GET: the object store (or a CDN before it) carries bytes and ranges."""
        return self.presigned_url(key, expires)

    @contextmanager
    def _translate(self, key: str) -> Iterator[None]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(key) from None
            raise StorageError(f"S3 {code or 'error'} on {key!r}") from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise StorageError(f"S3 failed for {key!r}: {exc}") from exc

    def put_file(self, key: str, path: str | Path, content_type: str) -> None:
        with self._translate(key):
            self.client.upload_file(
                str(path), self.bucket, check_key(key), ExtraArgs={"ContentType": content_type}
            )

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        with self._translate(key):
            self.client.put_object(
                Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type
            )

    def get_bytes(self, key: str) -> bytes:
        with self._translate(key):
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"].read()

    def open(self, key: str) -> BinaryIO:
        with self._translate(key):
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]

    def size(self, key: str) -> int:
        with self._translate(key):
            return self.client.head_object(Bucket=self.bucket, Key=check_key(key))["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._translate(key):
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def presigned_url(self, key: str, expires: int = 3600) -> str:
        with self._translate(key):
            return self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": check_key(key)},
                ExpiresIn=expires,
            )

    def list(self, prefix: str = "") -> Iterator[tuple[str, datetime]]:
        paginator = self.client.get_paginator("list_objects_v2")
        with self._translate(prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield obj["Key"], obj["LastModified"]

    @contextmanager
    def local_path(self, key: str, suffix: str = "", tmp_dir: Path | None = None) -> Iterator[Path]:
        """Pillow and ffmpeg want a file: download to a temporary one (in `tmp_dir`, else the
        machine's temp directory), removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="sucai-", dir=tmp_dir) as tmp:
            path = Path(tmp) / f"object{suffix}"
            with self._translate(key):
                self.client.download_file(self.bucket, check_key(key), str(path))
            yield path


def from_url(url: str) -> Storage:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(unquote(parts.path))
    if parts.scheme == "s3":
        return _s3_from_url(parts)
    raise ValueError(f"unsupported storage URL scheme: {parts.scheme!r}")


def _s3_from_url(parts) -> S3Storage:  # noqa: ANN001
    import boto3
    from botocore.config import Config

    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    client = boto3.client(
        "s3",
        endpoint_url=query.get("endpoint_url"),
        region_name=query.get("region", "us-east-1"),
        aws_access_key_id=unquote(parts.username) if parts.username else None,
        aws_secret_access_key=unquote(parts.password) if parts.password else None,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )
    return S3Storage(parts.hostname or "", client, create_bucket=query.get("create", "1") != "0")
