"""The clients an agent runs on: the one you gave it, or those it builds and owns.

A sync ``Client`` serves sync runs; async runs need an ``AsyncClient`` bound to their event
loop, so an agent built without one keeps one per loop. Each is closed inside its own loop
when that loop shuts its async generators down (``asyncio.run`` does), so serving every
request with ``asyncio.run(agent.run(...))`` leaks no socket and no pool.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from agentkit.client.base import is_async

if TYPE_CHECKING:
    import asyncio

    from agentkit.client import AsyncClient, Client

__all__ = ["ClientCache"]


class ClientCache:
    """An agent's clients (see the module docstring); thread-safe."""

    def __init__(self, client: Client | AsyncClient | None) -> None:
        self.given = client
        self._sync: Client | None = None if client is None or is_async(client) else client
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[AsyncClient, AsyncGenerator[None, None]]
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get_sync(self) -> Client:
        """The client of sync runs (the given one, its twin, or one from the environment)."""
        c = self._sync
        if c is None:
            with self._lock:
                if self._sync is None:
                    from agentkit.client import Client  # loaded by the first sync run

                    base = self.given
                    self._sync = base.to_sync() if is_async(base) else Client()
                c = self._sync
        return c

    async def get_async(self) -> AsyncClient:
        """The client of async runs on the running loop."""
        base = self.given
        if is_async(base):
            return base
        import asyncio  # loaded by now, as in every async method here (agentkit._aio)

        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            with self._lock:
                # Entries of loops closed without asyncio.run's clean-up are dropped here.
                for old in [lp for lp in self._async if lp.is_closed()]:
                    self._async.pop(old, None)
                entry = self._async.get(loop)
                if entry is None:
                    from agentkit.client import AsyncClient  # loaded by the first async run

                    client = AsyncClient() if base is None else base.to_async()
                    entry = (client, _closer(self._async, loop, client))
                    self._async[loop] = entry
            # Started on this loop, the closer is closed by `loop.shutdown_asyncgens()`.
            await entry[1].__anext__()
        return entry[0]

    def close(self) -> None:
        """Close the sync client built here (never the one given)."""
        if self._sync is not None and self._sync is not self.given:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the async client built for the running loop, and ``close()``."""
        import asyncio

        entry = self._async.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()
        self.close()


async def _closer(
    cache: weakref.WeakKeyDictionary[Any, Any], loop: asyncio.AbstractEventLoop, client: AsyncClient
) -> AsyncGenerator[None, None]:
    """Closes ``client`` when its loop shuts its async generators down (or on ``aclose``)."""
    try:
        while True:
            yield
    finally:
        cache.pop(loop, None)
        await client.aclose()
