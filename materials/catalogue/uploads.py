"""Uploaded files: streamed to temp files with the hash and the size cap applied as bytes arrive,
then typed from content and checked against the limits before anything is stored."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import Request, current_app
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from materials.errors import Invalid, TooLarge, UnsupportedMedia
from media import video
from media.images import MediaRejected, inspect_photo, sniff


class HashingTempFile:
    """A temp file that hashes what is written and refuses to grow past `limit` bytes."""

    def __init__(self, limit: int):
        self._file: IO[bytes] = tempfile.NamedTemporaryFile(prefix="sucai-up-")  # noqa: SIM115
        self._hash = hashlib.sha256()
        self.limit = limit
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise RequestEntityTooLarge(f"a file is over {self.limit:,} bytes")
        self._hash.update(data)
        return self._file.write(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @property
    def name(self) -> str:
        return self._file.name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._file, attr)


class UploadRequest(Request):
    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        # json.loads raises RecursionError, not ValueError, for a body nested ~1,000 deep,
        # which Flask's silent=True does not catch: treat it like any other unreadable JSON.
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise BadRequest("the JSON body is nested too deeply") from None

    def _get_file_stream(
        self,
        total_content_length,
        content_type,
        filename=None,  # noqa: ANN001
        content_length=None,
    ):  # noqa: ANN001
        cfg = current_app.config
        limit = max(cfg["SUCAI_MAX_PHOTO_BYTES"], cfg["SUCAI_MAX_VIDEO_BYTES"])
        return HashingTempFile(limit)


@dataclass
class IncomingFile:
    kind: str  # photo | video
    field: str  # e.g. "photos[2]"
    filename: str  # the client's name: for messages and metadata only
    path: Path
    size: int
    sha256: str
    mime: str
    width: int
    height: int
    duration: float | None = None


def check_files(
    photos: list[FileStorage], videos: list[FileStorage], cfg: dict[str, Any]
) -> list[IncomingFile]:
    """Every file typed and checked; the first broken rule raises, naming the file."""
    photos = [f for f in photos if f.filename or _size(f)]
    videos = [f for f in videos if f.filename or _size(f)]
    if not photos:
        raise Invalid("at least one photo is required", field="photos", rule="required")
    if len(photos) > cfg["SUCAI_MAX_PHOTOS"]:
        raise Invalid(
            f"{len(photos)} photos; the limit is {cfg['SUCAI_MAX_PHOTOS']}",
            field="photos",
            rule="max_items",
        )
    if len(videos) > 1:
        raise Invalid("at most one video", field="video", rule="max_items")
    checked = [_check_photo(f, i, cfg) for i, f in enumerate(photos)]
    checked += [_check_video(f, cfg) for f in videos]
    return checked


def _size(f: FileStorage) -> int:
    stream = f.stream
    return getattr(stream, "size", None) or 0


def _spooled(f: FileStorage) -> HashingTempFile:
    stream = f.stream
    if not isinstance(stream, HashingTempFile):  # pragma: no cover - werkzeug always spools here
        raise RuntimeError("upload was not streamed through HashingTempFile")
    stream.flush()
    return stream


def check_path(
    kind: str, field: str, path: Path, filename: str, cfg: dict[str, Any]
) -> IncomingFile:
    """The same checks for a file already on disk (demo data, imports)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return _inspect(kind, field, Path(path), path.stat().st_size, digest.hexdigest(), filename, cfg)


def _check_photo(f: FileStorage, i: int, cfg: dict[str, Any]) -> IncomingFile:
    spool = _spooled(f)
    return _inspect(
        "photo", f"photos[{i}]", Path(spool.name), spool.size, spool.sha256, f.filename or "", cfg
    )


def _check_video(f: FileStorage, cfg: dict[str, Any]) -> IncomingFile:
    spool = _spooled(f)
    return _inspect(
        "video", "video", Path(spool.name), spool.size, spool.sha256, f.filename or "", cfg
    )


def _inspect(
    kind: str, field: str, path: Path, size: int, sha256: str, name: str, cfg: dict[str, Any]
) -> IncomingFile:
    limit = cfg["SUCAI_MAX_PHOTO_BYTES" if kind == "photo" else "SUCAI_MAX_VIDEO_BYTES"]
    if size == 0:
        raise Invalid(f"{field} is empty", field=field, file=name, rule="empty")
    if size > limit:
        raise TooLarge(
            f"{field} is {size:,} bytes; the limit for a {kind} is {limit:,}",
            field=field,
            file=name,
            rule="max_bytes",
        )
    with open(path, "rb") as fh:
        mime = sniff(fh.read(16))
    if mime is None or not mime.startswith("image/" if kind == "photo" else "video/"):
        allowed = "JPEG, PNG or WebP" if kind == "photo" else "MP4, MOV or WebM"
        raise UnsupportedMedia(
            f"{field} is not a {allowed} file (judged by its content)",
            field=field,
            file=name,
            rule="type",
        )
    if kind == "photo":
        return _inspect_photo(field, path, size, sha256, name, mime, cfg)
    return _inspect_video(field, path, size, sha256, name, mime, cfg)


def _inspect_photo(
    field: str, path: Path, size: int, sha256: str, name: str, mime: str, cfg: dict[str, Any]
) -> IncomingFile:
    try:
        info = inspect_photo(path, cfg["SUCAI_MAX_PHOTO_PIXELS"])
    except MediaRejected as exc:
        cls = TooLarge if exc.rule == "max_pixels" else UnsupportedMedia
        raise cls(f"{field}: {exc.detail}", field=field, file=name, rule=exc.rule) from None
    return IncomingFile(
        "photo", field, name, path, size, sha256, info.mime, info.width, info.height
    )


def _inspect_video(
    field: str, path: Path, size: int, sha256: str, name: str, mime: str, cfg: dict[str, Any]
) -> IncomingFile:
    try:
        info = video.probe(path, mime)
    except MediaRejected as exc:
        raise UnsupportedMedia(
            f"video: {exc.detail}", field=field, file=name, rule=exc.rule
        ) from None
    if info.duration > cfg["SUCAI_MAX_VIDEO_SECONDS"]:
        raise Invalid(
            f"video is {info.duration:.0f} s; the limit is {cfg['SUCAI_MAX_VIDEO_SECONDS']} s",
            field=field,
            file=name,
            rule="max_duration",
        )
    if max(info.width, info.height) > cfg["SUCAI_MAX_VIDEO_SIDE"]:
        raise Invalid(
            f"video is {info.width}×{info.height}; the largest side allowed is "
            f"{cfg['SUCAI_MAX_VIDEO_SIDE']}",
            field=field,
            file=name,
            rule="max_resolution",
        )
    return IncomingFile(
        "video", field, name, path, size, sha256, mime, info.width, info.height, info.duration
    )
