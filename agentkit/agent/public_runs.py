"""The public run methods of ``Agent``: ``run``, ``stream``, ``resume`` and their sync twins.

A mixin ``Agent`` inherits, so the methods (and their docstrings and overloads) are the
agent's own for users and type checkers. Each turns its arguments into ``RunArgs`` and
hands them to the drivers; building the run's state is the agent's (``_state``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, overload

from typing_extensions import TypeVar

from agentkit._aio import loop_running
from agentkit.agent.running import Launch, RunArgs, run_events, run_events_sync
from agentkit.agent.settings import ModelSettings
from agentkit.agent.state import RunState
from agentkit.errors import UserError
from agentkit.events import RunFinished
from agentkit.messages import Message
from agentkit.result import RunResult
from agentkit.usage import UsageLimits

__all__ = ["DepsT", "OutputT", "PublicRuns"]

if TYPE_CHECKING:
    from agentkit.agent.output import OutputTypeForm
    from agentkit.agent.session_io import Loaded
    from agentkit.agent.streams import AgentStream, SyncAgentStream
    from agentkit.approvals import Decision, PausedRun
    from agentkit.sessions import Session

OutputT = TypeVar("OutputT", default=str)
DepsT = TypeVar("DepsT", default=Any)
RunOutputT = TypeVar("RunOutputT")


class PublicRuns(Generic[OutputT, DepsT]):
    """The run methods of ``Agent[OutputT, DepsT]`` (see ``Agent``)."""

    _launch: Launch  # set by Agent._bind_client

    def _state(self, args: RunArgs, loaded: Loaded | None) -> RunState:
        raise NotImplementedError  # pragma: no cover  # Agent builds the run's state

    @overload
    async def run(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: None = None,
    ) -> RunResult[OutputT]: ...

    @overload
    async def run(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: type[RunOutputT],
    ) -> RunResult[RunOutputT]: ...

    @overload
    async def run(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: OutputTypeForm,
    ) -> RunResult[Any]: ...

    async def run(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
    ) -> RunResult[Any]:
        """Run the loop until the model answers without calling a tool.

        Args:
            prompt: The user's message (a ``str``, or a message dict, e.g. from
                ``client.user_message(text, images)``). May be omitted to continue a
                ``history``.
            history: Earlier messages (e.g. ``RunResult.messages`` of the previous turn).
                Orphaned tool calls get an "interrupted" result before anything is sent.
            session: A session (``agentkit.sessions``): its stored history is the
                history, and this run's messages are saved to it, turn by turn. Not
                together with ``history``.
            deps: Passed to tools as ``RunContext.deps``.
            variables: Variables for a ``Template`` of instructions.
            model_settings: Settings overriding the agent's for this run.
            usage_limits: Limits replacing the agent's for this run.
            output_type: The type of ``RunResult.output`` for this run, replacing the
                agent's ``output_type`` (``str``: text).

        Returns:
            The ``RunResult`` (``paused`` when a tool call waits for approval).

        Raises:
            AgentRunError: A limit was hit or the run could not finish (subclasses say
                which); ``.messages`` holds the conversation so far.
            APIError: The provider failed after the client's retries (``.messages`` too).
            SessionBusyError: Another run holds the session (``on_busy="raise"``).
        """
        args = RunArgs(
            prompt, history, deps, variables, model_settings, usage_limits, session,
            output_type=output_type,
        )  # fmt: skip
        return await self._result(self._prepare(args))

    @overload
    def run_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: None = None,
    ) -> RunResult[OutputT]: ...

    @overload
    def run_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: type[RunOutputT],
    ) -> RunResult[RunOutputT]: ...

    @overload
    def run_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: OutputTypeForm,
    ) -> RunResult[Any]: ...

    def run_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
    ) -> RunResult[Any]:
        """``run`` without an event loop, on the sync ``Client``.

        Sync tools run in this thread (several calls of a turn on threads of their own);
        async tools with ``asyncio.run``.

        Raises:
            UserError: Called while an event loop is running in this thread (use
                ``await agent.run(...)`` there).
        """
        _require_no_loop("run_sync", "await agent.run(...)")
        args = RunArgs(
            prompt, history, deps, variables, model_settings, usage_limits, session,
            output_type=output_type,
        )  # fmt: skip
        return self._result_sync(self._prepare(args))

    def stream(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
    ) -> AgentStream:
        """Run with streamed responses, yielding typed events; the last is ``RunFinished``.

        Arguments as for ``run``. Use it as ``async with agent.stream(...) as events:``
        to close the open response the moment the block ends (also on ``break``); a
        plain ``async for`` closes it when the stream object is dropped, or after
        ``idle_timeout`` seconds without being read.
        """
        args = RunArgs(
            prompt, history, deps, variables, model_settings, usage_limits, session,
            output_type=output_type,
        )  # fmt: skip
        from agentkit.agent.streams import AgentStream  # loaded by the first stream

        return AgentStream(run_events(self._launch, self._prepare(args), streamed=True))

    def stream_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
    ) -> SyncAgentStream:
        """The sync twin of ``stream``: an iterator of the same events; use it as
        ``with agent.stream_sync(...) as events:`` to close it deterministically."""
        _require_no_loop("stream_sync", "agent.stream(...)")
        args = RunArgs(
            prompt, history, deps, variables, model_settings, usage_limits, session,
            output_type=output_type,
        )  # fmt: skip
        from agentkit.agent.streams import SyncAgentStream

        return SyncAgentStream(run_events_sync(self._launch, self._prepare(args), streamed=True))

    @overload
    async def resume(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: None = None,
    ) -> RunResult[OutputT]: ...

    @overload
    async def resume(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: type[RunOutputT],
    ) -> RunResult[RunOutputT]: ...

    @overload
    async def resume(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: OutputTypeForm,
    ) -> RunResult[Any]: ...

    async def resume(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
    ) -> RunResult[Any]:
        """Go on with a paused run: the decided calls run (or are refused), then the loop
        continues; the model is not asked again for the paused turn.

        Args:
            paused: The ``PausedRun`` (``result.pause``, or ``PausedRun.from_json(...)``);
                or leave it out and give the ``session`` that keeps it.
            decisions: ``{tool_call_id: Approve() | Approve(arguments={...}) |
                Reject("reason")}``, one for every pending request (or their JSON form).
            session: Resume the run kept in this session: its paused run, or — after a
                process died mid-run — the turn it left unfinished (finished model answers
                and tool results are not redone; an interrupted call runs again, unless
                its tool is ``idempotent=False``: then it becomes an approval request).
            deps, variables, model_settings, usage_limits, output_type: As for ``run``
                (give the same ``output_type`` as the paused run).

        Raises:
            UserError: The state was written for other tools or changed since it was shown,
                a decision is missing or for an unknown call, or replacement arguments do
                not fit the tool's schema.
        """
        args = RunArgs(
            None, None, deps, variables, model_settings, usage_limits, session, paused,
            decisions, resume=True, output_type=output_type,
        )  # fmt: skip
        return await self._result(self._prepare(args))

    @overload
    def resume_sync(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: None = None,
    ) -> RunResult[OutputT]: ...

    @overload
    def resume_sync(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: type[RunOutputT],
    ) -> RunResult[RunOutputT]: ...

    @overload
    def resume_sync(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: DepsT | None = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: OutputTypeForm,
    ) -> RunResult[Any]: ...

    def resume_sync(
        self,
        paused: PausedRun | None = None,
        decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
        *,
        session: Session | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
    ) -> RunResult[Any]:
        """``resume`` without an event loop, on the sync ``Client``."""
        _require_no_loop("resume_sync", "await agent.resume(...)")
        args = RunArgs(
            None, None, deps, variables, model_settings, usage_limits, session, paused,
            decisions, resume=True, output_type=output_type,
        )  # fmt: skip
        return self._result_sync(self._prepare(args))

    # ------------------------------------------------------------------ run plumbing

    async def _result(self, start: RunState | RunArgs) -> RunResult[Any]:
        # Closed at once: a session run's lease is released when the run returns, not
        # whenever the abandoned generator is collected. (try/finally, not aclosing: no
        # object more per run in flight.)
        ev = run_events(self._launch, start, streamed=False)
        try:
            async for event in ev:
                if isinstance(event, RunFinished):
                    return event.result
        finally:
            await ev.aclose()
        raise AssertionError("a run always ends with RunFinished")  # pragma: no cover

    def _result_sync(self, start: RunState | RunArgs) -> RunResult[Any]:
        with contextlib.closing(run_events_sync(self._launch, start, streamed=False)) as ev:
            for event in ev:
                if isinstance(event, RunFinished):
                    return event.result
        raise AssertionError("a run always ends with RunFinished")  # pragma: no cover

    def _prepare(self, args: RunArgs) -> RunState | RunArgs:
        """The run's state now (argument errors raise here), or, for a session run, the
        arguments to build it from once the session's lease is held."""
        if args.decisions is not None:
            from agentkit.approvals import check_decisions_argument

            args = args._replace(decisions=check_decisions_argument(args.decisions))
        if args.session is None:
            return self._state(args, None)
        if args.history is not None:
            raise UserError("give a run either session= or history=, not both")
        if not callable(getattr(args.session, "alease", None)):
            raise UserError(
                f"session must be a Session (store.session(id)), got {type(args.session).__name__}"
            )
        if args.paused is not None:
            raise UserError("resume takes either a PausedRun or session=, not both")
        return args


def _require_no_loop(method: str, instead: str) -> None:
    if not loop_running():
        return
    raise UserError(
        f"Agent.{method}() cannot be called while an event loop is running in this thread; "
        f"use {instead} instead"
    )
