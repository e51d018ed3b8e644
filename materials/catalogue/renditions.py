"""Worker-side use cases: make an asset's renditions, and sweep files no row refers to.

A job holds its asset by a lease (leases.py) and is safe to run twice: rendition keys are
named by their content, the rows are replaced whole, and a finished asset is left alone."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from materials.catalogue import leases
from materials.catalogue.lifecycle import load_material, log_change
from materials.catalogue.uploads import decode_limits, spool_dir
from materials.models import FAILED, PROCESSING, READY, Asset, Card, Rendition
from materials.platform.deps import Deps
from media import images, video
from media.images import MediaRejected, Rendered
from media.sandbox import Limits

log = logging.getLogger(__name__)
SWEPT_PREFIXES = ("originals/", "renditions/", "cards/")


def process_asset(deps: Deps, asset_id: int) -> None:
    job = leases.claim(deps, asset_id)
    if job is None:
        return  # finished, deleted, or held by a live worker: a duplicate delivery
    if job.attempts > leases.MAX_ATTEMPTS:
        reason = f"gave up after {job.attempts - 1} attempts; a retry may help"
        _finish(deps, asset_id, [], error=reason, retryable=True)
        return
    stored: list[str] = []
    budget = _Budget(deps)
    try:
        with leases.heartbeat(deps, asset_id):
            rendered = _render(deps, budget, job.kind, job.key, job.mime)
            rows = [_store(deps, asset_id, r, stored) for r in rendered]
            _finish(deps, asset_id, rows, error=None)
    except Exception as exc:
        _discard(deps, stored)
        _failed(deps, job, exc)


def _failed(deps: Deps, job: leases.Claimed, exc: Exception) -> None:
    if leases.is_transient(exc) and job.attempts < leases.MAX_ATTEMPTS:
        delay = leases.backoff(job.attempts)
        log.warning("asset %s: %r; trying again in %.0f s", job.asset_id, exc, delay)
        leases.postpone(deps, job.asset_id, delay)
        return
    log.exception("asset %s failed", job.asset_id, exc_info=exc)
    retryable = leases.is_transient(exc)
    _finish(deps, job.asset_id, [], error=_reason(exc, retryable), retryable=retryable)


def _reason(exc: Exception, retryable: bool) -> str:
    # A broken rule names itself: "too_costly: decoding used more than 10 s of CPU". Such a
    # file fails the same way on every retry; only replacing it helps.
    text = f"{exc.rule}: {exc.detail}" if isinstance(exc, MediaRejected) else str(exc)
    text = (text or type(exc).__name__)[:480]
    return f"{text} (a retry may help)" if retryable else text


def _discard(deps: Deps, keys: list[str]) -> None:
    """Drop what a failed run stored, except objects a row refers to: keys are named by
    content, so an earlier run of the same job may have stored (and recorded) the same one."""
    if not keys:
        return
    try:
        with deps.db.read() as s:
            kept = set(s.scalars(select(Rendition.key).where(Rendition.key.in_(keys))))
        for key in set(keys) - kept:
            deps.storage.delete(key)
    except Exception as exc:  # the orphan sweep removes what is left
        log.warning("could not discard %d stored renditions: %r", len(keys), exc)


class _Budget:
    """One job's wall clock (SUCAI_MAX_JOB_SECONDS), shared by its steps."""

    def __init__(self, deps: Deps) -> None:
        self.deadline = time.monotonic() + deps.settings.MAX_JOB_SECONDS
        self.decode = decode_limits(deps.settings)

    def within(self, limits: Limits) -> Limits:
        return limits.within(self.deadline - time.monotonic())


def _render(deps: Deps, job: _Budget, kind: str, key: str, mime: str) -> list[Rendered]:
    suffix = "." + key.rsplit(".", 1)[-1]
    # Temporaries in the spool, not the machine's temp directory: what a worker SIGKILLed
    # mid-job leaves there is swept (the fault drill found S3 downloads it never removed).
    with deps.storage.local_path(key, suffix=suffix, tmp_dir=spool_dir(deps.settings)) as src:
        if kind == "photo":
            return images.photo_renditions(
                src,
                deps.settings.DISPLAY_SIDE,
                deps.settings.THUMB_SIDE,
                limits=job.within(job.decode),
                max_scans=deps.settings.MAX_JPEG_SCANS,
            )
        return _video_renditions(deps, job, src, mime)


