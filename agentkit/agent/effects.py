"""The effects a run's flow asks its driver to perform, and nothing else.

The flow (``agentkit.agent.flow``) makes every decision and yields one of these immutable
records whenever it needs the outside world; the driver performs it and sends back the
outcome (or throws back the exception it raised). Each driver (async, sync, durable) is an
interpreter of this small vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeAlias

from agentkit._execute import Outcome
from agentkit.agent.observe import NOOP_MODEL, ModelObservation
from agentkit.agent.sources import ToolSource
from agentkit.agent.state import PendingCall, Request
from agentkit.events import StreamEvent
from agentkit.messages import Message

__all__ = ["CallModel", "Effect", "Emit", "ListTools", "RunTools", "Save"]


class CallModel(NamedTuple):
    """Send one model request. Outcome: the ``ChatCompletion``.

    Attributes:
        request: The messages and the other request kwargs.
        deadline: The run's deadline (``time.monotonic()``), which the request may not
            outlive, or ``None``.
        observation: Told when a streamed answer's first chunk arrives.
    """

    request: Request
    deadline: float | None
    observation: ModelObservation = NOOP_MODEL


class ListTools(NamedTuple):
    """List the tools of the run's tool sources. Outcome: a ``Listed`` (each source with
    its tools, or the ``AgentkitError`` it failed with).

    Attributes:
        sources: The sources, in the agent's order.
        deadline: The run's deadline (``time.monotonic()``), which listing may not
            outlive (a ``TimeoutError`` then), or ``None``.
    """

    sources: tuple[ToolSource, ...]
    deadline: float | None = None


class RunTools(NamedTuple):
    """Run a turn's tool calls, concurrently. Outcome: a list with one ``Outcome`` per
    call, in the order of ``calls``.

    Attributes:
        calls: The calls to run (each has ``kwargs``), in the model's order.
        journal: For a session run: the tool message of a finished call, which the driver
            journals as each call finishes (crash recovery); ``None``: no journal.
        finished: Told ``(i, outcome)`` as the i-th call finishes, so that a batch cut
            short (the run cancelled) keeps the results it has; ``None``: not told.
    """

    calls: tuple[PendingCall, ...]
    journal: Callable[[PendingCall, Outcome], Message] | None = None
    finished: Callable[[int, Outcome], None] | None = None


class Emit(NamedTuple):
    """Hand an event to the stream consumer (non-streamed runs drop it). Outcome: ``None``.

    Attributes:
        event: The event.
    """

    event: StreamEvent


class Save(NamedTuple):
    """Persist to the run's session, in one transaction. Outcome: ``None``.

    Attributes:
        messages: Messages to append to the stored history (a whole turn at most).
        begin_turn: The assistant message of a tool turn in progress, to journal before
            its tools run (crash recovery), or ``None``.
        results: With ``begin_turn``: the results the turn has already, journaled with it.
        end_turn: Whether this write completes the journaled turn (clearing the journal).
        pause: The paused-run state to store (``{}`` clears it), or ``None``: unchanged.
    """

    messages: tuple[Message, ...] = ()
    begin_turn: Message | None = None
    results: tuple[Message, ...] = ()
    end_turn: bool = False
    pause: dict[str, object] | None = None


Effect: TypeAlias = CallModel | ListTools | RunTools | Emit | Save
"""Anything the flow may ask of its driver."""
