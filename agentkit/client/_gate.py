"""A place in a client's request gate (``max_concurrent_requests``)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_SLOT", "Slot"]


class _Releasable(Protocol):
    def release(self) -> None: ...


class Slot:
    """One place in a client's request gate, given back exactly once by ``release()``.

    The sync client's gate is a ``threading.BoundedSemaphore`` and the async client's an
    ``asyncio.Semaphore``; both release without I/O, so one class serves both.
    """

    __slots__ = ("_gate",)

    def __init__(self, gate: _Releasable | None) -> None:
        self._gate = gate

    def release(self) -> None:
        """Give the place back (no-op the second time, or for an ungated client)."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()


NO_SLOT = Slot(None)  # what an ungated client hands out; releasing it does nothing
