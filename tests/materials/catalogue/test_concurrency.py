"""Several processes writing at once, as several gunicorn workers do: nothing fails, nothing
is lost (SQLite write transactions begin IMMEDIATE; PostgreSQL locks the material row)."""

from __future__ import annotations

import multiprocessing as mp

from sqlalchemy import func, select

from materials.models import ChangeLog, Material
from materials.platform.deps import get_deps
from tests.helpers import post_upload

PROCS, EDITS = 4, 15


def _edit_many(settings: dict, material_id: int, proc: int, errors) -> None:
    from app import create_app
    from materials.catalogue import lifecycle as service

    deps = get_deps(create_app(settings))
    try:
        for i in range(EDITS):
            service.update_material(deps, material_id, {"title": f"p{proc}-{i}"})
            service.publish(deps, material_id)
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")
    finally:
        deps.db.dispose()


def test_parallel_writers_never_fail_or_lose(app, client, ops, settings, small_jpeg):
    resp = post_upload(client, ops["headers"], [(small_jpeg, "a.jpg")])
    material_id = resp.get_json()["id"]
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    procs = [
        ctx.Process(target=_edit_many, args=(settings, material_id, p, errors))
        for p in range(PROCS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert not failures, failures
    assert all(p.exitcode == 0 for p in procs)
    with get_deps(app).db.read() as s:
        version = s.scalar(select(Material.version).where(Material.id == material_id))
        logged = s.scalar(
            select(func.count()).select_from(ChangeLog).where(ChangeLog.material_id == material_id)
        )
    assert version == 1 + PROCS * EDITS  # every edit counted exactly once
    assert logged == 1 + 2 * PROCS * EDITS
