"""A background thread running an event loop of its own, for one MCP server connection.

The SDK's connections live in anyio task groups and cancel scopes, which must be entered
and exited in one task. So each server's connection is owned by one task on this loop, and
every caller — any thread, any event loop, sync or async — submits work to it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An event loop on a daemon thread; ``submit`` runs coroutines on it from anywhere."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            try:
                self.loop.run_forever()
            finally:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.close()

        # A daemon thread: a program that forgets close() still exits (the server then
        # sees its stdin close, or its HTTP session lapse).
        self.thread = threading.Thread(target=main, name=name, daemon=True)
        self.thread.start()
        ready.wait()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; a future usable from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop from another loop; cancelling this cancels it there."""
        return await asyncio.wrap_future(self.submit(coro))

    def in_thread(self) -> bool:
        """Whether the caller runs on this loop's thread (where blocking would deadlock)."""
        return threading.current_thread() is self.thread

    def stop(self) -> None:
        """Stop the loop and wait for the thread (callable from any other thread)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_thread():
            self.thread.join()
