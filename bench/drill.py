"""The fault drill: uploads and edits through the production shape while its processes are
SIGKILLed at random, then an account of every acknowledged upload.

    .venv/bin/python bench/drill.py [--backend embedded|scale] [--uploads N] [--kills K]
                                    [--clients C] [--seconds S] [--seed X]

1. A temporary directory; the embedded default (SQLite, local disk, huey on SQLite) or, with
   `--backend scale`, a schema of its own in PostgreSQL (127.0.0.1:5432, database `test`),
   SeaweedFS started here on loopback, and Redis 127.0.0.1:6379 under a queue name of its own.
   `flask release`, an ops user, then the production shape (deploy/prod.py's nginx.conf and
   Procfile: nginx, gunicorn on a unix socket, the job worker, the indexer). This script is
   their supervisor instead of honcho (which stops everything when one process dies): it
   starts each Procfile line and starts a killed one again after a short random pause.
2. C client threads send N uploads through nginx, spread over S seconds: one or two photos
   made here (their sha256 kept), each with an Idempotency-Key; about half are then edited
   (PATCH title, copy, tags) and published. A connection error or a 5xx is retried with the
   same key and the same body until acknowledged (2xx), up to a bound.
3. Meanwhile K SIGKILLs at random times: gunicorn workers (their master starts new ones), the
   master once (restarted here), the job worker, the indexer, and on the scale backend the
   SeaweedFS server; each but a gunicorn worker restarted after 0.5-3 s.
4. Drain: until no asset is processing; given up when nothing has finished for as long as the
   leases promise a lost job is found (lease or enqueue grace + two reaps + 60 s). Press Retry
   once on whatever failed, wait for the index to reach the change log's head, count the
   orphans, run `flask sweep` (grace 0: nothing is in flight by then) and count them again.
5. The table; the exit status is 1 when a target is missed: 0 lost, 0 duplicated, 0 corrupt,
   0 stuck, 0 failed that a retry fixes, 0 edits lost, 0 refused, every published material
   searchable, 0 orphans after the sweep.

Everything listens on 127.0.0.1 or on unix sockets in the temporary directory; everything
started here is stopped (by its own process group) and the schema, the Redis keys and the
directory are removed at the end, whatever happened.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402
from werkzeug.datastructures import FileStorage, MultiDict  # noqa: E402
from werkzeug.test import stream_encode_multipart  # noqa: E402

from app import create_app, load_settings  # noqa: E402
from bench.load import _flask, free_port, get  # noqa: E402
from deploy import prod  # noqa: E402
from materials.indexing.follower import log_head, read_state  # noqa: E402
from materials.models import FAILED, PROCESSING, Asset, Card, Material, Rendition  # noqa: E402
from materials.platform.deps import get_deps  # noqa: E402
from media.samples import jpeg_bytes, product_image  # noqa: E402
from search import SearchIndex  # noqa: E402

TAG = "drill"  # every drill material carries it: the search API lists them by it
SHOP = "https://shop.example.com/drill/"  # + the upload's key: which upload made a material
REQUEST_BOUND = 240.0  # seconds one client request may keep retrying
SPOOL_PREFIXES = ("sucai-",)  # upload spool files, S3 downloads, transcode directories


# ---------------------------------------------------------------- backends


class Embedded:
    name = "embedded"
    targets = ("gunicorn worker", "job worker", "indexer")

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    def start(self) -> dict[str, str]:
        return {}  # every URL empty: SQLite, local disk and huey on SQLite under DATA_DIR

    def kill_storage(self) -> None:  # pragma: no cover - not a target here
        raise RuntimeError("the embedded backend has no storage server")

    def start_storage(self) -> None:  # pragma: no cover
        raise RuntimeError("the embedded backend has no storage server")

    def close(self) -> None:
        pass


class Scale:
    """PostgreSQL (a schema of its own), SeaweedFS started here, Redis (a queue name of its
    own); all of it removed by close()."""

    name = "scale"
    targets = (*Embedded.targets, "seaweedfs")

    def __init__(self, tmp: Path) -> None:
        from tests.conftest import PG_BASE, REDIS_URL, Weed

        self.tmp, self.pg_base, self.redis_url = tmp, PG_BASE, REDIS_URL
        self.tag = f"drill_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.weed = Weed(tmp / "seaweedfs")
        self._schema = False

    def start(self) -> dict[str, str]:
        self._admin(f'CREATE SCHEMA "{self.tag}"')
        self._schema = True
        self.weed.start()
        bucket = self.tag.replace("_", "-")
        return {
            "SUCAI_DATABASE_URL": f"{self.pg_base}?options=-csearch_path%3D{self.tag}",
            "SUCAI_STORAGE_URL": f"s3://K:S@{bucket}?endpoint_url={self.weed.endpoint}",
            "SUCAI_QUEUE_URL": self.redis_url,
            "SUCAI_QUEUE_NAME": self.tag,
        }

    def kill_storage(self) -> None:
        self.weed.kill()

    def start_storage(self) -> None:
        self.weed.start()

    def close(self) -> None:
        self.weed.stop()
        if self._schema:
            self._admin(f'DROP SCHEMA "{self.tag}" CASCADE')
        import redis

        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(match=f"*{self.tag}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine

        engine = create_engine(self.pg_base)
        try:
            with engine.begin() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()


# ---------------------------------------------------------------- the supervisor


class Supervisor:
    """Starts the rendered Procfile's lines, each in a process group of its own, and starts a
    killed one again when told; remembers every group it ever made, to stop them all."""

    def __init__(self, procfile: Path, env: dict[str, str], logs: Path) -> None:
        self.commands = {}
        for line in procfile.read_text().splitlines():
            name, _, command = line.partition(":")
            self.commands[name.strip()] = command.strip()
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.groups: list[int] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._keep_pruning, name="prune", daemon=True).start()

    def _keep_pruning(self) -> None:
        # A group with no process left is forgotten at once: pids wrap (at 32,768 here) and
        # its number may soon lead a stranger's group, who must never get our signal.
        while True:
            time.sleep(0.2)
            with self._lock:
                self.groups = [g for g in self.groups if _group_alive(g)]

    def start(self, name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - kept by the child
        # `exec`: the Popen's pid is the process itself (a SIGKILL reaches it, not a shell).
        command = self.commands[name].removeprefix("exec ")
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        with self._lock:
            self.procs[name] = proc
            self.groups.append(proc.pid)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        proc.wait()

    def children(self, name: str) -> list[int]:
        pid = self.procs[name].pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def stop_all(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with self._lock:
                for group in [g for g in self.groups if _group_alive(g)]:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(group, sig)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.groups:
                time.sleep(0.2)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# ---------------------------------------------------------------- what the clients did


@dataclass
class Upload:
    key: str
    title: str
    photos: list[bytes]
    sha256: list[str]
    material_id: int | None = None
    refused: str = ""  # a final 4xx: every request sent here is valid
    edited: dict | None = None  # the last acknowledged PATCH body
    published: bool = False  # a publish was acknowledged


@dataclass
class Call:
    started: float
    ended: float
    ok: bool
    upload: bool


@dataclass
class Record:
    uploads: list[Upload] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # by kind: retried
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, call: Call, error: str = "") -> None:
        with self.lock:
            self.calls.append(call)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1


class Client:
    def __init__(self, port: int, token: str, record: Record, stop: threading.Event) -> None:
        self.port, self.record, self.stop = port, record, stop
        self.auth = {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes] | None:
        """The answer to the first attempt not refused by a dead or unreachable process; the
        same body and headers every time. None when it gave up."""
        upload = method == "POST" and path == "/api/v1/materials"
        deadline, delay = time.monotonic() + REQUEST_BOUND, 0.2
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                status, data = self._once(method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                self.record.note(Call(started, time.monotonic(), False, upload), type(exc).__name__)
            else:
                ok = status < 500
                self.record.note(
                    Call(started, time.monotonic(), ok, upload), "" if ok else str(status)
                )
                if ok:
                    return status, data
            time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
            delay = min(delay * 2, 2.0)
        return None

    def _once(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
        try:
            conn.request(method, path, body=body, headers={**self.auth, **headers})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def upload(self, up: Upload) -> None:
        form = MultiDict(
            {
                "title": up.title,
                "copy": "演练：上传后被杀死的进程不能丢失任何素材。",
                "price": "9.90",
            }
        )
        form.add("product_url", SHOP + up.key)
        form.add("tags", TAG)
        for i, photo in enumerate(up.photos):
            form.add("photos", FileStorage(_io(photo), filename=f"p{i}.jpg"))
        stream, _, boundary = stream_encode_multipart(form, use_tempfile=False)
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Idempotency-Key": up.key,
        }
        answer = self.call("POST", "/api/v1/materials", stream.read(), headers)
        if answer is None:
            return
        status, data = answer
        if status in (200, 201):
            up.material_id = json.loads(data)["id"]
        else:
            up.refused = f"upload {status}: {data[:200]!r}"

    def edit(self, up: Upload, n: int) -> None:
        change = {
            "title": f"{up.title} 改{n}",
            "copy": f"第{n}次修改的文案",
            "tags": [TAG, f"改{n}"],
        }
        path = f"/api/v1/materials/{up.material_id}"
        answer = self.call("PATCH", path, _json(change), {"Content-Type": "application/json"})
        if answer and answer[0] == 200:
            up.edited = change
        elif answer:
            up.refused = f"edit {answer[0]}: {answer[1][:200]!r}"

    def publish(self, up: Upload) -> None:
        path = f"/api/v1/materials/{up.material_id}/publish"
        answer = self.call("POST", path, b"{}", {"Content-Type": "application/json"})
        if answer and answer[0] == 200:
            up.published = True
        elif answer:
            up.refused = f"publish {answer[0]}: {answer[1][:200]!r}"


def _io(data: bytes):  # noqa: ANN202
    import io

    return io.BytesIO(data)


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def make_upload(rng: random.Random, n: int) -> Upload:
    photos = [
        jpeg_bytes(product_image(320, 240, seed=rng.randrange(1 << 30)))
        for _ in range(1 if rng.random() < 0.7 else 2)
    ]
    key = f"drill-{n}-{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
    return Upload(key, f"演练素材 {n}", photos, [hashlib.sha256(p).hexdigest() for p in photos])


def run_clients(
    record: Record, client_args: tuple, count: int, clients: int, seconds: float, rng: random.Random
) -> None:
    stop = threading.Event()
    uploads = [make_upload(rng, n) for n in range(count)]
    record.uploads = uploads
    t0 = time.monotonic()
    interval = seconds / max(count, 1)

    def work(i: int) -> None:
        client = Client(*client_args, record, stop)
        mine = random.Random(rng.random())  # noqa: S311 - which uploads get edits
        for n in range(i, count, clients):
            # Paced: the uploads spread over the whole fault window.
            time.sleep(max(0.0, t0 + n * interval - time.monotonic()))
            up = uploads[n]
            client.upload(up)
            if up.material_id is None or up.refused:
                continue
            if mine.random() < 0.5:
                client.edit(up, 1)
            if mine.random() < 0.5 and not up.refused:
                client.publish(up)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ---------------------------------------------------------------- faults


@dataclass
class Kill:
    target: str
    at: float
    pause: float = 0.0
    restarted: float | None = None
    recovered: float | None = None  # seconds after the kill
    note: str = ""


class Chaos:
    """SIGKILLs at random times, each followed by a restart after a short pause, and a
    watcher per kill that times the recovery."""

    def __init__(self, sup: Supervisor, backend, view: View, record: Record, rng) -> None:  # noqa: ANN001
        self.sup, self.backend, self.view, self.record, self.rng = sup, backend, view, record, rng
        self.kills: list[Kill] = []
        self.watchers: list[threading.Thread] = []

    def plan(self, kills: int, seconds: float) -> list[tuple[float, str]]:
        """The master once (from two kills), every other target at least once (when there are
        kills enough), the rest drawn by weight; at random times in the fault window."""
        times = sorted(self.rng.uniform(0.08 * seconds, 0.85 * seconds) for _ in range(kills))
        weights = {"gunicorn worker": 3, "job worker": 2, "indexer": 1.5, "seaweedfs": 1.5}
        targets = list(self.backend.targets)
        picks = ["gunicorn master"] if kills >= 2 else []
        if kills - len(picks) >= len(targets):
            picks += targets
        picks += self.rng.choices(targets, [weights[t] for t in targets], k=kills - len(picks))
        self.rng.shuffle(picks)
        return list(zip(times, picks, strict=True))

    def run(self, kills: int, seconds: float) -> None:
        t0 = time.monotonic()
        for at, target in self.plan(kills, seconds):
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            kill = self.one(target)
            if kill is not None:
                self.kills.append(kill)
                watcher = threading.Thread(target=self.watch, args=(kill,), daemon=True)
                watcher.start()
                self.watchers.append(watcher)

    def one(self, target: str) -> Kill | None:
        if target == "gunicorn worker":
            deadline = time.monotonic() + 15  # a master just restarted may not have forked yet
            while not (workers := self.sup.children("web")) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not workers:
                return None
            kill = Kill(target, time.monotonic())
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.rng.choice(workers), signal.SIGKILL)
            return kill  # its master forks a new one at once
        kill = Kill(target, time.monotonic(), pause=self.rng.uniform(0.5, 3.0))
        kill.note = self.before(target)
        if target == "seaweedfs":
            self.backend.kill_storage()
        else:
            self.sup.kill(PROCESS[target])
        time.sleep(kill.pause)
        if target == "seaweedfs":
            self.backend.start_storage()
        else:
            self.sup.start(PROCESS[target])
        kill.restarted = time.monotonic()
        return kill

    def before(self, target: str) -> str:
        """What the watcher compares with: finished assets, the index's position."""
        with contextlib.suppress(Exception):
            if target == "job worker":
                return str(self.view.finished())
            if target == "indexer":
                return str(self.view.position())
        return ""

    def watch(self, kill: Kill, bound: float = 300.0) -> None:
        done = self.recovered_when(kill)
        deadline = kill.at + bound
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if done():
                    kill.recovered = time.monotonic() - kill.at
                    return
            time.sleep(0.25)

    def recovered_when(self, kill: Kill) -> Callable[[], bool]:
        if kill.target == "job worker" and kill.note:
            return lambda: self.view.finished() > int(kill.note)
        if kill.target == "indexer" and kill.note:
            return lambda: (self.view.position() or 0) > int(kill.note)
        uploads_only = kill.target == "seaweedfs"  # a read needs no storage

        def served() -> bool:
            with self.record.lock:
                calls = list(self.record.calls)
            return any(
                c.ok and c.started >= kill.at and (c.upload or not uploads_only) for c in calls
            )

        return served


