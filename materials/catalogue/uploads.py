"""Uploaded files, checked before anything is stored: typed from content (never from the name or
the client's Content-Type) and held to the limits the settings declare. The web layer streams
each file to a temp file with the hash and the size cap applied as bytes arrive
(materials/web/uploads.py) and hands it here as a `Spooled`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from materials.errors import Invalid, Problem, TooLarge, UnsupportedMedia
from materials.platform.deps import Settings
from media import video
from media.images import MediaRejected, inspect_photo, sniff
from media.sandbox import Limits

# The status for each rule a photo or video can break; a rule not named here is a 415.
_STATUS: dict[str, type[Problem]] = {
    "max_pixels": TooLarge,
    "decompression_bomb": TooLarge,
    "truncated": Invalid,
    "incomplete": Invalid,
    "max_scans": Invalid,
    "too_costly": Invalid,
}


SPOOL_PREFIX = "sucai-up-"


def spool_dir(cfg: Settings) -> Path:
    """Where request bodies' files are spooled while an upload is checked, and where the
    worker and the card renderer download and transcode: the data directory's own (made on
    first use), so what a process killed mid-work leaves is this deployment's to sweep
    (renditions.sweep_spool), not a stranger in the machine's temp directory."""
    spool = Path(cfg.DATA_DIR) / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    return spool


def decode_limits(cfg: Settings) -> Limits:
    """The limits every decode of an uploaded file runs under, at upload and in the worker."""
    return Limits.for_decode(cfg.MAX_DECODE_SECONDS, cfg.MAX_DECODE_MB)


@dataclass(frozen=True)
class Spooled:
    """A received file already on local disk, hashed and size-capped as it arrived."""

    filename: str  # the client's name: for messages and metadata only
    path: Path
    size: int
    sha256: str


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


def check_files(photos: list[Spooled], videos: list[Spooled], cfg: Settings) -> list[IncomingFile]:
    """Every file typed and checked; the first broken rule raises, naming the file."""
    photos = [f for f in photos if f.filename or f.size]
    videos = [f for f in videos if f.filename or f.size]
    if not photos:
        raise Invalid("at least one photo is required", field="photos", rule="required")
    if len(photos) > cfg.MAX_PHOTOS:
        raise Invalid(
            f"{len(photos)} photos; the limit is {cfg.MAX_PHOTOS}",
            field="photos",
            rule="max_items",
        )
    if len(videos) > 1:
        raise Invalid("at most one video", field="video", rule="max_items")
    checked = [_check("photo", f"photos[{i}]", f, cfg) for i, f in enumerate(photos)]
    checked += [_check("video", "video", f, cfg) for f in videos]
    return checked


def _check(kind: str, field: str, f: Spooled, cfg: Settings) -> IncomingFile:
    return _inspect(kind, field, f.path, f.size, f.sha256, f.filename, cfg)


def check_path(kind: str, field: str, path: Path, filename: str, cfg: Settings) -> IncomingFile:
    """The same checks for a file already on disk (demo data, imports)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return _inspect(kind, field, Path(path), path.stat().st_size, digest.hexdigest(), filename, cfg)


def _inspect(
    kind: str, field: str, path: Path, size: int, sha256: str, name: str, cfg: Settings
) -> IncomingFile:
    limit = cfg.MAX_PHOTO_BYTES if kind == "photo" else cfg.MAX_VIDEO_BYTES
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
    field: str, path: Path, size: int, sha256: str, name: str, mime: str, cfg: Settings
) -> IncomingFile:
    try:
        info = inspect_photo(
            path,
            cfg.MAX_PHOTO_PIXELS,
            limits=decode_limits(cfg),
            max_scans=cfg.MAX_JPEG_SCANS,
        )
    except MediaRejected as exc:
        raise _problem(field, name, exc) from None
    return IncomingFile(
        "photo", field, name, path, size, sha256, info.mime, info.width, info.height
    )


def _problem(field: str, name: str, exc: MediaRejected) -> Problem:
    cls = _STATUS.get(exc.rule, UnsupportedMedia)
    return cls(f"{field}: {exc.detail}", field=field, file=name, rule=exc.rule)


def _inspect_video(
    field: str, path: Path, size: int, sha256: str, name: str, mime: str, cfg: Settings
) -> IncomingFile:
    cap = cfg.MAX_VIDEO_SECONDS
    try:
        info = video.probe(path, mime, limits=decode_limits(cfg), play_cap=cap)
    except MediaRejected as exc:
        raise _problem(field, name, exc) from None
    # The cap holds for what ffmpeg plays, not only for what the headers say.
    seconds = max(info.duration, info.played or 0.0)
    if seconds > cap:
        played = "plays for more than" if seconds > info.duration else "is"
        raise Invalid(
            f"video {played} {seconds:.0f} s; the limit is {cap} s",
            field=field,
            file=name,
            rule="max_duration",
        )
    if max(info.width, info.height) > cfg.MAX_VIDEO_SIDE:
        raise Invalid(
            f"video is {info.width}×{info.height}; the largest side allowed is "
            f"{cfg.MAX_VIDEO_SIDE}",
            field=field,
            file=name,
            rule="max_resolution",
        )
    return IncomingFile(
        "video", field, name, path, size, sha256, mime, info.width, info.height, info.duration
    )
