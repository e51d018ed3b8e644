"""The production shape on one machine: nginx in front of the Procfile's web, worker and
indexer, started and stopped together by honcho. Nothing is installed as a system service.

    scripts/prod [--port 8000]      set up, release, then this; Ctrl-C stops everything
    .venv/bin/python deploy/prod.py [--port P] [--run-dir DIR] [--no-card-cache] [--render-only]

Settings are the app's (SUCAI_* over defaults, app.load_settings). nginx listens on
127.0.0.1:PORT; gunicorn binds a unix socket in the run directory (default DATA_DIR/run),
which also holds the rendered nginx.conf and Procfile, nginx's pid, temp files and card cache.
The app is told there is one proxy in front (SUCAI_PROXIES, unless set) and, when storage is
local, to hand stored cards to nginx (SUCAI_ACCEL_REDIRECT).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import load_settings, max_request_bytes  # noqa: E402
from media.storage import from_url  # noqa: E402

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
ACCEL_PREFIX = "/_stored/"  # the app's SUCAI_ACCEL_REDIRECT and nginx's internal location
PROCESSES = ("web", "worker", "indexer")  # from the Procfile, as the developer runs them


class _Conf(Template):
    """Only ${name} is a placeholder: nginx's own $variables pass through untouched."""

    pattern = r"\$\{(?P<braced>[a-z_]+)\}|(?P<escaped>(?!))|(?P<named>(?!))|(?P<invalid>(?!))"


@dataclass(frozen=True)
class Shape:
    """What the nginx configuration is rendered from."""

    listen: str  # host:port
    run_dir: Path
    app_socket: Path  # gunicorn binds it
    static_dir: Path
    media_dir: Path | None  # local storage's root; None when media live in an object store
    max_body: int
    card_cache: bool = True
    card_cache_size: str = "1g"
    access_log: str = ""  # a path; "" means run_dir/access.log; "off"

    @property
    def conf(self) -> Path:
        return self.run_dir / "nginx.conf"

    @property
    def cards_socket(self) -> Path:
        return self.run_dir / "cards.sock"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "nginx.pid"


def shape_for(settings: dict[str, Any], port: int, run_dir: Path | None = None, **kw) -> Shape:
    run = (run_dir or Path(settings["DATA_DIR"]) / "run").resolve()
    storage = from_url(settings["STORAGE_URL"])  # no I/O: only which backend, and where
    return Shape(
        listen=f"127.0.0.1:{port}",
        run_dir=run,
        app_socket=kw.pop("app_socket", run / "web.sock"),
        static_dir=ROOT / "static",
        media_dir=storage.root if storage.backend == "local" else None,
        max_body=max_request_bytes(settings),
        **kw,
    )


# ---------------------------------------------------------------- nginx.conf


def render(shape: Shape) -> str:
    local = shape.media_dir is not None
    values = {
        "user_line": _user_line(),
        "run_dir": shape.run_dir,
        "listen": shape.listen,
        "app_socket": shape.app_socket,
        "cards_socket": shape.cards_socket,
        "static_dir": shape.static_dir,
        "max_body": shape.max_body,
        "card_cache": "cards" if shape.card_cache else "off",
        "card_cache_size": shape.card_cache_size,
        "access_log": _access_log(shape),
        "media_locations": _snippet(LOCAL_MEDIA if local else REMOTE_MEDIA, shape),
        "stored_locations": _snippet(STORED_CARDS if local else NO_STORED_CARDS, shape),
    }
    return _Conf(TEMPLATE.read_text()).substitute(values)


def _user_line() -> str:
    # Started by root, nginx would hand its workers to `nobody`, who cannot read files a root
    # app wrote under /root; so the workers run as whoever runs the app. Otherwise nginx
    # stays the user it was started as and this directive is not needed.
    if os.geteuid() != 0:
        return "# (not root: nginx runs as the user who started it)"
    return f"user {pwd.getpwuid(0).pw_name};"


def _access_log(shape: Shape) -> str:
    if shape.access_log == "off":
        return "off"
    path = shape.access_log or shape.run_dir / "access.log"
    return f"{path} combined buffer=64k flush=1s"


def _snippet(text: str, shape: Shape) -> str:
    return _Conf(text).substitute(media_dir=shape.media_dir, accel_prefix=ACCEL_PREFIX)


