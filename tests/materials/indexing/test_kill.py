"""The real indexer process, SIGKILLed in the middle of a burst of edits and restarted, loses
no update; SIGTERM stops it cleanly. Runs on both backends."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from materials.catalogue import lifecycle as service
from materials.indexing.follower import log_head
from materials.models import utcnow
from materials.platform.deps import get_deps
from tests.helpers import wait_until
from tests.materials.factory import (
    db_versions,
    index_position,
    index_versions,
    make_material,
    slow_edit,
)

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
MATERIALS = 40
CHANGES = 200
PACE = 0.03  # seconds between one writer's changes: the burst outlasts three restarts
WORDS = "防晒 保湿 连衣裙 坚果 面膜 口红 纸尿裤 咖啡 卫衣 收纳".split()

pytestmark = pytest.mark.slow


class Indexer:
    """`flask --app app indexer` as its own process, configured by environment only."""

    def __init__(self, settings: dict, log_path: Path) -> None:
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
        self.env |= {f"SUCAI_{k}": str(v) for k, v in settings.items()}
        self.env["SUCAI_INDEX_POLL_MS"] = "50"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [BIN / "flask", "--app", "app", "indexer"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    def cleanup(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.kill()


def burst(app, ids: list[int], seed: int, count: int, done: list[int]) -> None:
    """Changes as ops make them: edits (new version), some in slow transactions that commit
    after later ones, takedowns and republishes."""
    deps = get_deps(app)
    rng = random.Random(seed)
    for n in range(count):
        material, roll = rng.choice(ids), rng.random()
        title = f"{rng.choice(WORDS)}{rng.choice(WORDS)} {seed}-{n}"
        if roll < 0.2:
            slow_edit(app, material, title, rng.uniform(0.01, 0.05))
        elif roll < 0.8:
            service.update_material(deps, material, {"title": title, "price_cents": 100 + n})
        elif roll < 0.9:
            service.unpublish(deps, material)
        else:
            service.publish(deps, material, take_down_at=utcnow().replace(year=2099))
        done.append(n)
        time.sleep(PACE)


def test_sigkill_mid_burst_loses_no_update(app, settings, tmp_path):
    ids = [make_material(app, f"{WORDS[i % 10]}样品{i}") for i in range(MATERIALS)]
    indexer = Indexer(settings, tmp_path / "indexer.log")
    index_dir = get_deps(app).settings.INDEX_DIR
    try:
        indexer.start()
        wait_until(lambda: index_versions(index_dir) == db_versions(app), timeout=60)
        done: list[int] = []
        writers = [
            threading.Thread(target=burst, args=(app, ids, seed, CHANGES // 2, done))
            for seed in (1, 2)
        ]
        for w in writers:
            w.start()
        for at in (CHANGES // 4, CHANGES // 2, 3 * CHANGES // 4):
            # Kill once this process has committed part of the burst. When the burst is over
            # the last kill may land during start-up (reconcile), which must be safe too.
            seen = index_position(index_dir)

            def ready(at=at, seen=seen) -> bool:
                writing = any(w.is_alive() for w in writers)
                return (index_position(index_dir) > seen or not writing) and len(done) >= at

            wait_until(ready, timeout=60, interval=0.01)
            indexer.kill()
            indexer.start()
        for w in writers:
            w.join(120)
        assert len(done) == CHANGES

        def caught_up() -> bool:
            with get_deps(app).db.read() as s:
                head = log_head(s)
            return index_position(index_dir) == head and index_versions(index_dir) == (
                db_versions(app)
            )

        wait_until(caught_up, timeout=60, interval=0.2)
        assert indexer.terminate() == 0
    finally:
        indexer.cleanup()
    log = (tmp_path / "indexer.log").read_text()
    assert "indexer stopped" in log, log
