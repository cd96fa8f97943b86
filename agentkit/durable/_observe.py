"""A durable run's observation: spans for what this execution of the workflow did.

A recovered workflow replays its finished steps from their checkpoints; their model
requests and tool calls happened in an earlier execution, which observed them then. So a
model request or a tool call is observed only once its step's body runs: the model
observation begins inside the model step (``begin``), a tool's when its code is entered
(``activate``, inside the tool step). A replayed step observes nothing. A call that never
was to run (refused, unknown tool, invalid arguments) is observed as in a plain run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from agentkit.agent.observe import ModelObservation, RunObservation, ToolObservation

if TYPE_CHECKING:
    from agentkit._execute import Outcome
    from agentkit.agent.state import PendingCall, Request
    from agentkit.messages import ChatCompletion
    from agentkit.result import RunResult
    from agentkit.usage import Usage

__all__ = ["DeferredModel", "ReplayAware"]


class DeferredModel(ModelObservation):
    """A model request, observed from ``begin`` (called in the step's body) on."""

    __slots__ = ("_inner", "_request", "_run")

    def __init__(self, run: RunObservation, request: Request) -> None:
        self._run, self._request = run, request
        self._inner: ModelObservation | None = None

    def begin(self) -> None:
        """The step's body runs: the request is really sent."""
        self._inner = self._run.model_call(self._request)

    def first_chunk(self) -> None:
        """Forwarded once begun."""
        if self._inner is not None:
            self._inner.first_chunk()

    def end(self, completion: ChatCompletion | None, error: BaseException | None) -> None:
        """Forwarded once begun; a replayed answer (or recorded failure) is dropped."""
        if self._inner is not None:
            self._inner.end(completion, error)


class _DeferredTool(ToolObservation):
    __slots__ = ("_call", "_inner", "_run")

    def __init__(self, run: RunObservation, call: PendingCall) -> None:
        self._run, self._call = run, call
        self._inner: ToolObservation | None = None

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        # Entered around the tool's code, so only when the step's body runs.
        self._inner = self._run.tool_call(self._call)
        with self._inner.activate():
            yield

    def end(
        self, outcome: Outcome | None, content: str, is_error: bool, *, left: bool = False
    ) -> None:
        if self._inner is None and self._call.kwargs is None:
            self._inner = self._run.tool_call(self._call)  # never to run: no step to replay
        if self._inner is not None:
            self._inner.end(outcome, content, is_error, left=left)


class ReplayAware(RunObservation):
    """A run's observation whose model requests and tool calls wait for their step's body."""

    __slots__ = ("_inner",)

    def __init__(self, inner: RunObservation) -> None:
        self._inner = inner

    def model_call(self, request: Request) -> ModelObservation:
        """A ``DeferredModel``: the driver begins it inside the model step."""
        return DeferredModel(self._inner, request)

    def tool_call(self, call: PendingCall) -> ToolObservation:
        """Observed from the moment the tool's code is entered."""
        return _DeferredTool(self._inner, call)

    def end(
        self,
        result: RunResult[Any] | None,
        error: BaseException | None,
        usage: Usage | None = None,
    ) -> None:
        """Forwarded."""
        self._inner.end(result, error, usage)
