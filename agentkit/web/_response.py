"""A server-sent-event response that stops the run as soon as the client goes away.

Starlette's ``StreamingResponse`` notices a disconnect only when a write fails (ASGI 2.4)
and a run can think for many seconds between writes; this response listens for
``http.disconnect`` the whole time and cancels the producer at once, so the run is
cancelled cleanly (its stream closed, the session released) instead of running on for
nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["EventStreamResponse"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class EventStreamResponse:
    """An ASGI response writing ``frames`` as ``text/event-stream``.

    Args:
        frames: The SSE text to send, frame by frame.
        headers: Extra response headers.
    """

    def __init__(self, frames: AsyncIterator[str], headers: Mapping[str, str]) -> None:
        self.frames = frames
        self.headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache, no-transform"),
            (b"x-accel-buffering", b"no"),  # proxies such as nginx must not hold frames back
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
        ]

    async def _produce(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        try:
            async for frame in self.frames:
                await send(
                    {"type": "http.response.body", "body": frame.encode(), "more_body": True}
                )
        finally:
            closer = getattr(self.frames, "aclose", None)
            if closer is not None:
                await closer()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream until the frames end or the client disconnects, whichever comes first."""
        producer = asyncio.ensure_future(self._produce(send))
        watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            producer.cancel()  # a no-op when it finished; else the client left or we were
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            # After a disconnect a failed write (OSError) is moot; other errors propagate.
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await producer


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
