"""The sync client's watchdog: one daemon thread that cuts a response's socket at its deadline.

A blocked read wakes when its socket is shut down; the send loop then sees ``Watch.fired``
(see ``_deadline``). Only the sync client loads this module.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable

import httpx

__all__ = ["Watch", "watch_response"]


class Watch:
    """One armed deadline: ``fired`` once its action ran; ``cancel()`` disarms it."""

    __slots__ = ("action", "cancelled", "fired")

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        """Disarm (the action will not run)."""
        self.cancelled = True


class _Watchdog:
    """A heap of deadlines served by one lazily started daemon thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._cond = threading.Condition()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, action: Callable[[], None]) -> Watch:
        watch = Watch(action)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._ids), watch))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="agentkit-deadline", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return watch

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                when, _, watch = self._heap[0]
                left = when - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(self._heap)
            if not watch.cancelled:
                watch.fired = True
                with contextlib.suppress(OSError):  # the socket may already be gone
                    watch.action()


_WATCHDOG = _Watchdog()


def _socket_of(response: httpx.Response) -> socket.socket | None:
    stream = response.extensions.get("network_stream")
    get = getattr(stream, "get_extra_info", None)
    if get is None:
        return None
    try:
        sock = get("socket")
    except Exception:
        return None
    return sock if isinstance(sock, socket.socket) else None


def watch_response(response: httpx.Response, deadline: float | None) -> Watch | None:
    """Arm the watchdog to cut ``response``'s connection at ``deadline`` (sync clients).

    Without a socket (an in-process transport) nothing is armed: the send loop's checks
    between reads and the clamped read timeout bound the attempt instead.
    """
    if deadline is None:
        return None
    sock = _socket_of(response)
    if sock is None:
        return None

    def cut() -> None:
        # The base class's shutdown: on a TLS socket this cuts the TCP stream under it
        # without touching the TLS object the reading thread is using.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)

    return _WATCHDOG.arm(deadline, cut)