PROCESS = {"gunicorn master": "web", "job worker": "worker", "indexer": "indexer"}


# ---------------------------------------------------------------- the drill's view of the data


class View:
    """Reads the database, the storage and the index directly (not through the app)."""

    def __init__(self, overrides: dict) -> None:
        self.app = create_app(overrides)
        self.deps = get_deps(self.app)
        self.settings = self.deps.settings

    def close(self) -> None:
        self.deps.db.dispose()

    def finished(self) -> int:
        with self.deps.db.read() as s:
            return s.scalar(select(func.count()).where(Asset.status != PROCESSING)) or 0

    def processing(self) -> int:
        with self.deps.db.read() as s:
            return s.scalar(select(func.count()).where(Asset.status == PROCESSING)) or 0

    def position(self) -> int | None:
        for _ in range(5):  # whoosh's files change under a reader while the indexer commits
            try:
                return read_state(SearchIndex.open_or_create(self.settings.INDEX_DIR))[0]
            except (OSError, ValueError):
                time.sleep(0.1)
        return None

    def head(self) -> int:
        with self.deps.db.read() as s:
            return log_head(s)

    def materials(self) -> list[Material]:
        with self.deps.db.read() as s:
            found = s.scalars(select(Material).where(Material.product_url.startswith(SHOP)))
            out = list(found)
            for m in out:  # loaded while the session is open
                _ = [(a.key, a.status, a.position) for a in m.assets], m.tags
            return out

    def original(self, key: str) -> str | None:
        try:
            return hashlib.sha256(self.deps.storage.get_bytes(key)).hexdigest()
        except Exception:
            return None

    def orphans(self, tmpdir: Path) -> dict[str, int]:
        with self.deps.db.read() as s:
            known = set(s.scalars(select(Asset.key)))
            known |= set(s.scalars(select(Rendition.key)))
            known |= set(s.scalars(select(Card.key)))
        stored = [k for k, _ in self.deps.storage.list("") if k not in known]
        out = {"stored objects": len(stored)}
        root = getattr(self.deps.storage, "root", None)
        if root is not None:  # a write cut short leaves its temp file beside the object
            out["half-written files"] = sum(1 for _ in Path(root).rglob(".tmp-*"))
        out["spool/temp files"] = _spool_files(tmpdir, Path(self.settings.DATA_DIR))
        return out


