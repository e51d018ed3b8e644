"""Blueprints. Each face of the product is one module; register_blueprints wires them all."""

from __future__ import annotations

from flask import Flask

from materials.uploads import UploadRequest


def register_blueprints(app: Flask) -> None:
    from materials.web import (
        api,
        errors,
        media_files,
        pages_auth,
        pages_ops,
        pages_public,
        pages_seller,
        security,
    )
    from materials.web.search_api import bp as search_bp

    app.request_class = UploadRequest
    errors.init_app(app)
    security.init_app(app)  # session cookies, CSRF guard, security headers on every response
    app.register_blueprint(api.bp)
    app.register_blueprint(media_files.bp)
    app.register_blueprint(search_bp)
    pages_auth.init_app(app)
    app.register_blueprint(pages_ops.bp)
    app.register_blueprint(pages_seller.bp)
    app.register_blueprint(pages_public.bp)
    from materials.web import cards, referrals, share_api  # share cards, /r/, share API

    app.register_blueprint(cards.bp)
    app.register_blueprint(referrals.bp)
    app.register_blueprint(share_api.bp)
