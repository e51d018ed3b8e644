"""Bearer tokens for the JSON API: `Authorization: Bearer <token>`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from materials.accounts import user_for_token
from materials.context import get_deps
from materials.errors import Forbidden, Unauthorized
from materials.models import User


def bearer_user() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        return None
    with get_deps().db.read() as s:
        user = user_for_token(s, token.strip())
        if user is not None:
            s.expunge(user)
        return user


def require_role(*roles: str) -> Callable:
    """The route needs a bearer token of a user holding one of `roles`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = bearer_user()
            if user is None:
                raise Unauthorized("a valid bearer token is required", rule="token")
            if user.role not in roles:
                raise Forbidden(
                    f"this needs the {' or '.join(roles)} role; you are {user.role}", rule="role"
                )
            g.user = user
            return view(*args, **kwargs)

        return wrapped

    return decorate
