"""Cutting an attempt in flight at the request's deadline.

``clamp`` shortens each network operation's timeout to the time left. That bounds a
connect, a write and a server that sends nothing, but not a body dripped byte by byte (each
read restarts httpx's timer), so the attempt is also cut from outside:

- sync: the watchdog (``_watchdog``, one daemon thread for the process) shuts the
  response's socket down at the deadline, which wakes the blocked read; the send loop then
  sees ``fired``.
- async: ``Cutoff`` cancels the awaiting task at the deadline (``loop.call_at``) and turns
  that cancellation, and only that one, into ``APITimeoutError``.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from agentkit._aio import is_cancellation
from agentkit.client.retry import deadline_error

if TYPE_CHECKING:
    import asyncio

    from agentkit.client._watchdog import Watch

__all__ = ["Cutoff", "clamp", "expired"]


def clamp(timeout: httpx.Timeout, deadline: float | None, now: float) -> httpx.Timeout:
    """``timeout`` with no operation allowed past ``deadline``."""
    if deadline is None:
        return timeout
    left = max(deadline - now, 0.001)

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cut(timeout.connect),
        read=cut(timeout.read),
        write=cut(timeout.write),
        pool=cut(timeout.pool),
    )


def expired(deadline: float | None, watch: Watch | None = None) -> bool:
    """Whether the deadline has passed (or the watchdog already cut the response)."""
    if watch is not None and watch.fired:
        return True
    return deadline is not None and time.monotonic() >= deadline


class Cutoff:
    """``with Cutoff(deadline):`` around awaits: at the deadline they end in ``APITimeoutError``.

    A no-op when ``deadline`` is ``None``. A cancellation from anyone else passes through.
    """

    __slots__ = ("_deadline", "_fired", "_handle", "_task")

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._fired = False

    def __enter__(self) -> Cutoff:
        if self._deadline is None:
            return self
        import asyncio  # loaded by now; the sync client shares this module (agentkit._aio)

        self._task = asyncio.current_task()
        if self._task is None:
            return self
        loop = asyncio.get_running_loop()
        when = loop.time() + (self._deadline - time.monotonic())
        self._fired = False
        self._handle = loop.call_at(when, self._fire)
        return self

    def _fire(self) -> None:
        if self._task is not None:
            self._fired = True
            self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._fired and exc is not None and is_cancellation(exc):
            self._fired = False
            uncancel = getattr(self._task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            raise deadline_error() from None
