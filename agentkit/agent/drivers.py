"""The two drivers of a run's flow: they perform its effects and do nothing else.

``drive_async`` serves ``run`` and ``stream``, ``drive_sync`` serves ``run_sync`` and
``stream_sync``. Streamed and non-streamed runs differ only in how a ``CallModel`` is
performed; every decision is the flow's (``agentkit.agent.flow``).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from agentkit import _workers
from agentkit._execute import Outcome, run_all_async, run_all_sync
from agentkit.agent.effects import CallModel, Emit, ListTools, RunTools, Save
from agentkit.agent.flow import Flow, chunk_events
from agentkit.agent.sources import ToolSource
from agentkit.agent.stepper import Stepper
from agentkit.errors import AgentkitError
from agentkit.events import RunFinished, StreamEvent
from agentkit.tool import Tool

if TYPE_CHECKING:
    from agentkit.client import AsyncClient, Client
    from agentkit.messages import ChatCompletion, ChatCompletionChunk

__all__ = ["AsyncWriter", "SyncWriter", "drive_async", "drive_sync"]


def _on_done_async(
    effect: RunTools, writer: AsyncWriter | None
) -> Callable[[int, Outcome], Awaitable[None]] | None:
    """What a driver does as each call of ``effect`` finishes: tell the flow, journal it."""
    journal = effect.journal if writer is not None else None
    finished = effect.finished
    if journal is None and finished is None:
        return None

    async def done(i: int, outcome: Outcome) -> None:
        if finished is not None:
            finished(i, outcome)
        if journal is not None and writer is not None:
            await writer.journal_result(journal(effect.calls[i], outcome))

    return done


def _on_done_sync(
    effect: RunTools, writer: SyncWriter | None
) -> Callable[[int, Outcome], None] | None:
    """The sync ``_on_done_async``."""
    journal = effect.journal if writer is not None else None
    finished = effect.finished
    if journal is None and finished is None:
        return None

    def done(i: int, outcome: Outcome) -> None:
        if finished is not None:
            finished(i, outcome)
        if journal is not None and writer is not None:
            writer.journal_result(journal(effect.calls[i], outcome))

    return done


async def _listed_async(
    source: ToolSource, deadline: float | None
) -> list[Tool[Any, Any]] | BaseException:
    # Past the run's deadline a TimeoutError, which the flow makes a RunTimeoutError: a
    # source slow to start (an MCP server's connect_timeout) must not outlast run_timeout.
    try:
        if deadline is None:
            return await source.list_tools()
        import asyncio  # loaded already by the running loop; a sync program never needs it

        return await asyncio.wait_for(source.list_tools(), max(0.0, deadline - time.monotonic()))
    except AgentkitError as exc:  # the flow decides: raise, or skip with a note
        return exc


def _listed_sync(
    source: ToolSource, deadline: float | None
) -> list[Tool[Any, Any]] | BaseException:
    try:
        if deadline is None:
            return source.list_tools_sync()
        return _within(source.list_tools_sync, deadline)
    except AgentkitError as exc:
        return exc


def _within(
    list_tools: Callable[[], list[Tool[Any, Any]]], deadline: float
) -> list[Tool[Any, Any]]:
    """``list_tools()`` on a worker thread, given up (left to finish) at ``deadline``."""
    done = threading.Event()
    box: list[Outcome] = []
    context = contextvars.copy_context()  # as if listed in this thread

    def job() -> None:
        try:
            box.append(Outcome(context.run(list_tools)))
        except BaseException as exc:  # handed to the waiting thread
            box.append(Outcome(error=exc))
        done.set()

    _workers.submit(job, "agentkit-list-tools")
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise TimeoutError("listing the tool sources' tools did not finish before the deadline")
    return box[0].unwrap()  # type: ignore[no-any-return]


class _StreamedAnswer:
    """What a streamed ``CallModel`` does with its chunks, in either driver: tell the
    observation when the first arrives, turn each into events, hold back text that may be
    a tool call written as text."""

    __slots__ = ("_first", "_hold", "_observation")

    def __init__(self, effect: CallModel) -> None:
        from agentkit.agent.text_calls import TextHold  # streams only

        self._hold = TextHold(effect.request.hold_text)
        self._observation = effect.observation
        self._first = True

    def feed(self, chunk: ChatCompletionChunk) -> list[StreamEvent]:
        if self._first:
            self._observation.first_chunk()
            self._first = False
        return self._hold.feed(chunk_events(chunk))

    def finish(self, completion: ChatCompletion) -> list[StreamEvent]:
        return self._hold.finish(completion)


def _delivered(effect: Emit, streamed: bool) -> bool:
    # A non-streamed run hands its caller only the end of the run.
    return streamed or isinstance(effect.event, RunFinished)


class AsyncWriter(Protocol):
    """Where an async run's ``Save`` effects go (a session lease)."""

    async def save(self, effect: Save) -> None: ...

    async def journal_result(self, message: dict[str, Any]) -> None: ...


