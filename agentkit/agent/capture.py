"""``capture_run()``: the messages of a run that ended with an exception agentkit does not own.

agentkit's own errors carry ``.messages``; a foreign exception (a ``CancelledError``, a
``KeyboardInterrupt``, a hook's error) is never changed. To still get a valid history::

    with agentkit.capture_run() as run:
        try:
            await agent.run(question, history=history)
        except asyncio.CancelledError:
            history = run.messages
            raise
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import field
from typing import Any

from agentkit import _record
from agentkit.messages import Message
from agentkit.result import RunResult
from agentkit.usage import Usage

__all__ = ["RunCapture", "capture_run", "record"]


@_record.record(slots=True)  # this module's own `record` is the capture's
class RunCapture:
    """What the last run that ended inside a ``capture_run()`` block left behind.

    Attributes:
        messages: Its conversation, every tool call answered (a valid history), or
            ``None`` while no run has ended.
        usage: What it consumed, also when it failed.
        result: Its ``RunResult`` when it finished, else ``None``.
        error: The exception it ended with, else ``None`` (also for a stream its consumer
            left before the end: then ``result`` is ``None`` too).
    """

    messages: list[Message] | None = None
    usage: Usage = field(default_factory=Usage)
    result: RunResult[Any] | None = None
    error: BaseException | None = None


_current: ContextVar[RunCapture | None] = ContextVar("agentkit_capture", default=None)


@contextlib.contextmanager
def capture_run() -> Iterator[RunCapture]:
    """Record the outcome of every run that ends inside the block (the last one wins).

    Works for ``run``, ``run_sync``, ``stream`` and ``stream_sync``; runs started in other
    threads or tasks see the capture of the context they were started from.
    """
    capture = RunCapture()
    token = _current.set(capture)
    try:
        yield capture
    finally:
        _current.reset(token)


def record(
    messages: list[Message],
    usage: Usage,
    result: RunResult[Any] | None = None,
    error: BaseException | None = None,
) -> None:
    """Called by the run when it ends; a no-op outside ``capture_run()``."""
    capture = _current.get()
    if capture is not None:
        capture.messages, capture.usage, capture.result, capture.error = (
            messages,
            usage,
            result,
            error,
        )
