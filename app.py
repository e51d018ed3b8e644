"""Sucai: the content material library and one-tap share service.

`create_app()` is the only place settings are read: defaults, then `SUCAI_*` environment
variables, then the overrides a test passes. They go into one `Deps` (materials/platform/deps.py)
built here, which the domain is handed; every web part is wired with its own `init_app(app)`.
Nothing is built at import time, and building does no I/O.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"SUCAI_{self.name}"


MB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", "development", "`development` or `production`; production refuses dev secrets."),
    Setting("SECRET_KEY", "", "Signs sessions and CSRF tokens. Required in production."),
    Setting("DATA_DIR", "./var", "Where the embedded default keeps database, media, queue, index."),
    Setting("DATABASE_URL", "", "SQLAlchemy URL; empty means SQLite at DATA_DIR/sucai.db."),
    Setting(
        "STORAGE_URL",
        "",
        "file:///dir or s3://[key:secret@]bucket?endpoint_url=…; empty means DATA_DIR/media.",
    ),
    Setting(
        "QUEUE_URL",
        "",
        "Job queue: sqlite:///path or redis://host:port/db; "
        "empty means SQLite at DATA_DIR/queue.db.",
    ),
    Setting(
        "QUEUE_NAME",
        "sucai",
        "Queue name (keeps several deployments on one Redis apart; rate-limit keys too).",
    ),
    Setting(
        "RATELIMIT_STORAGE_URL",
        "",
        "Where rate limits are counted: memory:// (each process alone) or redis://host:port/db "
        "(shared by every process and node); empty means QUEUE_URL when that is Redis, "
        "else memory://.",
    ),
    Setting(
        "UPLOAD_RATE_LIMIT",
        "120/hour",
        "Uploads (POST /api/v1/materials) per user, e.g. 120/hour or 10/minute;1000/day; "
        "empty means no limit.",
    ),
    Setting("PUBLIC_URL", "http://127.0.0.1:8000", "Base URL printed into links and QR codes."),
    Setting("PROXIES", 0, "Reverse proxies in front whose X-Forwarded-* headers are trusted."),
    Setting(
        "ACCEL_REDIRECT",
        "",
        "URL prefix (e.g. /_stored/) under which nginx serves the local media dir: a stored "
        "card is then answered with X-Accel-Redirect instead of its bytes. Empty: off.",
    ),
    Setting("WORKERS", 2, "Threads in the media worker."),
    Setting("MAX_PHOTOS", 9, "Photos per material."),
    Setting("MAX_PHOTO_BYTES", 20 * MB, "Largest photo file accepted."),
    Setting("MAX_PHOTO_PIXELS", 40_000_000, "Largest photo (width x height) decoded."),
    Setting("MAX_VIDEO_BYTES", 200 * MB, "Largest video file accepted."),
    Setting("MAX_VIDEO_SECONDS", 180, "Longest video accepted."),
    Setting("MAX_VIDEO_SIDE", 3840, "Largest video width or height accepted."),
    Setting("MAX_TEXT_CHARS", 5000, "Longest copy text accepted."),
    Setting(
        "POSTS_PER_DAY",
        5,
        "Try-out posts one seller may submit per day (days in TIMEZONE); past it, 429.",
    ),
    Setting(
        "MAX_DECODE_SECONDS",
        10,
        "CPU seconds one photo decode or ffmpeg probe may use (its wall clock: twice that + 2 s); "
        "a file past it is refused as `too_costly`.",
    ),
    Setting("MAX_DECODE_MB", 1024, "Address space one photo decode or ffmpeg run may use."),
    Setting(
        "MAX_JOB_SECONDS",
        900,
        "Wall clock for one worker job: a photo's renditions, or a video's probe, transcode "
        "and poster (the transcode also gets 6 CPU-s and 4 s per second of clip).",
    ),
    Setting("MAX_JPEG_SCANS", 300, "Most scans a (progressive) JPEG may have; each costs a pass."),
    Setting("DISPLAY_SIDE", 1080, "Long side of the display rendition of a photo."),
    Setting("THUMB_SIDE", 360, "Long side of a photo thumbnail."),
    Setting("VIDEO_SHORT_SIDE", 720, "Short side of the transcoded video (720 = 720p)."),
    Setting(
        "ORPHAN_GRACE_SECONDS",
        3600,
        "Stored files unreferenced this long are swept, and upload spool files "
        "(DATA_DIR/spool) a killed web worker left.",
    ),
    Setting(
        "JOB_LEASE_SECONDS",
        30,
        "A job's hold on its asset, renewed while it runs; a dead worker's job runs again "
        "after this.",
    ),
    Setting(
        "ENQUEUE_GRACE_SECONDS",
        60,
        "An asset queued this long ago and never picked up is queued again (lost enqueue).",
    ),
    Setting("REAP_SECONDS", 15, "How often each worker looks for stuck assets to queue again."),
    Setting("REF_PARAM", "ref", "Query parameter carrying the referral code to storefronts."),
    Setting(
        "CLICK_WINDOW_SECONDS",
        1800,
        "A visitor's repeat clicks on one seller's link within this window count once.",
    ),
    Setting("INDEX_DIR", "", "whoosh index directory; empty means DATA_DIR/index."),
    Setting("INDEX_POLL_MS", 200, "How often the indexer looks for new change-log rows."),
    Setting(
        "RATING_PRIOR_MEAN",
        5.0,
        "口碑指数 prior m (1-10): where a product with no ratings stands (README: why 5.0).",
    ),
    Setting(
        "RATING_PRIOR_WEIGHT",
        10,
        "口碑指数 prior weight C: how many ratings the prior counts as.",
    ),
    Setting(
        "POTENTIAL_MIN_RATINGS",
        10,
        "Fewest ratings a product needs, with an index of 5.0 or more, to be marked 潜力 for ops.",
    ),
    Setting("FONT_PATH", "", "CJK font file for cards; empty means ask fontconfig."),
    Setting("TIMEZONE", "Asia/Shanghai", "Time zone the pages show and read schedule times in."),
    Setting(
        "WECHAT_APP_ID",
        "",
        "Official account AppID for WeChat share data on /m/ and /h5/m/ (JS-SDK); empty: off.",
    ),
    Setting("WECHAT_APP_SECRET", "", "The official account's AppSecret; empty: off."),
    Setting(
        "WECHAT_API_URL",
        "https://api.weixin.qq.com",
        "WeChat's API (the tests point it at a local stand-in).",
    ),
    Setting("WECHAT_TIMEOUT_SECONDS", 3, "Longest wait for one call to WeChat's API."),
    Setting(
        "WECHAT_MINIPROGRAM_APP_ID",
        "",
        "Mini-program AppID for the `moments` card's 小程序码; empty: no moments card.",
    ),
    Setting("WECHAT_MINIPROGRAM_SECRET", "", "The mini-program's AppSecret."),
    Setting(
        "WECHAT_MINIPROGRAM_PAGE",
        "",
        "The mini-program page a 小程序码 opens, e.g. pages/material/index; scene c=<code>&m=<id>.",
    ),
    Setting(
        "WECHAT_WXACODE_PER_SECOND",
        20,
        "Most 小程序码 fetched per second, all processes together (WeChat allows 5000/minute).",
    ),
)


def _coerce(setting: Setting, raw: str) -> Any:
    if isinstance(setting.default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(setting.default, int):
        return int(raw)
    if isinstance(setting.default, float):
        return float(raw)
    return raw


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then SUCAI_* environment, then explicit overrides; derived paths last."""
    values = {s.name: s.default for s in SETTINGS}
    for s in SETTINGS:
        if s.env in os.environ:
            values[s.name] = _coerce(s, os.environ[s.env])
    unknown = set(overrides or {}) - set(values)
    if unknown:
        raise KeyError(f"unknown settings: {sorted(unknown)}")
    values.update(overrides or {})
    return _derive(values)


