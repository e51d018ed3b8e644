"""The web layer: it parses requests and presents answers; the domain below it decides.

`api/` is the JSON API under /api/v1, `pages/` the HTML faces (ops console, seller H5, public
share pages and embeds, sign-in), `serving/` the stable public URLs that answer with bytes or a
redirect (cards, media, referral links).
"""

from __future__ import annotations

from flask import Flask

from materials.web.uploads import UploadRequest


def register_blueprints(app: Flask) -> None:
    from materials.web import auth, compression, edges, errorhandlers, health, security
    from materials.web.api import copies as api_copies
    from materials.web.api import materials as api_materials
    from materials.web.api import search as api_search
    from materials.web.api import sharing as api_sharing
    from materials.web.api import spec as api_spec
    from materials.web.pages import auth as pages_auth
    from materials.web.pages import ops, public, seller
    from materials.web.serving import cards, media, redirects, wechat

    app.request_class = UploadRequest
    compression.init_app(app)  # first: its after_request then runs last
    errorhandlers.init_app(app)
    edges.init_app(app)
    security.init_app(app)  # session cookies, security headers, the rate limiter
    app.register_blueprint(api_materials.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(api_search.bp)
    pages_auth.init_app(app)
    app.register_blueprint(ops.bp)
    app.register_blueprint(seller.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(cards.bp)
    app.register_blueprint(redirects.bp)
    app.register_blueprint(wechat.bp)
    app.register_blueprint(api_sharing.bp)
    app.register_blueprint(api_copies.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api_spec.bp)
    auth.init_app(app)  # the CSRF guard on every route; per-user limits on the API's views
