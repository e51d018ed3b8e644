"""The change-log follower, on both backends: every kind of change reaches the index, applying
rows again changes nothing, the position is committed with the documents, and a missing,
corrupt or drifted index is repaired on start."""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from materials.catalogue import lifecycle as service
from materials.indexing.follower import Follower, log_head
from materials.models import PROCESSING, ChangeLog, Material
from materials.platform.deps import get_deps
from tests.materials.factory import db_versions, index_position, index_versions, make_material


@pytest.fixture
def follower(app):
    f = Follower.for_deps(get_deps(app), poll=0.05)
    yield f
    if f.index is not None:
        f.index.close()


def now() -> datetime:
    return datetime.now(UTC)


def found(f: Follower, q: str = "", **options) -> list:
    return [h.id for h in f.index.search(q, now=now(), **options).hits]


def head(app) -> int:
    with get_deps(app).db.read() as s:
        return log_head(s)


def test_every_change_reaches_the_index(app, follower):
    deps = get_deps(app)
    draft = make_material(app, "草稿面膜", publish=False)
    live = make_material(app, "夏季清爽防晒霜", tags=("防晒",))
    unprocessed = make_material(app, "还在转码的视频", status=PROCESSING)
    follower.start()
    follower.catch_up()
    assert index_versions(follower.path) == {live: 1}

    service.update_material(deps, live, {"title": "新款防晒喷雾"})
    service.publish(deps, draft)
    follower.catch_up()
    assert index_versions(follower.path) == {live: 2, draft: 1}
    assert found(follower, "喷雾") == [live]
    assert found(follower, "清爽") == []

    service.unpublish(deps, live)
    follower.catch_up()
    assert index_versions(follower.path) == {draft: 1}
    assert unprocessed not in found(follower)


def test_window_is_indexed_but_filtered_when_queried(app, follower):
    past = make_material(
        app,
        "过季羽绒服",
        publish_at=now() - timedelta(days=2),
        take_down_at=now() - timedelta(days=1),
    )
    future = make_material(app, "明天上新连衣裙", publish_at=now() + timedelta(days=1))
    follower.start()
    follower.catch_up()
    # Both are live-able (published, ready): the window is the query's business, because it
    # opens and closes with no change-log row.
    assert index_versions(follower.path) == {past: 1, future: 1}
    assert found(follower) == []
    assert found(follower, "连衣裙") == []
    later = follower.index.search("连衣裙", now=now() + timedelta(days=2))
    assert [h.id for h in later.hits] == [future]


def test_applying_rows_again_changes_nothing(app, follower):
    deps = get_deps(app)
    ids = [make_material(app, f"防晒霜{i}号", tags=("防晒", f"t{i % 3}")) for i in range(6)]
    service.update_material(deps, ids[0], {"title": "防晒喷雾"})
    service.unpublish(deps, ids[1])
    follower.start()
    follower.catch_up()

    def snapshot():
        result = follower.index.search("防晒", now=now(), per_page=50)
        return index_versions(follower.path), [h.id for h in result.hits], result.facets

    before = snapshot()
    for _ in range(2):
        follower.rewind(0)
        follower.catch_up()
        assert snapshot() == before
    assert follower.index.doc_count() == len(before[0]) + 1  # + the position document


def test_position_is_committed_with_the_documents(app, follower):
    make_material(app, "保温杯")
    follower.start()
    follower.catch_up()
    assert index_position(follower.path) == head(app)

    again = Follower.for_deps(get_deps(app))
    again.start()
    assert again.position == head(app)
    assert again.step() == 0  # nothing to re-read: the recorded position covered it all
    again.index.close()


@pytest.mark.parametrize("damage", ["deleted", "garbage_everywhere", "garbage_segments"])
def test_an_unreadable_index_is_rebuilt_on_start(app, follower, damage):
    ids = [make_material(app, f"纯棉T恤{i}", tags=("男装",)) for i in range(5)]
    service.update_material(get_deps(app), ids[0], {"title": "纯棉卫衣"})
    follower.start()
    follower.catch_up()
    follower.index.close()
    if damage == "deleted":
        shutil.rmtree(follower.path)
    else:
        for path in follower.path.iterdir():
            if damage == "garbage_everywhere" or path.suffix == ".seg":
                path.write_bytes(b"\x00garbage\xff" * 100)

    again = Follower.for_deps(get_deps(app))
    again.start()
    again.catch_up()
    assert index_versions(again.path) == db_versions(app) == {**dict.fromkeys(ids, 1), ids[0]: 2}
    assert [h.id for h in again.index.search("卫衣", now=now()).hits] == [ids[0]]
    again.index.close()