class SyncWriter(Protocol):
    """Where a sync run's ``Save`` effects go (a session lease)."""

    def save(self, effect: Save) -> None: ...

    def journal_result(self, message: dict[str, Any]) -> None: ...


async def drive_async(
    opening: AbstractAsyncContextManager[tuple[Flow, AsyncClient, AsyncWriter | None]],
    *,
    streamed: bool,
    concurrency: int,
) -> AsyncGenerator[StreamEvent, None]:
    """Open a run (its flow, client and session writer) and interpret its flow on an
    event loop; yields its events (only ``RunFinished`` when not ``streamed``)."""
    async with opening as (flow, client, writer):
        with Stepper(flow) as steps:
            for effect in steps:
                if isinstance(effect, Emit):
                    if _delivered(effect, streamed):
                        yield effect.event
                    continue
                with steps.performing():
                    if isinstance(effect, CallModel):
                        request = effect.request
                        if streamed:
                            answer = _StreamedAnswer(effect)
                            async with client.stream(
                                request.messages, **request.kwargs, deadline=effect.deadline
                            ) as chunks:
                                async for chunk in chunks:
                                    for event in answer.feed(chunk):
                                        yield event
                                steps.outcome = completion = await chunks.get_final_completion()
                            for event in answer.finish(completion):
                                yield event
                        else:
                            steps.outcome = await client.create(
                                request.messages, **request.kwargs, deadline=effect.deadline
                            )
                    elif isinstance(effect, RunTools):
                        calls = [pc.bind(sync=False) for pc in effect.calls]
                        steps.outcome = await run_all_async(
                            calls, concurrency, _on_done_async(effect, writer)
                        )
                    elif isinstance(effect, ListTools):
                        steps.outcome = [
                            (s, await _listed_async(s, effect.deadline)) for s in effect.sources
                        ]
                    elif isinstance(effect, Save) and writer is not None:
                        await writer.save(effect)


def drive_sync(
    opening: AbstractContextManager[tuple[Flow, Client, SyncWriter | None]],
    *,
    streamed: bool,
    concurrency: int,
) -> Generator[StreamEvent, None, None]:
    """Open a run and interpret its flow in this thread; yields its events (only
    ``RunFinished`` when not ``streamed``)."""
    with opening as (flow, client, writer), Stepper(flow) as steps:
        for effect in steps:
            if isinstance(effect, Emit):
                if _delivered(effect, streamed):
                    yield effect.event
                continue
            with steps.performing():
                if isinstance(effect, CallModel):
                    request = effect.request
                    if streamed:
                        answer = _StreamedAnswer(effect)
                        with client.stream(
                            request.messages, **request.kwargs, deadline=effect.deadline
                        ) as chunks:
                            for chunk in chunks:
                                yield from answer.feed(chunk)
                            steps.outcome = completion = chunks.get_final_completion()
                        yield from answer.finish(completion)
                    else:
                        steps.outcome = client.create(
                            request.messages, **request.kwargs, deadline=effect.deadline
                        )
                elif isinstance(effect, RunTools):
                    calls = [pc.bind(sync=True) for pc in effect.calls]
                    steps.outcome = run_all_sync(calls, concurrency, _on_done_sync(effect, writer))
                elif isinstance(effect, ListTools):
                    steps.outcome = [(s, _listed_sync(s, effect.deadline)) for s in effect.sources]
                elif isinstance(effect, Save) and writer is not None:
                    writer.save(effect)
