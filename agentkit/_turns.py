"""``TurnGate``: at most N of a turn's tool calls at a time, let in in the model's order.

A ``threading.Semaphore`` wakes its waiters in no particular order, so with
``tool_concurrency=1`` the calls of a sync turn (each waiting on a thread of its own) could
run in any order; an async turn runs them in order (asyncio's semaphore is FIFO). Each call
takes a ticket when it is queued, in the order the model made the calls, and enters when
every earlier ticket has entered (or was given up) and a slot is free.
"""

from __future__ import annotations

import threading

__all__ = ["TurnGate"]


class TurnGate:
    """A FIFO semaphore for one turn's calls: ``ticket()``, then ``enter``/``leave``."""

    def __init__(self, limit: int) -> None:
        self._cond = threading.Condition()
        self._free = limit
        self._issued = 0
        self._next = 0  # the ticket whose turn it is
        self._given_up: set[int] = set()

    def ticket(self) -> int:
        """A place in the queue, taken in the order the calls should run."""
        with self._cond:
            self._issued += 1
            return self._issued - 1

    def enter(self, ticket: int) -> None:
        """Wait until ``ticket``'s turn has come and a slot is free, and take the slot."""
        with self._cond:
            while self._next != ticket or self._free == 0:
                self._cond.wait()
            self._free -= 1
            self._advance()

    def leave(self) -> None:
        """Give a slot back."""
        with self._cond:
            self._free += 1
            self._cond.notify_all()

    def give_up(self, ticket: int) -> None:
        """``ticket`` will never enter (its call was replayed, not run): skip its turn."""
        with self._cond:
            if ticket >= self._next:
                self._given_up.add(ticket)
                if ticket == self._next:
                    self._advance()

    def _advance(self) -> None:
        self._next += 1
        while self._next in self._given_up:
            self._given_up.discard(self._next)
            self._next += 1
        self._cond.notify_all()
