"""Blueprints. Each face of the product is one module; register_blueprints wires them all."""

from __future__ import annotations

from flask import Flask

from materials.uploads import UploadRequest


def register_blueprints(app: Flask) -> None:
    from materials.web import api, errors, media_files

    app.request_class = UploadRequest
    errors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(media_files.bp)
