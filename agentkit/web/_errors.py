"""``BadRequest``: the one exception the web layer turns into a 4xx JSON answer."""

from __future__ import annotations

__all__ = ["BadRequest"]


class BadRequest(Exception):
    """A request the API refuses; becomes a 4xx JSON answer ``{"error": {code, message}}``."""

    def __init__(self, message: str, *, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
