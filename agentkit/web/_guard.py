"""ASGI middleware that refuses foreign callers before any endpoint runs.

``OriginGuard`` answers 403 to a request whose ``Origin`` is neither the server's own
nor allowed; ``HostGuard`` answers 400 to a ``Host`` not allowed (Starlette's
``TrustedHostMiddleware`` decides; only its plain-text refusal is reworded as the API's
JSON error).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentkit.web._origins import host_patterns, normal_origin, origin_set, same_origin

__all__ = ["HostGuard", "OriginGuard", "error_response"]

_ADMITTED = "agentkit.host_admitted"


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The API's error answer: ``{"error": {"code", "message"}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class OriginGuard:
    """Refuse (403 ``forbidden_origin``) a request from another site's page.

    Browsers send ``Origin`` on every cross-origin request and on same-origin POSTs, and
    a page cannot forge it; a request without one (curl, a server) is let through.
    """

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = origin_set(allowed_origins)

    def _admits(self, origin: str, host: str | None) -> bool:
        return (
            "*" in self.allowed
            or normal_origin(origin) in self.allowed
            or same_origin(origin, host)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 403 for a foreign ``Origin``."""
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._admits(origin, headers.get("host")):
                refusal = error_response(
                    403,
                    "forbidden_origin",
                    f"requests from the origin {origin[:200]!r} are not allowed; serve the "
                    "page from this server or add its origin to chat_app(allowed_origins=...)",
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HostGuard:
    """Refuse (400 ``bad_host``) a ``Host`` header not in ``allowed_hosts``: the defence
    against DNS rebinding, where a foreign name resolves to this server's address."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self.trusted = TrustedHostMiddleware(
            self._admit, allowed_hosts=host_patterns(allowed_hosts), www_redirect=False
        )

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_ADMITTED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let TrustedHostMiddleware decide; send its refusal as the API's JSON error."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = False

        async def reword(message: Message) -> None:
            nonlocal refused
            if scope.get(_ADMITTED):
                await send(message)
            elif not refused:  # the middleware's own plain-text answer: replaced, once
                refused = True
                host = Headers(scope=scope).get("host", "")
                await error_response(
                    400, "bad_host", f"the Host header {host[:200]!r} is not served here"
                )(scope, receive, send)

        await self.trusted(scope, receive, reword)
