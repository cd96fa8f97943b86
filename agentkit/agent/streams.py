"""The objects ``Agent.stream`` and ``Agent.stream_sync`` return.

Each is an iterator of the run's events and a context manager that closes the run (and its
open response) when the block ends; handing out ``RunFinished`` closes it too. The async
one also closes itself when it has not been read for ``idle_timeout`` seconds, so a consumer
that breaks out of the loop but keeps the object cannot hold a connection and a concurrency
slot for ever.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from agentkit.errors import UserError
from agentkit.events import RunFinished, StreamEvent

if TYPE_CHECKING:
    import asyncio

__all__ = ["AgentStream", "SyncAgentStream"]

IDLE_TIMEOUT = 300.0


class AgentStream(AsyncIterator[StreamEvent]):
    """The events of a streamed run: ``async for`` them, ideally inside ``async with``.

    Attributes:
        idle_timeout: Seconds the stream may go unread before it closes itself.
    """

    def __init__(
        self, events: AsyncGenerator[StreamEvent, None], idle_timeout: float = IDLE_TIMEOUT
    ) -> None:
        self._events = events
        self.idle_timeout = idle_timeout
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False
        # The task waiting in __anext__ (the stream is not idle then), and what an aclose()
        # from another task waits on meanwhile: a running generator can't be closed.
        self._reader: asyncio.Task[object] | None = None
        self._stopped: asyncio.Event | None = None

    def __aiter__(self) -> AgentStream:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._expired:
            raise UserError(
                f"This stream was closed after {self.idle_timeout} s without being read; "
                "read it to the end or use `async with agent.stream(...) as events:`"
            )
        import asyncio  # loaded by now; this module is also the sync streams' (agentkit._aio)

        loop = asyncio.get_running_loop()
        self._reader = asyncio.current_task()
        try:
            event = await self._events.__anext__()
        except BaseException:
            self._cancel_timer()
            if self._stopped is not None:  # the run is over: so is a waiting aclose()
                self._stopped.set()
            raise
        finally:
            self._reader = None
        if isinstance(event, RunFinished) or self._stopped is not None:
            # The run is over (close it now, as `run` does, so that a loop left at its
            # last event does not keep it, and a session's lease, until the idle
            # timeout), or another task asked to stop it while this read was in flight.
            await self.aclose()
            if not isinstance(event, RunFinished):
                raise StopAsyncIteration
            return event
        self._last_read = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self.idle_timeout, self._check_idle, loop)
        return event

    def _check_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        # A slow step (a long tool, a model slow to answer) keeps the consumer waiting for
        # the next event: that time is not idle, and the generator, running, can't be closed.
        idle = 0.0 if self._reader is not None else loop.time() - self._last_read
        if idle < self.idle_timeout:
            self._timer = loop.call_later(self.idle_timeout - idle, self._check_idle, loop)
            return
        self._timer = None
        self._expired = True
        loop.create_task(self._events.aclose())

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def aclose(self) -> None:
        """Stop the run and close its open response (idempotent). Called from another
        task while one reads the stream (a Stop button), it stops the run at its next
        event, where that reader's loop ends, and returns once the run is closed."""
        import asyncio

        self._cancel_timer()
        reader = self._reader
        if reader is not None and reader is not asyncio.current_task():
            if self._stopped is None:
                self._stopped = asyncio.Event()
            await self._stopped.wait()
            return
        await self._events.aclose()
        if self._stopped is not None:
            self._stopped.set()

    async def __aenter__(self) -> AgentStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class SyncAgentStream(Iterator[StreamEvent]):
    """The events of a streamed sync run: iterate them, ideally inside ``with``."""

    def __init__(self, events: Generator[StreamEvent, None, None]) -> None:
        self._events = events
        # The thread in __next__, and whether another thread asked to stop meanwhile (a
        # running generator can't be closed): guarded by the lock, which closing holds.
        self._lock = threading.Lock()
        self._reader: int | None = None
        self._stop = False

    def __iter__(self) -> SyncAgentStream:
        return self

    def __next__(self) -> StreamEvent:
        with self._lock:
            self._reader = threading.get_ident()
        try:
            event = next(self._events)
        finally:
            with self._lock:
                self._reader = None
                stop = self._stop
        if isinstance(event, RunFinished) or stop:
            with self._lock:  # over: a held stream object must not keep the run open
                self._events.close()
            if not isinstance(event, RunFinished):
                raise StopIteration
        return event

    def close(self) -> None:
        """Stop the run and close its open response (idempotent). Called from another
        thread while one reads the stream, it stops the run at its next event, where that
        reader's loop ends."""
        with self._lock:
            if self._reader is not None and self._reader != threading.get_ident():
                self._stop = True
                return
            self._events.close()

    def __enter__(self) -> SyncAgentStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