def _spool_files(tmpdir: Path, data_dir: Path) -> int:
    """Upload spool files and other temporaries of ours, in the processes' temp directory and
    under the data directory's spool; nothing is in flight when this is asked."""
    count = 0
    for where in (tmpdir, data_dir / "spool"):
        if where.is_dir():
            count += sum(1 for p in where.iterdir() if p.name.startswith(SPOOL_PREFIXES))
    return count


# ---------------------------------------------------------------- drain and account


def wait(ok: Callable[[], bool], bound: float) -> float | None:
    """Seconds until ok(), or None past the bound."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < bound:
        with contextlib.suppress(Exception):
            if ok():
                return time.monotonic() - t0
        time.sleep(0.5)
    return None


def drain(view: View, bound: float, cap: float = 1800.0) -> float | None:
    """Seconds until no asset is processing; None when nothing finished for `bound` seconds
    (stuck, not merely behind: a long run leaves a backlog the worker is still working off),
    or past `cap`."""
    t0 = last = time.monotonic()
    finished = view.finished()
    while time.monotonic() - t0 < cap:
        if view.processing() == 0:
            return time.monotonic() - t0
        now_finished = view.finished()
        if now_finished > finished:
            finished, last = now_finished, time.monotonic()
        elif time.monotonic() - last > bound:
            return None
        time.sleep(0.5)
    return None


def drain_bound(settings) -> float:  # noqa: ANN001
    """What the leases promise: a lost enqueue is found within grace + reap, a dead worker's
    job within lease + reap; then the work itself and a margin."""
    lease = max(settings.ENQUEUE_GRACE_SECONDS, settings.JOB_LEASE_SECONDS)
    return lease + 2 * settings.REAP_SECONDS + 60


def retry_failed(client: Client, view: View) -> list[int]:
    failed = [m.id for m in view.materials() if m.status == FAILED]
    for mid in failed:
        client.call("POST", f"/api/v1/materials/{mid}/retry", b"", {})
    return failed


def searchable(client: Client) -> set[int]:
    found: set[int] = set()
    page = 1
    while True:
        path = f"/api/v1/search?tag={quote(TAG)}&sort=newest&per_page=50&page={page}"
        answer = client.call("GET", path, b"", {})
        if answer is None or answer[0] != 200:
            return found
        items = json.loads(answer[1])["items"]
        found |= {i["id"] for i in items}
        if len(items) < 50 or page * 50 >= 10_000:
            return found
        page += 1


@dataclass
class Account:
    rows: list[tuple[str, str, bool]] = field(default_factory=list)  # what, value, target met

    def add(self, what: str, value: object, met: bool = True) -> None:
        self.rows.append((what, str(value), met))

    @property
    def ok(self) -> bool:
        return all(met for _, _, met in self.rows)


def account(record: Record, view: View, stuck: int, failed: dict, found: set[int]) -> Account:
    acked = [u for u in record.uploads if u.material_id is not None]
    by_url: dict[str, list[Material]] = {}
    for m in view.materials():
        by_url.setdefault(m.product_url, []).append(m)
    present = [u for u in acked if any(m.id == u.material_id for m in by_url.get(SHOP + u.key, []))]
    acc = Account()
    acc.add("uploads sent", len(record.uploads))
    acc.add("acknowledged (2xx)", len(acked))
    acc.add(
        "not acknowledged (client gave up)",
        sum(1 for u in record.uploads if u.material_id is None and not u.refused),
        True,
    )
    acc.add(
        "refused (4xx to a valid request)",
        sum(1 for u in record.uploads if u.refused),
        not any(u.refused for u in record.uploads),
    )
    acc.add("present", len(present))
    acc.add("lost", len(acked) - len(present), len(acked) == len(present))
    dup = sum(1 for ms in by_url.values() if len(ms) > 1)
    acc.add("duplicated (two materials for one key)", dup, dup == 0)
    corrupt = _corrupt(present, by_url, view)
    acc.add("corrupt (stored original's sha256 != sent)", corrupt, corrupt == 0)
    lost_edits = _lost_edits(present, by_url)
    acc.add("edits or publishes lost", lost_edits, lost_edits == 0)
    acc.add("stuck (processing past the drain)", stuck, stuck == 0)
    acc.add(
        "failed after the drain", f"{failed['failed']} ({failed['retryable']} marked retryable)"
    )
    acc.add("failed that a retry fixed", failed["fixed"], failed["fixed"] == 0)
    live = {u.material_id for u in present if u.published}
    acc.add(
        "searchable (published, found by /api/v1/search)",
        f"{len(live & found)} of {len(live)}",
        live <= found,
    )
    return acc


def _corrupt(present: list[Upload], by_url: dict, view: View) -> int:
    bad = 0
    for up in present:
        (m,) = [m for m in by_url[SHOP + up.key] if m.id == up.material_id]
        assets = sorted(m.assets, key=lambda a: a.position)
        stored = [view.original(a.key) for a in assets]
        bad += stored != up.sha256
    return bad


def _lost_edits(present: list[Upload], by_url: dict) -> int:
    lost = 0
    for up in present:
        (m,) = [m for m in by_url[SHOP + up.key] if m.id == up.material_id]
        if up.edited and (m.title != up.edited["title"] or m.tags != up.edited["tags"]):
            lost += 1
        if up.published and m.state != "published":
            lost += 1
    return lost


# ---------------------------------------------------------------- the run


@dataclass
class Run:
    args: argparse.Namespace
    tmp: Path
    backend: Embedded | Scale
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0


def drill_env(run: Run, urls: dict[str, str]) -> dict[str, str]:
    tmpdir = run.tmp / "tmp"
    tmpdir.mkdir()
    env = {
        **os.environ,
        **urls,
        "SUCAI_DATA_DIR": str(run.tmp / "var"),
        "SUCAI_PUBLIC_URL": f"http://127.0.0.1:{run.port}",
        "SUCAI_SECRET_KEY": "fault-drill",
        "SUCAI_UPLOAD_RATE_LIMIT": "",  # the drill's one ops user uploads thousands
        "TMPDIR": str(tmpdir),  # so the spool files counted are this run's own
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return env


def settings_overrides(env: dict[str, str]) -> dict[str, str]:
    names = ("DATA_DIR", "DATABASE_URL", "STORAGE_URL", "QUEUE_URL", "QUEUE_NAME", "SECRET_KEY")
    return {n: env[f"SUCAI_{n}"] for n in names if f"SUCAI_{n}" in env}


def render_shape(run: Run) -> tuple[prod.Shape, dict[str, str]]:
    shape = prod.shape_for(load_settings(settings_overrides(run.env)), run.port)
    prod.write(shape)
    (shape.run_dir / "Procfile").write_text(prod.procfile(shape))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(run.env)
    try:
        env = prod.environment(shape, run.port)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return shape, env


def drill(run: Run) -> int:
    args, rng = run.args, random.Random(run.args.seed)  # noqa: S311
    run.port = free_port()
    run.env = drill_env(run, run.backend.start())
    _flask(run.env, "release")
    ops = json.loads(_flask(run.env, "users", "create", "drill-ops", "--role", "ops"))
    # jieba keeps its dictionary cache in the temp directory, as on any host after the first
    # boot; without it every process started here would build it, at once, on two cores.
    warm = "from search.analysis import warm_up; warm_up()"
    subprocess.run([sys.executable, "-c", warm], cwd=ROOT, env=run.env, check=True, timeout=120)
    shape, env = render_shape(run)
    logs = run.tmp / "logs"
    logs.mkdir()
    sup = Supervisor(shape.run_dir / "Procfile", env, logs)
    view = View(settings_overrides(run.env))
    try:
        for name in sup.commands:
            sup.start(name)
        boot = wait(lambda: _healthy(run.port), 120)
        if boot is None:
            raise RuntimeError("the production shape did not come up: see " + str(logs))
        return _faults_and_account(run, sup, view, ops["token"], rng, boot)
    finally:
        sup.stop_all()
        view.close()
        if args.keep:
            print(f"logs kept in {logs}")


def _healthy(port: int) -> bool:
    status, _, body = get(port, "/healthz")
    return status == 200 and json.loads(body)["checks"]["search"]["ok"]


def _faults_and_account(run: Run, sup, view: View, token: str, rng, boot: float) -> int:  # noqa: ANN001
    args = run.args
    record = Record()
    print(
        f"drill: {run.backend.name} backend, up in {boot:.1f} s; {args.uploads} uploads from "
        f"{args.clients} clients over {args.seconds:.0f} s, {args.kills} SIGKILLs "
        f"(seed {args.seed})",
        flush=True,
    )
    t0 = time.monotonic()
    chaos = Chaos(sup, run.backend, view, record, rng)
    chaos_thread = threading.Thread(target=chaos.run, args=(args.kills, args.seconds))
    chaos_thread.start()
    run_clients(record, (run.port, token), args.uploads, args.clients, args.seconds, rng)
    chaos_thread.join()
    load_s = time.monotonic() - t0
    client = Client(run.port, token, record, threading.Event())
    bound = drain_bound(view.settings)
    drained = drain(view, bound)
    stuck = view.processing()
    failed_before = [m for m in view.materials() if m.status == FAILED]
    retryable = sum(
        1 for m in failed_before for a in m.assets if a.status == FAILED and a.retryable
    )
    retried = retry_failed(client, view)
    drain(view, bound)
    fixed = sum(1 for m in view.materials() if m.id in retried and m.status != FAILED)
    failed = {"failed": len(failed_before), "retryable": retryable, "fixed": fixed}
    head = view.head()
    indexed = wait(lambda: (view.position() or 0) >= head, 120)
    found = searchable(client)
    for w in chaos.watchers:
        w.join(0)
    before = view.orphans(Path(run.env["TMPDIR"]))
    sweep_env = {**run.env, "SUCAI_ORPHAN_GRACE_SECONDS": "0"}
    swept = _flask(sweep_env, "sweep").strip()
    after = view.orphans(Path(run.env["TMPDIR"]))
    acc = account(record, view, stuck, failed, found)
    for what, n in before.items():
        acc.add(
            f"orphan {what}: before / after the sweep", f"{n} / {after[what]}", after[what] == 0
        )
    _report(run, acc, chaos.kills, record, load_s, drained, bound, indexed, swept)
    return 0 if acc.ok else 1


def _report(run, acc, kills, record, load_s, drained, bound, indexed, swept) -> None:  # noqa: ANN001
    drain = (
        f"{drained:.1f} s" if drained is not None else f"NOT (nothing finished for {bound:.0f} s)"
    )
    index = f"{indexed:.1f} s" if indexed is not None else "NOT within 120 s"
    print(f"\nload phase {load_s:.0f} s; drained in {drain}; index at the log head in {index}")
    print(f"flask sweep (grace 0): {swept}")
    retried = ", ".join(f"{k} {v}" for k, v in sorted(record.errors.items())) or "none"
    print(f"attempts the clients retried: {retried}")
    _table(
        ["", run.backend.name, "target"], [[w, v, "met" if m else "MISSED"] for w, v, m in acc.rows]
    )
    rows = []
    for target in sorted({k.target for k in kills}):
        mine = [k for k in kills if k.target == target]
        times = [k.recovered for k in mine if k.recovered is not None]
        rec = f"{statistics.median(times):.1f} / {max(times):.1f}" if times else "-"
        pause = statistics.median(k.pause for k in mine)
        rows.append([target, str(len(mine)), f"{pause:.1f}", rec, str(len(mine) - len(times))])
    head = ["SIGKILL", "n", "down s (median)", "recovered after s (median / max)", "not recovered"]
    _table(head, rows)
    print("\n" + ("all targets met" if acc.ok else "TARGETS MISSED"), flush=True)


def _table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print()
    for row in [head, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("embedded", "scale"), default="embedded")
    parser.add_argument("--uploads", type=int, default=150)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="the fault window")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    tmp = Path(tempfile.mkdtemp(prefix="sucai-drill-"))
    backend = Scale(tmp) if args.backend == "scale" else Embedded(tmp)
    try:
        code = drill(Run(args, tmp, backend))
    finally:
        backend.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