def _derive(values: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(values["DATA_DIR"]).resolve()
    values["DATA_DIR"] = str(data_dir)
    values["DATABASE_URL"] = values["DATABASE_URL"] or f"sqlite:///{data_dir / 'sucai.db'}"
    values["STORAGE_URL"] = values["STORAGE_URL"] or f"file://{data_dir / 'media'}"
    values["QUEUE_URL"] = values["QUEUE_URL"] or f"sqlite:///{data_dir / 'queue.db'}"
    values["RATELIMIT_STORAGE_URL"] = values["RATELIMIT_STORAGE_URL"] or _ratelimit_storage(
        values["QUEUE_URL"]
    )
    values["INDEX_DIR"] = values["INDEX_DIR"] or str(data_dir / "index")
    values["PUBLIC_URL"] = values["PUBLIC_URL"].rstrip("/")
    values["WECHAT_API_URL"] = values["WECHAT_API_URL"].rstrip("/")
    if not 1 <= float(values["RATING_PRIOR_MEAN"]) <= 10 or int(values["RATING_PRIOR_WEIGHT"]) < 1:
        raise RuntimeError("SUCAI_RATING_PRIOR_MEAN must be 1-10 and SUCAI_RATING_PRIOR_WEIGHT ≥ 1")
    if not values["SECRET_KEY"]:
        if values["ENV"] == "production":
            raise RuntimeError("SUCAI_SECRET_KEY must be set when SUCAI_ENV=production")
        values["SECRET_KEY"] = _dev_secret(data_dir)
    return values


def _ratelimit_storage(queue_url: str) -> str:
    """A deployment that already runs Redis for its queue counts limits there too, so a limit
    holds across workers and nodes; the embedded default counts in each process."""
    return queue_url if queue_url.startswith(("redis://", "rediss://")) else "memory://"


def _dev_secret(data_dir: Path) -> str:
    """A per-data-dir random key, so development sessions survive restarts."""
    path = data_dir / "dev-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def max_request_bytes(settings: dict[str, Any]) -> int:
    """Whole-request cap: the largest legal upload plus room for the form fields. nginx's
    client_max_body_size is rendered from this too (deploy/prod.py)."""
    return settings["MAX_PHOTOS"] * settings["MAX_PHOTO_BYTES"] + settings["MAX_VIDEO_BYTES"] + MB


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from materials import commands, jobs
    from materials.platform import deps as platform
    from materials.web import register_blueprints

    app = Flask(__name__)
    settings = load_settings(overrides)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"]
    app.config["MAX_CONTENT_LENGTH"] = max_request_bytes(settings)
    # Werkzeug applies this to its whole parse buffer (64 KiB reads), not just to one field:
    # it must stay well above that; text length itself is checked by the field rules.
    app.config["MAX_FORM_MEMORY_SIZE"] = MB
    Path(settings["DATA_DIR"]).mkdir(parents=True, exist_ok=True)

    if settings["PROXIES"]:
        # Client IPs (click dedup, sign-in rate limits) and https come from the proxy's headers.
        n = settings["PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    deps = platform.build(settings)
    jobs.register(deps)
    platform.init_app(app, deps)
    register_blueprints(app)
    commands.init_app(app)
    return app
