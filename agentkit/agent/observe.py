"""The observation seam of a run: what tracing (``agentkit.Instrumentation``) hooks into.

The flow tells its ``RunObservation`` when the run starts and ends, and gets a
``ModelObservation`` for each model request and a ``ToolObservation`` for each tool call.
A tool's code runs inside its observation's ``activate()`` context manager, entered in the
task or thread where the code runs, so spans the tool starts nest under the tool's span.
The default observer does nothing and costs one attribute check per step.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from agentkit._execute import Outcome
    from agentkit.agent.state import PendingCall, Request
    from agentkit.messages import ChatCompletion
    from agentkit.result import RunResult
    from agentkit.usage import Usage

__all__ = [
    "NOOP",
    "NOOP_MODEL",
    "NOOP_RUN",
    "ModelObservation",
    "RunInfo",
    "RunObservation",
    "RunObserver",
    "ToolObservation",
    "default",
    "resolve",
    "set_default",
]


class RunInfo(NamedTuple):
    """What an observer learns when a run starts.

    Attributes:
        agent_name: The agent's ``name`` (or ``None``).
        model: The model requests will name (the agent's, else the client's default).
        conversation_id: The session id when the run has a session, else ``None``.
        server_address: The host of the client's ``base_url``.
        server_port: Its port.
        streamed: Whether model answers are streamed.
        system: The system message sent (for content capture), or ``None``.
        prior_usage: What a resumed run had consumed before it started (its paused
            run's, which its result's usage includes), or ``None``.
    """

    agent_name: str | None
    model: str | None
    conversation_id: str | None = None
    server_address: str | None = None
    server_port: int | None = None
    streamed: bool = False
    system: str | None = None
    prior_usage: Usage | None = None


class ModelObservation:
    """One model request (no-op base)."""

    def first_chunk(self) -> None:
        """The first chunk of a streamed answer arrived."""

    def end(self, completion: ChatCompletion | None, error: BaseException | None) -> None:
        """The request finished with ``completion`` or failed with ``error``
        (``GeneratorExit``: the stream's consumer left while the answer streamed)."""


class ToolObservation:
    """One tool call (no-op base)."""

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Entered around the tool's code, in the task or thread that runs it."""
        yield

    def end(
        self, outcome: Outcome | None, content: str, is_error: bool, *, left: bool = False
    ) -> None:
        """The call ended: its outcome (``None`` when it was not run) and the content the
        model gets back; ``left``: it never ran because the stream's consumer left the run
        (closed it before its end), which is not a failure of the call."""


class RunObservation:
    """One run (no-op base)."""

    def model_call(self, request: Request) -> ModelObservation:
        """A model request is about to be sent."""
        return _NOOP_MODEL

    def tool_call(self, call: PendingCall) -> ToolObservation:
        """A tool call is about to run (or to be answered without running)."""
        return _NOOP_TOOL

    def end(
        self,
        result: RunResult[Any] | None,
        error: BaseException | None,
        usage: Usage | None = None,
    ) -> None:
        """The run ended with ``result`` or ``error`` (``GeneratorExit``: the consumer of
        its stream left before the end, not a failure); ``usage``: what it consumed up to
        then, given when there is no ``result``."""


class RunObserver:
    """Something that watches runs (no-op base): ``start_run`` gives each its observation."""

    def start_run(self, info: RunInfo) -> RunObservation:
        """A run starts."""
        return _NOOP_RUN


NOOP_MODEL = ModelObservation()
_NOOP_MODEL = NOOP_MODEL
_NOOP_TOOL = ToolObservation()
NOOP_RUN = RunObservation()
_NOOP_RUN = NOOP_RUN
NOOP = RunObserver()
"""The observer of agents without instrumentation."""

_default: list[RunObserver] = [NOOP]


def set_default(observer: RunObserver | None) -> None:
    """Make ``observer`` watch every agent built without ``instrument=`` (``None``: none)."""
    _default[0] = observer or NOOP


def default() -> RunObserver:
    """The observer of agents built without ``instrument=``."""
    return _default[0]


def resolve(instrument: bool | RunObserver | None) -> RunObserver | None:
    """What an agent's ``instrument=`` argument means (``None``: the default at run time)."""
    if instrument is None:
        return None
    if instrument is False:
        return NOOP
    if instrument is True:
        # Imported by name: agentkit.instrumentation sits above the agent in the layers.
        module = importlib.import_module("agentkit.instrumentation")
        observer: RunObserver = module.Instrumentation()
        return observer
    if isinstance(instrument, RunObserver):
        return instrument
    raise TypeError(f"instrument must be a bool or an Instrumentation, got {instrument!r}")
