"""The run command's demo data: real materials, published, with stats to show; idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from materials.models import Conversion, Forward, Material
from materials.platform.deps import get_deps


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_demo_loads_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert '"referral_code"' in first.output and "orders over 14 days" in first.output
    assert "2 copy variants" in first.output
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "nothing added" in again.output
    with get_deps(app).db.read() as s:
        materials = s.scalars(select(Material)).all()
        assert len(materials) == 6 and all(m.state == "published" for m in materials)
        forwards = s.scalar(select(func.count()).select_from(Forward))
        assert sum(m.forward_count for m in materials) == forwards > 0
        assert s.scalar(select(func.count()).select_from(Conversion)) > 0
