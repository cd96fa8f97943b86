"""The emulator's ASGI shell: carry a core :class:`~agentkit.emulator.wire.Reply` over ASGI.

It only does I/O: read the request, ask the pure handler, sleep for latency, send the body
or the stream chunks, and drop or cut the connection when a fault says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentkit.emulator.wire import Reply

__all__ = ["DropConnection", "Handler", "Receive", "Scope", "Send", "serve_asgi"]

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
Handler = Callable[[str, str, Mapping[str, str], bytes], Reply]
"""The pure core: ``(method, path, headers, body) -> Reply``."""


class DropConnection(Exception):
    """Raised inside the ASGI app to make the server close the connection mid-answer."""


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def serve_asgi(handle: Handler, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI scope with ``handle`` (``http``; ``lifespan`` is acknowledged)."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    body = await _read_body(receive)
    if body is None:
        return
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    reply = handle(scope["method"], scope["path"], headers, body)
    if reply.delay:
        await asyncio.sleep(reply.delay)
    if reply.drop:
        await _drop(send)
        return
    raw_headers = [(k.encode(), v.encode()) for k, v in reply.headers]
    if reply.chunks is None and not reply.cut:
        # the common case in one message, with a length: no chunked encoding
        raw_headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": reply.body, "more_body": False})
        return
    await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
    for index, chunk in enumerate(reply.chunks if reply.chunks is not None else [reply.body]):
        if index and reply.chunk_delay:
            await asyncio.sleep(reply.chunk_delay)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if reply.cut:
        if await _close_transport(send):
            return
        raise DropConnection("stream cut by an emulated fault")
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _close_transport(send: Send) -> bool:
    # ASGI has no "close the connection now". With uvicorn, ``send`` is a bound method of the
    # request cycle, which holds the socket transport; closing it makes the server see a
    # client that went away, so it neither answers 500 nor logs a traceback.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    for _ in range(3):  # let connection_lost run so the server marks the client gone
        await asyncio.sleep(0)
    return True


async def _drop(send: Send) -> None:
    if await _close_transport(send):
        return
    # Elsewhere: start a response and abort it, the closest ASGI allows.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise DropConnection("connection dropped by an emulated fault")
