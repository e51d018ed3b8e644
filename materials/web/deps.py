"""The current app's Deps, for views and hooks (the domain is handed Deps explicitly)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from materials.platform import deps as platform
from materials.platform.deps import Deps


def get_deps(app: Any = None) -> Deps:
    return platform.get_deps(app or current_app)
