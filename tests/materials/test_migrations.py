"""The migrations build exactly the schema the models describe, on both backends (a model change
without its migration fails here)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from materials.catalogue.products import product_key
from materials.models import Base
from materials.platform import migrate
from materials.platform.db import Database
from materials.platform.deps import get_deps
from tests.conftest import PG_BASE


def test_the_migrated_schema_is_the_models(app):
    with get_deps(app).db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.fixture
def fresh_db(backend, tmp_path):
    """An empty database of the backend, for a migration to run on step by step."""
    if backend == "embedded":
        db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield db
        db.dispose()
        return
    schema = f"fresh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{PG_BASE}?options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_0007_gives_existing_materials_their_product_keys(fresh_db):
    migrate.upgrade(fresh_db, "0004")
    now = datetime.now(UTC)
    rows = [
        (1, "https://Shop.example.com/item/1/"),
        (2, "https://shop.example.com/item/1?utm_source=wx"),
        (3, "https://shop.example.com/item/2"),
    ]
    with fresh_db.engine.begin() as conn:
        for material_id, url in rows:
            conn.execute(
                text(
                    "INSERT INTO materials (id, title, copy, price_cents, product_url, brand, "
                    "category, status, state, version, forward_count, created_at, updated_at) "
                    "VALUES (:id, 't', '', 100, :url, '', '', 'ready', 'draft', 1, 0, :t, :t)"
                ),
                {"id": material_id, "url": url, "t": now},
            )
    migrate.upgrade(fresh_db)
    with fresh_db.engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, product_key FROM materials")).all())
    assert keys[1] == keys[2] == product_key("https://shop.example.com/item/1", 0)
    assert keys[3] == product_key("https://shop.example.com/item/2", 3) != keys[1]
