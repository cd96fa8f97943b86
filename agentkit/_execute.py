"""Running one tool function: the single execution path of ``Tool.call``, ``Tool.call_sync``
and the agent's tool turns.

What it decides once for every caller: a plain ``def`` runs on a daemon thread in async
code (never on the loop, never on the default executor, whose threads ``asyncio.run``
waits for; ``_workers`` reuses the threads of finished calls), in the caller's context
variables; a timeout is agentkit's own (a ``TimeoutError`` the tool raises itself stays
the tool's error); a result that arrives after the timeout is a timeout; and any exception
the function raises, ``StopIteration`` and ``GeneratorExit`` included, becomes the call's
``Outcome`` instead of escaping into the machinery (asyncio cannot store a
``StopIteration`` in a future).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from types import CoroutineType
from typing import TYPE_CHECKING, Any, NamedTuple

from agentkit import _workers
from agentkit._aio import is_cancellation
from agentkit._turns import TurnGate

if TYPE_CHECKING:
    import asyncio

__all__ = ["Invocation", "Outcome", "run_all_async", "run_all_sync", "run_async", "run_sync"]


class Outcome:
    """What one call produced: a return value, the exception it raised, or a timeout.

    ``timed_out`` is set only when agentkit's own timeout stopped waiting, so that a
    ``TimeoutError`` raised by the tool itself is reported as the tool's error.
    """

    # A plain class, not a dataclass: one is made per tool call, and a dataclass costs
    # about 0.4 ms of import time to build.
    __slots__ = ("error", "timed_out", "value")

    def __init__(
        self, value: Any = None, error: BaseException | None = None, timed_out: bool = False
    ) -> None:
        self.value = value
        self.error = error
        self.timed_out = timed_out

    def __repr__(self) -> str:
        return f"Outcome(value={self.value!r}, error={self.error!r}, timed_out={self.timed_out})"

    def unwrap(self) -> Any:
        """The value, or raise the error (a timeout as ``TimeoutError``)."""
        if self.error is not None:
            raise self.error
        return self.value


class Invocation(NamedTuple):
    """A function bound to its validated arguments, ready to run.

    Attributes:
        func: The tool's function.
        args: Positional arguments (the ``RunContext``, when the tool takes one).
        kwargs: The validated keyword arguments.
        is_async: Whether ``func`` is a coroutine function.
        name: For thread names and error messages.
        timeout: Seconds the call may take, or ``None``.
        around: A context manager factory entered around the function's code, in the
            task or thread that runs it (tracing makes the tool's span current there).
    """

    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    is_async: bool
    name: str
    timeout: float | None = None
    around: Callable[[], AbstractContextManager[Any]] | None = None

    def invoke(self) -> Any:
        """Call the function (for a coroutine function: create the coroutine)."""
        if self.around is None:
            return self.func(*self.args, **self.kwargs)
        with self.around():
            return self.func(*self.args, **self.kwargs)

    def invoke_to_end(self) -> Any:
        """Call a sync function from sync code; a coroutine it returns is run to its end.

        A plain decorator around an ``async def`` (``functools.wraps`` keeps its signature)
        is a sync function returning a coroutine: its result is that coroutine's.
        """
        value = self.invoke()
        if type(value) is CoroutineType:
            import asyncio  # no loop runs in this thread: see run_sync

            return asyncio.run(value)
        return value

    async def invoke_async(self) -> Any:
        """Await the coroutine function, inside ``around``."""
        if self.around is None:
            return await self.func(*self.args, **self.kwargs)
        with self.around():
            return await self.func(*self.args, **self.kwargs)

    def timeout_error(self) -> TimeoutError:
        """The error a call past its timeout ends with."""
        return TimeoutError(f"Tool {self.name!r} did not finish within {self.timeout} seconds")


def _passes_through(exc: BaseException) -> bool:
    """Not the tool's failure but the process's or the caller's business."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit)) or is_cancellation(exc)


def _capture(func: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(func())
    except BaseException as exc:
        if _passes_through(exc):
            raise
        return Outcome(error=exc)  # the tool's failure, whatever it raised


async def _capture_async(make: Callable[[], Awaitable[Any]]) -> Outcome:
    try:
        return Outcome(await make())
    except BaseException as exc:
        if _passes_through(exc):
            raise
        return Outcome(error=exc)


# ---------------------------------------------------------------------------------- async


async def run_async(call: Invocation) -> Outcome:
    """Run ``call`` from async code; never raises for the tool's own errors."""
    coro = _capture_async(call.invoke_async) if call.is_async else _sync_in_thread(call)
    import asyncio  # loaded already, as in every async function here: see agentkit._aio

    if call.timeout is None and not call.is_async:
        return await coro  # its worker thread runs in a copy of the context already
    # A task of its own, also without a timeout: it runs in a copy of the caller's context
    # variables, so what the tool sets stays its own, as on a worker thread (sync runs,
    # sync tools) or in a turn of several calls. Cancelling the caller cancels the task.
    task = asyncio.ensure_future(coro)
    if call.timeout is None:
        return await task
    try:
        done, _ = await asyncio.wait((task,), timeout=call.timeout)
    except BaseException:
        task.cancel()
        raise
    if not done:
        # A tool that swallows the cancellation and returns late is still a timeout: the
        # task is cancelled and its result is never looked at.
        task.cancel()
        return Outcome(error=call.timeout_error(), timed_out=True)
    return task.result()


async def _sync_in_thread(call: Invocation) -> Outcome:
    outcome = await _in_daemon_thread(call)
    value = outcome.value
    if type(value) is CoroutineType:
        # A plain decorator around an ``async def``: its coroutine runs on the caller's
        # loop (where the resources it uses live), within the same timeout, in a task of
        # its own: a copy of the caller's context variables, as the function had.
        import asyncio

        return await asyncio.ensure_future(_capture_async(lambda: value))
    return outcome


async def _in_daemon_thread(call: Invocation) -> Outcome:
    import asyncio

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Outcome] = loop.create_future()

    def settle(outcome: Outcome) -> None:  # on the loop's thread
        if not future.done():
            future.set_result(outcome)

    def deliver(outcome: Outcome) -> None:  # on the worker thread
        # RuntimeError: the loop has closed since, so nobody awaits the outcome.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, outcome)

    start_daemon_thread(call, deliver)
    return await future


def start_daemon_thread(call: Invocation, deliver: Callable[[Outcome], None]) -> None:
    """Run a sync ``call`` on a daemon thread, in a copy of the caller's context
    variables, and hand its outcome to ``deliver`` from that thread.

    A daemon thread, not a pooled executor's: a call past its timeout (or whose run was
    cancelled) cannot be stopped, so it must hold no shared worker nor delay the exit
    (``agentkit._workers`` reuses threads that finished their call).
    """
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome = context.run(_capture, call.invoke)
        except BaseException as exc:  # KeyboardInterrupt/SystemExit on a worker thread
            outcome = Outcome(error=exc)
        deliver(outcome)

    _workers.submit(target, f"agentkit-tool-{call.name}")


# ----------------------------------------------------------------------------------- sync


def run_sync(call: Invocation, *, gate: TurnGate | None = None) -> Outcome:
    """Run ``call`` from sync code (no running event loop in this thread).

    A sync function without a timeout (and without a ``gate``) runs in this thread; with a
    timeout, on a daemon thread that is abandoned when it overruns. An async function runs
    with ``asyncio.run`` (the timeout applied inside). ``gate`` bounds how many calls run at
    once; a call holds its slot only while it runs, and gives it back at its timeout.
    """
    if call.is_async and gate is None:
        import asyncio  # a sync program loads it for its first async tool

        return asyncio.run(run_async(call))
    if call.timeout is None and gate is None:
        # In a copy of the caller's context variables, as on a worker thread or in a task:
        # what the tool sets stays its own, in sync runs as in async ones.
        return contextvars.copy_context().run(_capture, call.invoke_to_end)
    return _SyncCall(call, gate).wait()


def run_all_sync(
    calls: list[Invocation],
    concurrency: int,
    on_done: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Run a turn's calls from sync code, at most ``concurrency`` at a time; outcomes in
    the order of ``calls``. One call without a timeout runs in this thread. ``on_done(i,
    outcome)`` is called for each call as its outcome is collected."""
    if len(calls) == 1 and calls[0].timeout is None and not calls[0].is_async:
        outcomes = [run_sync(calls[0])]
    elif len(calls) == 1:
        outcomes = [run_sync(calls[0], gate=TurnGate(concurrency))]
    else:
        gate = TurnGate(concurrency)
        handles = [_SyncCall(c, gate) for c in calls]  # tickets taken in the model's order
        outcomes = []
        for i, h in enumerate(handles):
            outcomes.append(h.wait())
            if on_done is not None:
                on_done(i, outcomes[-1])
        return outcomes
    if on_done is not None:
        on_done(0, outcomes[0])
    return outcomes


async def run_all_async(
    calls: list[Invocation],
    concurrency: int,
    on_done: Callable[[int, Outcome], Awaitable[None]] | None = None,
) -> list[Outcome]:
    """Run a turn's calls concurrently, at most ``concurrency`` at a time; outcomes in the
    order of ``calls``. Cancellation cancels every call still running, and returns at once
    (a sync tool's thread is abandoned, not waited for). ``await on_done(i, outcome)`` runs
    as each call finishes."""
    import asyncio

    limit = asyncio.Semaphore(concurrency)

    async def one(i: int, call: Invocation) -> Outcome:
        async with limit:
            outcome = await run_async(call)
        if on_done is not None:
            await on_done(i, outcome)
        return outcome

    if len(calls) == 1:
        return [await one(0, calls[0])]
    tasks = [asyncio.ensure_future(one(i, c)) for i, c in enumerate(calls)]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class _SyncCall:
    """One sync call on a thread of its own, its timeout counted from when it starts.

    The gate slot is released once, by whichever side gets there first (the call ending,
    or the caller giving up at the timeout), so a hung tool cannot block other calls.
    """

    def __init__(self, call: Invocation, gate: TurnGate | None) -> None:
        self.call = call
        self._gate = gate
        self._ticket = gate.ticket() if gate is not None else 0
        self._lock = threading.Lock()
        self._holding = False
        self._started = threading.Event()
        self._done = threading.Event()
        self._outcome: Outcome | None = None
        start_daemon_thread(Invocation(self._gated, (), {}, False, call.name), self._deliver)

    def _gated(self) -> Outcome:
        if self._gate is not None:
            self._gate.enter(self._ticket)
            with self._lock:
                self._holding = True
        self._started.set()
        call = self.call
        if call.is_async:
            import asyncio

            return asyncio.run(run_async(call))
        return _capture(call.invoke_to_end)

    def _deliver(self, outcome: Outcome) -> None:
        # `outcome.value` is the inner Outcome unless the wrapper itself failed.
        inner = outcome.value if isinstance(outcome.value, Outcome) else outcome
        self._outcome = inner
        self._release()
        self._done.set()

    def _release(self) -> None:
        with self._lock:
            if self._holding and self._gate is not None:
                self._holding = False
                self._gate.leave()

    def wait(self) -> Outcome:
        timeout = self.call.timeout
        if timeout is None:
            self._done.wait()
        else:
            self._started.wait()
            if not self._done.wait(timeout):
                self._release()
                return Outcome(error=self.call.timeout_error(), timed_out=True)
        assert self._outcome is not None
        return self._outcome
