"""The migrations build exactly the schema the models describe, on both backends (a model change
without its migration fails here)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from materials.models import Base
from materials.platform.deps import get_deps


def test_the_migrated_schema_is_the_models(app):
    with get_deps(app).db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
