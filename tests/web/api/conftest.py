"""Fixtures of the API tests."""

from __future__ import annotations

import pytest

from materials.indexing.follower import Follower
from materials.platform.deps import get_deps


@pytest.fixture
def follower(app):
    """This node's indexer, started (its index built); the test steps it with catch_up()."""
    f = Follower.for_deps(get_deps(app))
    f.start()
    yield f
    f.index.close()