def test_start_reconciles_a_drifted_index(app, follower):
    deps = get_deps(app)
    a, b, c = (make_material(app, f"坚果礼盒{i}") for i in range(3))
    follower.start()
    follower.catch_up()
    # Drift that no row explains: a stray document, a missing one, a stale version.
    follower.index.upsert([{"id": 99999, "title": "幽灵", "version": 1}])
    follower.index.delete([b])
    with deps.db.transaction() as s:  # a change made behind the log's back
        s.execute(update(Material).where(Material.id == c).values(version=7, title="坚果大礼包"))
    follower.index.close()

    again = Follower.for_deps(get_deps(app))
    again.start()
    assert index_versions(again.path) == {a: 1, b: 1, c: 7}
    assert [h.id for h in again.index.search("大礼包", now=now()).hits] == [c]
    again.index.close()


def _log_row(app, material_id: int, seq: int, title: str) -> None:
    """A change committed with an explicit seq, as a slow concurrent transaction leaves it."""
    with get_deps(app).db.transaction() as s:
        s.execute(update(Material).where(Material.id == material_id).values(title=title))
        s.add(ChangeLog(seq=seq, material_id=material_id, version=1, op="edit"))


def test_a_gap_holds_the_position_until_filled_or_expired(app):
    a, b, c = (make_material(app, f"蜂蜜{i}") for i in range(3))
    follower = Follower.for_deps(get_deps(app), gap_grace=0.5)
    follower.start()
    follower.catch_up()
    h = head(app)

    _log_row(app, a, h + 2, "槐花蜂蜜")  # h + 1 is still "in flight"
    assert follower.step() == 1
    assert found(follower, "槐花") == [a]  # applied at once: freshness does not wait
    assert (follower.position, index_position(follower.path)) == (h, h)

    _log_row(app, b, h + 1, "枣花蜂蜜")  # the late transaction commits
    assert follower.step() == 1
    assert found(follower, "枣花") == [b]
    assert index_position(follower.path) == h + 2

    _log_row(app, c, h + 4, "椴树蜂蜜")  # h + 3 rolled back: never appears
    follower.step()
    assert follower.position == h + 2
    time.sleep(0.6)
    follower.step()
    assert index_position(follower.path) == h + 4
    follower.index.close()


def test_out_of_order_commits_on_postgresql(app, backend):
    if backend != "scale":
        pytest.skip("SQLite serialises writers: its seqs commit in order")
    deps = get_deps(app)
    slow, fast = make_material(app, "慢事务口红"), make_material(app, "快事务眼霜")
    follower = Follower.for_deps(get_deps(app))
    follower.start()
    follower.catch_up()
    with deps.db.transaction() as s:
        material = service.load_material(s, slow, lock=True)
        material.title, material.version = "慢事务唇釉", material.version + 1
        service.log_change(s, material, "edit")
        s.flush()  # takes the lower seq, commits last
        service.update_material(deps, fast, {"title": "快事务面霜"})
        follower.catch_up()
        assert found(follower, "面霜") == [fast]
        assert follower.gaps and follower.position < head(app)
    follower.catch_up()
    assert found(follower, "唇釉") == [slow]
    assert not follower.gaps and index_position(follower.path) == head(app)
    follower.index.close()


def test_run_follows_until_stopped(app):
    follower = Follower.for_deps(get_deps(app), poll=0.02)
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop,))
    thread.start()
    try:
        material = make_material(app, "空气炸锅")
        deadline = time.monotonic() + 20
        while index_versions(follower.path).get(material) != 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_cli_rebuild_and_status(app):
    ids = [make_material(app, f"扫地机器人{i}") for i in range(3)]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "indexed 3 materials" in result.output
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["documents"] == 3 and status["stale"] == 0
    assert status["log_head"] == head(app)
    assert index_versions(get_deps(app).settings.INDEX_DIR) == dict.fromkeys(ids, 1)
