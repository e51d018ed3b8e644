"""Upload plumbing for Flask: every file of a multipart body streams to a temp file that hashes
what arrives and refuses to grow past the largest file allowed, before the domain sees it."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import IO, Any

from flask import Request, current_app
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from materials.catalogue.uploads import SPOOL_PREFIX, Spooled, spool_dir
from materials.web.deps import get_deps


class HashingTempFile:
    """A temp file that hashes what is written and refuses to grow past `limit` bytes."""

    def __init__(self, limit: int, directory: Path):
        self._file: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=SPOOL_PREFIX, dir=directory
        )
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
        cfg = get_deps(current_app).settings
        limit = max(cfg.MAX_PHOTO_BYTES, cfg.MAX_VIDEO_BYTES)
        return HashingTempFile(limit, spool_dir(cfg))


def spooled(files: list[FileStorage]) -> list[Spooled]:
    """The request's files as the domain takes them (already on disk: nothing is copied)."""
    return [_spooled(f) for f in files]


def _spooled(f: FileStorage) -> Spooled:
    stream = f.stream
    if not isinstance(stream, HashingTempFile):  # pragma: no cover - werkzeug always spools here
        raise RuntimeError("upload was not streamed through HashingTempFile")
    stream.flush()
    return Spooled(f.filename or "", Path(stream.name), stream.size, stream.sha256)
