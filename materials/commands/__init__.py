"""`flask --app app …` commands: the release step, users, the worker, the indexer, the sweep,
search maintenance and demo data."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from materials.commands import admin, search_index

    admin.init_app(app)
    search_index.init_app(app)