LOCAL_MEDIA = """\
        # Renditions only: originals keep the uploader's EXIF, GPS included, and are never
        # served, by nginx or by the app. Keys are content-addressed: cached for a year.
        location ^~ /media/renditions/ {
            alias ${media_dir}/renditions/;
            add_header Cache-Control "public, max-age=31536000, immutable";
            add_header X-Content-Type-Options nosniff;
            location ~ /\\. {
                return 404;  # a file still being written (.tmp-*)
            }
        }
        location ^~ /media/ {
            return 404;
        }"""

REMOTE_MEDIA = """\
        # Media live in an object store: /media/ goes to the app, which answers with a
        # presigned redirect (and nginx has no files to serve)."""

STORED_CARDS = """\
        # X-Accel-Redirect targets: stored cards, and nothing else of the media directory.
        location ^~ ${accel_prefix}cards/ {
            internal;
            alias ${media_dir}/cards/;
            # The app's validators, not nginx's: the ETag is the card's cache key, and a
            # Last-Modified from the file's mtime would be a second, different validator.
            etag off;
            if_modified_since off;
            add_header Last-Modified "";
            add_header ETag $upstream_http_etag;
            # Content-Type and Cache-Control survive the redirect; the app's other headers do
            # not, so they are put back from its answer.
            add_header X-Content-Type-Options $upstream_http_x_content_type_options;
            add_header Content-Security-Policy $upstream_http_content_security_policy;
            add_header Referrer-Policy $upstream_http_referrer_policy;
            add_header Permissions-Policy $upstream_http_permissions_policy;
            add_header X-Frame-Options $upstream_http_x_frame_options;
        }"""

NO_STORED_CARDS = """\
        # Cards live in the object store: the app sends their bytes (no X-Accel-Redirect)."""


def write(shape: Shape) -> Path:
    """The run directory with nginx.conf in it; a stale socket of a dead nginx removed."""
    # Its sockets lead past nginx (the card server trusts X-Forwarded-For): this user's only.
    shape.run_dir.mkdir(parents=True, exist_ok=True)
    shape.run_dir.chmod(0o700)
    for sub in ("tmp", "cache"):
        (shape.run_dir / sub).mkdir(exist_ok=True)
    if _nginx_alive(shape):
        raise SystemExit(f"nginx is running already in {shape.run_dir} (pid file)")
    # nginx does not remove a socket file left by a killed nginx, and would fail to bind it.
    shape.cards_socket.unlink(missing_ok=True)
    shape.conf.write_text(render(shape))
    return shape.conf


def _nginx_alive(shape: Shape) -> bool:
    try:
        os.kill(int(shape.pid_file.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def nginx_command(prefix: Path, conf: Path) -> list[str]:
    """nginx in the foreground (the configuration says `daemon off`) with its own prefix."""
    nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if nginx is None:
        raise SystemExit("nginx not found: apt-get install nginx-light")
    return [nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr"]


# ---------------------------------------------------------------- the processes


def procfile(shape: Shape) -> str:
    """nginx plus the Procfile's own web, worker and indexer lines, unchanged."""
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() in PROCESSES:
            lines[name.strip()] = command.strip()
    nginx = " ".join(nginx_command(shape.run_dir, shape.conf))
    return "".join([f"nginx: exec {nginx}\n"] + [f"{n}: {lines[n]}\n" for n in PROCESSES])


def environment(shape: Shape, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env["WEB_BIND"] = f"unix:{shape.app_socket}"  # the Procfile's web line binds this
    env.setdefault("SUCAI_PROXIES", "1")
    env.setdefault("SUCAI_PUBLIC_URL", f"http://127.0.0.1:{port}")
    # nginx's internal location and the app must agree, so this is not left to the caller.
    env["SUCAI_ACCEL_REDIRECT"] = ACCEL_PREFIX if shape.media_dir is not None else ""
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--no-card-cache", action="store_true", help="every card to the app")
    parser.add_argument("--access-log", default="", help="a path, or off")
    parser.add_argument("--render-only", action="store_true", help="write the files, run nothing")
    args = parser.parse_args()
    shape = shape_for(
        load_settings(),
        args.port,
        args.run_dir,
        card_cache=not args.no_card_cache,
        access_log=args.access_log,
    )
    write(shape)
    processes = shape.run_dir / "Procfile"
    processes.write_text(procfile(shape))
    print(f"prod: nginx on http://{shape.listen}, the app on {shape.app_socket}", flush=True)
    if args.render_only:
        return
    os.chdir(ROOT)  # honcho runs each command in its own working directory
    honcho = str(Path(sys.executable).parent / "honcho")
    os.execve(honcho, [honcho, "-f", str(processes), "start"], environment(shape, args.port))


if __name__ == "__main__":
    main()
