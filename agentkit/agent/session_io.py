"""The thin I/O between a run and its session's lease: loading, and performing ``Save``.

Which messages are saved, and when, is the flow's decision; these adapters map each
``Save`` effect onto the one lease call that performs it, and read what a run starts from.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Literal

from agentkit._json import loads
from agentkit._record import record
from agentkit.agent.effects import Save
from agentkit.approvals import ApprovalRequest, PausedRun, arguments_hash
from agentkit.errors import RunTimeoutError
from agentkit.messages import Message

if TYPE_CHECKING:
    from agentkit.agent.state import RunState
    from agentkit.sessions import AsyncLease, Lease, SessionBusyError

__all__ = [
    "AsyncLeaseWriter",
    "LeaseWait",
    "Loaded",
    "SyncLeaseWriter",
    "interrupted_turn",
]


@record(frozen=True, slots=True)
class Loaded:
    """What a session holds when a run takes it.

    Attributes:
        history: The stored history (repaired: no tool call without its result).
        pause: The stored paused-run state, or ``None``.
        journal: The turn a dead run left in progress: (assistant message, results).
    """

    history: list[Message]
    pause: dict[str, Any] | None
    journal: tuple[Message, list[Message]] | None


class LeaseWait:
    """How long a run waits for its session's lease: ``busy_timeout``, but never past the
    run's own ``run_timeout``, which counts from before the wait (the wait is part of the
    run: a run on a session held for good must not hang past it)."""

    __slots__ = ("_busy_timeout", "_on_busy", "_run_timeout", "_started")

    def __init__(
        self,
        on_busy: Literal["raise", "wait"],
        busy_timeout: float | None,
        run_timeout: float | None,
    ) -> None:
        self._on_busy, self._busy_timeout, self._run_timeout = on_busy, busy_timeout, run_timeout
        self._started = time.monotonic()

    @property
    def _run_bound(self) -> bool:
        # The run's deadline, not busy_timeout, ends the wait.
        run, busy = self._run_timeout, self._busy_timeout
        return self._on_busy == "wait" and run is not None and (busy is None or run < busy)

    @property
    def timeout(self) -> float | None:
        """The ``timeout`` to take the lease with."""
        return self._run_timeout if self._run_bound else self._busy_timeout

    def busy(self, exc: SessionBusyError) -> BaseException:
        """What a run whose wait ended with ``exc`` raises."""
        if not self._run_bound:
            return exc
        return RunTimeoutError(
            f"The run reached its run_timeout of {self._run_timeout} s waiting for session "
            f"{exc.session_id!r}, which another run holds"
        )

    def started(self, state: RunState) -> None:
        """Count the run's deadline from before the wait."""
        if self._run_timeout is not None:
            state.deadline = self._started + self._run_timeout


def _save_call(effect: Save) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The one lease call that performs ``effect``: its name, arguments and keywords.

    ``Save.pause``: ``None`` leaves the stored pause as it is, ``{}`` clears it, a dict sets it.
    """
    pause = {} if effect.pause is None else {"pause": effect.pause or None}
    if effect.begin_turn is not None:
        return "begin_turn", (effect.begin_turn,), {"results": list(effect.results), **pause}
    if effect.end_turn:
        return "commit_turn", (list(effect.messages),), pause
    if effect.messages:
        return "append", (list(effect.messages),), {}
    return "set_pause", (effect.pause or None,), {}


class SyncLeaseWriter:
    """Performs a sync run's ``Save`` effects on its lease."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease

    def load(self) -> Loaded:
        """Read the session at the run's start (its history checked as ``history=`` is)."""
        history = self._lease._load(checked=True)
        return Loaded(history, self._lease.pause(), self._lease.journal())

    def save(self, effect: Save) -> None:
        """Perform ``effect`` in one transaction."""
        name, args, kwargs = _save_call(effect)
        getattr(self._lease, name)(*args, **kwargs)

    def journal_result(self, message: Message) -> None:
        """Journal one finished result of the turn in progress."""
        self._lease.record_result(message)


class AsyncLeaseWriter:
    """Performs an async run's ``Save`` effects on its lease (writes shielded by it)."""

    def __init__(self, lease: AsyncLease) -> None:
        self._lease = lease
        # Calls of a turn finish concurrently; their journal writes must land in order.
        self._lock = asyncio.Lock()

    async def load(self) -> Loaded:
        """Read the session at the run's start (its history checked as ``history=`` is)."""
        history = await self._lease._load(checked=True)
        return Loaded(history, self._lease.pause(), await self._lease.journal())

    async def save(self, effect: Save) -> None:
        """Perform ``effect`` in one transaction."""
        name, args, kwargs = _save_call(effect)
        await getattr(self._lease, name)(*args, **kwargs)

    async def journal_result(self, message: Message) -> None:
        """Journal one finished result of the turn in progress."""
        async with self._lock:
            await self._lease.record_result(message)


def interrupted_turn(loaded: Loaded, fingerprint: str) -> PausedRun:
    """A dead run's journaled turn as a paused run whose requests are the calls that have
    no stored result, each ``interrupted`` (see ``Agent.resume(session=...)``)."""
    assert loaded.journal is not None
    assistant, results = loaded.journal
    done = {m.get("tool_call_id") for m in results}
    requests = []
    for tc in assistant.get("tool_calls") or ():
        if not isinstance(tc, dict) or tc.get("id") in done:
            continue
        fn = tc.get("function") or {}
        try:
            args = loads(fn.get("arguments") or "{}")
        except ValueError:
            args = {}
        if not isinstance(args, dict):
            args = {}
        requests.append(
            ApprovalRequest(
                str(tc.get("id")), str(fn.get("name")), args, arguments_hash(args), True
            )
        )
    return PausedRun(
        messages=[*loaded.history, assistant, *results],
        requests=requests,
        fingerprint=fingerprint,
    )