def _video_renditions(deps: Deps, job: _Budget, src: Path, mime: str) -> list[Rendered]:
    cap = deps.settings.MAX_VIDEO_SECONDS
    # Probed again (never trust what was true at upload), playing time included: the
    # transcode's limits grow with the seconds it will really make, at most the cap.
    info = video.probe(src, mime, limits=job.within(job.decode), play_cap=cap)
    seconds = min(max(info.duration, info.played or 0.0), cap)
    with tempfile.TemporaryDirectory(prefix="sucai-v-", dir=spool_dir(deps.settings)) as tmp:
        out, still = Path(tmp) / "video.mp4", Path(tmp) / "poster.jpg"
        w, h = video.transcode(
            src,
            mime,
            info,
            out,
            deps.settings.VIDEO_SHORT_SIDE,
            limits=job.within(video.transcode_limits(job.decode, seconds)),
            max_seconds=cap,
        )
        video.poster(out, seconds, still, limits=job.within(job.decode))
        return [
            Rendered("video", out.read_bytes(), "video/mp4", w, h),
            Rendered("poster", still.read_bytes(), "image/jpeg", w, h),
        ]


def _store(deps: Deps, asset_id: int, r: Rendered, stored: list[str]) -> Rendition:
    digest = hashlib.sha256(r.data).hexdigest()[:20]
    ext = "mp4" if r.mime == "video/mp4" else "jpg"
    key = f"renditions/{asset_id}/{r.name}-{digest}.{ext}"
    deps.storage.put_bytes(key, r.data, r.mime)
    stored.append(key)
    return Rendition(
        name=r.name,
        backend=deps.storage.backend,
        key=key,
        mime=r.mime,
        size=len(r.data),
        width=r.width,
        height=r.height,
    )


def _finish(
    deps: Deps, asset_id: int, rows: list[Rendition], error: str | None, retryable: bool = False
) -> None:
    with deps.db.transaction() as s:
        asset = s.get(Asset, asset_id)
        if asset is None or asset.status != PROCESSING:
            return  # deleted, or finished by a duplicate run meanwhile
        # Lock the material so two assets finishing at once agree on the overall status.
        material = load_material(s, asset.material_id, lock=True)
        asset = next(a for a in material.assets if a.id == asset_id)
        asset.lease_until = None
        if error:
            asset.status, asset.error, asset.retryable = FAILED, error, retryable
            material.status = FAILED
            material.error = f"{asset.original_filename or asset.kind}: {error}"
        else:
            asset.renditions.clear()
            s.flush()
            asset.renditions.extend(rows)
            asset.status, asset.error, asset.retryable = READY, None, False
            if all(a.status == READY for a in material.assets):
                material.status, material.error = READY, None
        log_change(s, material, "processed")


def sweep_orphans(deps: Deps, now: datetime | None = None) -> int:
    """Delete stored files that no row refers to and that are older than the grace period
    (younger ones may belong to an upload whose transaction is still open), and upload spool
    files as old (sweep_spool)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=deps.settings.ORPHAN_GRACE_SECONDS)
    with deps.db.read() as s:
        known = set(s.scalars(select(Asset.key)))
        known |= set(s.scalars(select(Rendition.key)))
        known |= set(s.scalars(select(Card.key)))
    removed = 0
    for prefix in SWEPT_PREFIXES:
        for key, modified in list(deps.storage.list(prefix)):
            if key not in known and modified < cutoff:
                deps.storage.delete(key)
                removed += 1
    return removed + sweep_spool(deps, cutoff)


def sweep_spool(deps: Deps, cutoff: datetime) -> int:
    """What the spool holds that was last written before `cutoff`: upload spool files and the
    worker's temporary directories (downloads from S3, transcodes). Each is removed when its
    request or job ends; one left behind belonged to a process SIGKILLed mid-work (OOM, a
    deploy), since nothing else runs at that moment (the fault drill, bench/drill.py, found
    both). Work still going on writes to its files, so the grace keeps them."""
    removed = 0
    for path in list(spool_dir(deps.settings).glob("sucai-*")):
        try:
            if datetime.fromtimestamp(_last_written(path), UTC) >= cutoff:
                continue
            shutil.rmtree(path) if path.is_dir() else path.unlink()
            removed += 1
        except FileNotFoundError:  # its request or job ended meanwhile
            continue
    return removed


def _last_written(path: Path) -> float:
    if not path.is_dir():
        return path.stat().st_mtime
    return max([path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*")])
