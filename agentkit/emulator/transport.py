"""In-process httpx transports serving the emulator's (or a script's) replies.

One transport object implements both ``httpx.BaseTransport`` and ``httpx.AsyncBaseTransport``,
so a sync ``Client`` and its ``AsyncClient`` twin can share it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx

from agentkit.emulator.core import Emulator, emulator_from
from agentkit.emulator.wire import Reply

__all__ = ["EmulatorTransport", "ReplyTransport"]


def _headers(request: httpx.Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


class _SyncChunks(httpx.SyncByteStream):
    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self._reply = reply
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        reply = self._reply
        for index, chunk in enumerate(reply.chunks or ()):
            if index and reply.chunk_delay:
                time.sleep(reply.chunk_delay)
            yield chunk
        if reply.cut:
            raise _cut(self._request)


def _cut(request: httpx.Request) -> httpx.RemoteProtocolError:
    # What httpx raises when a server closes a streamed body early.
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (emulated stream cut)",
        request=request,
    )


class _AsyncChunks(httpx.AsyncByteStream):
    def __init__(self, reply: Reply, request: httpx.Request) -> None:
        self._reply = reply
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reply = self._reply
        for index, chunk in enumerate(reply.chunks or ()):
            if index and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield chunk
        if reply.cut:
            raise _cut(self._request)


class ReplyTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Base of the in-process transports: subclasses turn a request into a :class:`Reply`.

    Latency is slept (``time.sleep`` in sync clients, ``asyncio.sleep`` in async ones); a
    dropped connection or a cut stream raises ``httpx.RemoteProtocolError`` just as a real
    connection would.
    """

    def reply(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request (override)."""
        raise NotImplementedError

    def _response(self, request: httpx.Request, reply: Reply, asynchronous: bool) -> httpx.Response:
        if reply.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response (emulated drop).",
                request=request,
            )
        stream: Any
        if reply.chunks is not None or reply.cut:
            if reply.chunks is None:
                reply.chunks = [reply.body] if reply.body else []
            stream = _AsyncChunks(reply, request) if asynchronous else _SyncChunks(reply, request)
            return httpx.Response(
                reply.status, headers=reply.headers, stream=stream, request=request
            )
        headers = reply.headers
        if not any(name.lower() == "content-length" for name, _ in headers):
            # As the ASGI shell sends it: httpx gives an empty body no length, which makes
            # it look close-delimited (a cut connection) instead of a complete empty body.
            headers = [*headers, ("content-length", str(len(reply.body)))]
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` for a sync ``httpx.Client``."""
        body = request.read()
        reply = self.reply(request.method, request.url.path, _headers(request), body)
        return self._send_sync(request, reply)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` for an ``httpx.AsyncClient``."""
        body = await request.aread()
        reply = self.reply(request.method, request.url.path, _headers(request), body)
        return await self._send_async(request, reply)

    def _send_sync(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        if reply.delay:
            time.sleep(reply.delay)
        return self._response(request, reply, asynchronous=False)

    async def _send_async(self, request: httpx.Request, reply: Reply) -> httpx.Response:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return self._response(request, reply, asynchronous=True)

    def close(self) -> None:
        """Nothing to release; present for ``httpx.BaseTransport``."""

    async def aclose(self) -> None:
        """Nothing to release; present for ``httpx.AsyncBaseTransport``."""


class EmulatorTransport(ReplyTransport):
    """Serve an :class:`Emulator` in-process to ``httpx.Client`` and ``httpx.AsyncClient``.

    Args:
        emulator: The emulator to serve; by default a new one built from ``options``.
        **options: Keyword arguments for :class:`Emulator` (``api_keys=``, ``scenarios=``,
            ``faults=``, ``quirks=``...) when ``emulator`` is not given.

    Attributes:
        requests: Every chat request body it served, decoded to a dict, in order (the
            emulator's :attr:`Emulator.requests`), so a test can assert on what was sent:
            ``transport.requests[-1]["messages"][-1]["role"] == "tool"``.

    Example:
        >>> import httpx
        >>> http = httpx.Client(transport=EmulatorTransport(), base_url="http://emulator/v1")
        >>> http.get("/models", headers={"Authorization": "Bearer k"}).status_code
        200
    """

    def __init__(self, emulator: Emulator | None = None, **options: Any) -> None:
        self.emulator = emulator_from(emulator, options, "EmulatorTransport")

    def __repr__(self) -> str:
        return f"EmulatorTransport({self.emulator!r})"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The chat request bodies served so far, decoded, in order."""
        return self.emulator.requests

    def reply(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer through the emulator's pure core."""
        return self.emulator.handle(method, path, headers, body)
