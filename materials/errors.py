"""Errors the domain raises; the web layer turns each into an application/problem+json answer."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """A request the service refuses, with the HTTP status and the rule it broke."""

    status = 400
    title = "Bad request"

    def __init__(
        self, detail: str, *, rule: str = "invalid", status: int | None = None, **where: Any
    ):
        super().__init__(detail)
        self.detail = detail
        self.rule = rule
        if status is not None:
            self.status = status
        # field=…, file=…: where the problem is, for the client to point at.
        self.where = {k: v for k, v in where.items() if v is not None}

    def to_json(self) -> dict[str, Any]:
        return {
            "type": f"https://sucai.dev/problems/{self.rule}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "rule": self.rule,
            **self.where,
        }


class Invalid(Problem):
    status = 422
    title = "Invalid input"


class TooLarge(Problem):
    status = 413
    title = "Too large"


class UnsupportedMedia(Problem):
    status = 415
    title = "Unsupported media type"


class NotFound(Problem):
    status = 404
    title = "Not found"


class Conflict(Problem):
    status = 409
    title = "Conflict"


class Unauthorized(Problem):
    status = 401
    title = "Unauthorized"


class Forbidden(Problem):
    status = 403
    title = "Forbidden"


class TooMany(Problem):
    """A quota used up: the answer carries Retry-After (seconds until it renews)."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **kw: Any):
        super().__init__(detail, **kw)
        self.retry_after = max(1, retry_after)
