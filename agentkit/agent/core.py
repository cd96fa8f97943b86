"""``Agent``: a model, instructions and tools, run as a loop until the model answers.

The run itself is one flow of effects (``agentkit.agent.flow``) over a pure state
(``agentkit.agent.state``); this module builds runs and hands them to the two drivers.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from agentkit.agent.clients import ClientCache
from agentkit.agent.config import (
    check_agent_waits,
    check_client,
    check_forced_choice,
    check_usage_limits,
    configure,
)
from agentkit.agent.deps import check_deps
from agentkit.agent.immutable import Immutable
from agentkit.agent.instructions import InstructionsFunction, start_instructions
from agentkit.agent.observe import RunObserver
from agentkit.agent.output import OutputMode, OutputSpec, OutputTypeForm
from agentkit.agent.public_runs import DepsT, OutputT, PublicRuns
from agentkit.agent.running import Launch, RunArgs, run_events, run_events_sync, state_for_session
from agentkit.agent.settings import ModelSettings
from agentkit.agent.sources import ToolSource
from agentkit.agent.spec import RETRY_HINT, OnToolError
from agentkit.agent.state import RunState
from agentkit.context import RunContext
from agentkit.errors import UsageLimitExceeded, UserError
from agentkit.events import Hooks, RunFinished
from agentkit.messages import Message
from agentkit.prices import PriceTable
from agentkit.templates import Template
from agentkit.tool import Tool
from agentkit.usage import UsageLimits

if TYPE_CHECKING:
    from agentkit.agent.session_io import Loaded
    from agentkit.approvals import PausedRun
    from agentkit.client import AsyncClient, Client

__all__ = ["Agent"]

logger = logging.getLogger("agentkit")


class Agent(Immutable, PublicRuns[OutputT, DepsT]):
    """A model with instructions and tools, run as a tool-calling loop.

    An agent is immutable once built (assigning an attribute raises
    ``ImmutableAgentError``) and safe to share between concurrent runs (build it once,
    e.g. at a web server's start-up). Everything per run lives in the run.

    Type parameters: ``Agent[OutputT, DepsT]``, inferred from ``output_type`` and
    ``deps_type``.

    Args:
        model: The model name; by default the client's (``AGENTKIT_MODEL`` or
            ``"gpt-5.4-mini"``).
        instructions: The system message: a ``str`` (sent as is), a ``Template``
            rendered on every run with the run's ``variables``, or a function (sync or
            ``async``) called on every run with its ``RunContext`` (``ctx.deps``...)
            returning the text; what it raises becomes a ``UserError`` naming it.
        tools: The tools the model may call (made with ``@tool``), and tool sources such
            as ``agentkit.mcp.MCPServer``, whose tools are listed at the start of each run.
        client: A ``Client`` or ``AsyncClient``; its twin serves the other kind of run.
            By default one is built from the environment on first use.
        output_type: The type of ``RunResult.output``: ``str`` (default), a pydantic
            model, a dataclass, a TypedDict or a simple type such as ``int`` or
            ``list[str]``. Non-``str`` types make the model answer in JSON, validated.
        output_mode: How to ask for structured output: ``"json_object"`` (JSON mode plus
            the schema in the instructions; what gpt-5.4-mini documents) or
            ``"json_schema"`` (``response_format`` with the schema, where supported).
        model_settings: ``ModelSettings`` or a mapping of its fields.
        max_turns: Most model requests in one run (``MaxTurnsExceeded`` beyond).
        usage_limits: Bounds on requests, tool calls and tokens per run.
        run_timeout: Wall-clock seconds one run may take (``RunTimeoutError`` beyond).
        output_retries: How often invalid structured output is sent back for a fix.
        unknown_tool_retries: Retry budget for calls to tools that do not exist.
        on_tool_error: ``"report"`` (the model is told the tool failed; the failure is on
            ``RunResult.tool_failures``) or ``"raise"`` (``ToolExecutionError``).
        reset_tool_choice: After a tool turn forced by ``tool_choice`` (``"required"`` or
            a named function), go back to ``"auto"`` so the model can answer.
        max_repeated_tool_calls: How many turns in a row the exact same tool calls may
            run. The next identical turn is not run: the model is told to use the result
            it has, the next request has ``tool_choice="none"`` and a note is added to
            ``RunResult.notes``; if the model still repeats the call,
            ``RepeatedToolCallError``. ``None`` disables the check.
        max_tool_result_chars: Longer tool results are truncated, with a note saying so
            to the model (``None``: no limit).
        tool_concurrency: Most tool calls of one turn running at the same time.
        hooks: A ``Hooks`` object observing requests, responses, tool calls and results.
        name: A name for logs and for ``as_tool``.
        max_depth: How deep agents used as tools (``as_tool``) may nest under a run
            started by you; deeper sub-runs fail with ``UsageLimitExceeded``.
        on_busy: For runs on a session another run holds: ``"raise"``
            (``SessionBusyError`` at once) or ``"wait"`` for it (up to ``busy_timeout``
            seconds; ``None``: no limit).
        busy_timeout: See ``on_busy``.
        history_turns: Send only the last N turns of the history to the model (cut
            before a user message, never between a tool call and its result; the system
            messages the history starts with and the run's own turn always go); the whole
            history is still kept and returned. ``None``: send everything.
        instrument: OpenTelemetry tracing and metrics: ``True`` (the global providers),
            an ``Instrumentation``, ``False`` (off), or ``None`` (the default set by
            ``agentkit.instrument_all``, else off).
        prices: ``Prices`` for every model, or a mapping from model name to ``Prices``:
            gives ``RunResult.cost`` and allows ``UsageLimits(cost_limit=...)``.
        recover_text_tool_calls: Treat an answer that is exactly a tool call written as
            text (bare JSON, a fenced block, ``<tool_call>`` tags, doubled braces) naming
            an offered tool as that call, with a note in ``RunResult.notes``; streamed
            text is held back while it may be one. ``None``: as the client's profile says
            (on for ``llama.cpp`` and ``ollama``).
        deps_type: The type of the runs' ``deps``, for type checkers
            (``run(deps=...)`` is checked against it) and at run time: a run without
            deps, or (for a class) with deps of another type, is a ``UserError``.
            Independently, a run without deps whose agent has a tool taking
            ``RunContext[T]`` (``T`` not accepting ``None``) is a ``UserError``.
        retry_hint: The line appended to the message of a ``ModelRetry`` a tool raised
            (default ``"Fix the problem and try again."``); ``None`` or ``""``: the
            tool's message is sent alone.
    """

    _clients: ClientCache  # set by _bind_client, also on with_client's copy
    _launch: Launch

    @overload
    def __init__(
        self,
        model: str | None = None,
        *,
        instructions: str | Template | InstructionsFunction[DepsT] | None = None,
        tools: Sequence[Tool[Any, Any] | ToolSource] = (),
        client: Client | AsyncClient | None = None,
        output_type: type[OutputT] | None = None,
        output_mode: OutputMode = "json_object",
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        max_turns: int = 10,
        usage_limits: UsageLimits | None = None,
        run_timeout: float | None = None,
        output_retries: int = 2,
        unknown_tool_retries: int = 2,
        on_tool_error: OnToolError = "report",
        reset_tool_choice: bool = True,
        max_repeated_tool_calls: int | None = 2,
        max_tool_result_chars: int | None = 50_000,
        tool_concurrency: int = 8,
        hooks: Hooks | None = None,
        name: str | None = None,
        max_depth: int = 5,
        instrument: bool | RunObserver | None = None,
        on_busy: Literal["raise", "wait"] = "raise",
        busy_timeout: float | None = None,
        history_turns: int | None = None,
        prices: PriceTable | None = None,
        recover_text_tool_calls: bool | None = None,
        deps_type: type[DepsT] | None = None,
        retry_hint: str | None = RETRY_HINT,
    ) -> None: ...

    @overload
    def __init__(
        self: Agent[Any, DepsT],
        model: str | None = None,
        *,
        instructions: str | Template | InstructionsFunction[DepsT] | None = None,
        tools: Sequence[Tool[Any, Any] | ToolSource] = (),
        client: Client | AsyncClient | None = None,
        output_type: OutputTypeForm,
        output_mode: OutputMode = "json_object",
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        max_turns: int = 10,
        usage_limits: UsageLimits | None = None,
        run_timeout: float | None = None,
        output_retries: int = 2,
        unknown_tool_retries: int = 2,
        on_tool_error: OnToolError = "report",
        reset_tool_choice: bool = True,
        max_repeated_tool_calls: int | None = 2,
        max_tool_result_chars: int | None = 50_000,
        tool_concurrency: int = 8,
        hooks: Hooks | None = None,
        name: str | None = None,
        max_depth: int = 5,
        instrument: bool | RunObserver | None = None,
        on_busy: Literal["raise", "wait"] = "raise",
        busy_timeout: float | None = None,
        history_turns: int | None = None,
        prices: PriceTable | None = None,
        recover_text_tool_calls: bool | None = None,
        deps_type: type[DepsT] | None = None,
        retry_hint: str | None = RETRY_HINT,
    ) -> None: ...

    def __init__(
        self,
        model: str | None = None,
        *,
        instructions: str | Template | InstructionsFunction[DepsT] | None = None,
        tools: Sequence[Tool[Any, Any] | ToolSource] = (),
        client: Client | AsyncClient | None = None,
        output_type: type[OutputT] | OutputTypeForm | None = None,
        output_mode: OutputMode = "json_object",
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        max_turns: int = 10,
        usage_limits: UsageLimits | None = None,
        run_timeout: float | None = None,
        output_retries: int = 2,
        unknown_tool_retries: int = 2,
        on_tool_error: OnToolError = "report",
        reset_tool_choice: bool = True,
        max_repeated_tool_calls: int | None = 2,
        max_tool_result_chars: int | None = 50_000,
        tool_concurrency: int = 8,
        hooks: Hooks | None = None,
        name: str | None = None,
        max_depth: int = 5,
        instrument: bool | RunObserver | None = None,
        on_busy: Literal["raise", "wait"] = "raise",
        busy_timeout: float | None = None,
        history_turns: int | None = None,
        prices: PriceTable | None = None,
        recover_text_tool_calls: bool | None = None,
        deps_type: type[DepsT] | None = None,
        retry_hint: str | None = RETRY_HINT,
    ) -> None:
        check_agent_waits(busy_timeout, max_depth)
        setup = configure(
            model, instructions=instructions, tools=tools, client=client,
            output_type=output_type, output_mode=output_mode, model_settings=model_settings,
            max_turns=max_turns, usage_limits=usage_limits, run_timeout=run_timeout,
            output_retries=output_retries, unknown_tool_retries=unknown_tool_retries,
            on_tool_error=on_tool_error, reset_tool_choice=reset_tool_choice,
            max_repeated_tool_calls=max_repeated_tool_calls,
            max_tool_result_chars=max_tool_result_chars, tool_concurrency=tool_concurrency,
            instrument=instrument, on_busy=on_busy, history_turns=history_turns, prices=prices,
            recover_text_tool_calls=recover_text_tool_calls, retry_hint=retry_hint,
        )  # fmt: skip
        self._name, self._instructions, self._hooks = name, instructions, hooks
        # A special form (Literal[...]) only comes through the overload typing the agent
        # Agent[Any, ...], where type[OutputT] is type[Any]: the property may say so.
        self._output_type = cast("type[OutputT] | None", output_type)
        self._deps_type = deps_type
        self._output_mode: OutputMode = output_mode
        self._outputs: dict[Any, OutputSpec | None] = {}  # per-run output types, built once
        self._tool_concurrency, self._max_depth = tool_concurrency, max_depth
        self._on_busy: Literal["raise", "wait"] = on_busy
        self._busy_timeout = busy_timeout
        self._spec, self._sources, self._system = setup.spec, setup.sources, setup.system
        self._observer, self._prices = setup.observer, setup.prices
        self._bind_client(client)
        self._freeze()

    def _bind_client(self, client: Client | AsyncClient | None) -> None:
        self._set("_clients", ClientCache(client))
        self._set("_launch", Launch(
            make_state=self._state,
            clients=self._clients,
            hooks=self._hooks,
            observer=self._observer,
            agent_name=self._name,
            model=self._spec.model,
            concurrency=self._tool_concurrency,
            on_busy=self._on_busy,
            busy_timeout=self._busy_timeout,
            run_timeout=self._spec.run_timeout,
        ))  # fmt: skip

    def with_client(self, client: Client | AsyncClient) -> Agent[OutputT, DepsT]:
        """A copy of this agent whose requests go through ``client``.

        Tools, instructions and settings are shared (they are immutable); only the client
        differs. Handy to point an agent defined elsewhere at the emulator or another server.
        """
        check_client(client)
        twin = copy.copy(self)
        twin._bind_client(client)
        return twin

    def __repr__(self) -> str:
        tools = ", ".join(self._spec.tools)
        return f"Agent(name={self._name!r}, model={self._spec.model!r}, tools=[{tools}])"

    @property
    def name(self) -> str | None:
        """The agent's name (for logs and ``as_tool``)."""
        return self._name

    @property
    def deps_type(self) -> type[DepsT] | None:
        """The declared type of the runs' ``deps`` (``None``: not declared)."""
        return self._deps_type

    @property
    def instructions(self) -> str | Template | InstructionsFunction[DepsT] | None:
        """The instructions as given."""
        return self._instructions

    @property
    def output_type(self) -> type[OutputT] | None:
        """The structured output type, or ``None`` for text."""
        return self._output_type

    @property
    def hooks(self) -> Hooks | None:
        """The hooks observing each run."""
        return self._hooks

    @property
    def model(self) -> str | None:
        """The model name requests carry (``None``: the client's default)."""
        return self._spec.model

    @property
    def tools(self) -> list[Tool[Any, Any]]:
        """The agent's tools (a copy)."""
        return list(self._spec.tools.values())

    @property
    def model_settings(self) -> ModelSettings:
        """The model settings of every run."""
        return self._spec.settings

    # ------------------------------------------------------------------ clients

    def _get_sync_client(self) -> Client:
        return self._clients.get_sync()

    async def _get_async_client(self) -> AsyncClient:
        return await self._clients.get_async()

    def close(self) -> None:
        """Close the sync client the agent built itself (not a client you passed in), and
        the agent's tool sources (not those held open by ``with source:``)."""
        self._clients.close()
        for source in self._sources_to_close():
            source.close()

    async def aclose(self) -> None:
        """Close the clients the agent built itself for this event loop, and ``close()``.

        A client you passed in is left open: close it yourself.
        """
        await self._clients.aclose()
        for source in self._sources_to_close():
            await source.aclose()
        self.close()

    # ------------------------------------------------------------------ runs

    def _output_spec(self, output_type: Any) -> OutputSpec | None:
        if output_type is self._output_type:
            return self._spec.output
        if output_type is str:
            return None
        try:
            return self._outputs[output_type]
        except (KeyError, TypeError):  # TypeError: an unhashable hint, built every time
            spec = OutputSpec(output_type, self._output_mode)
        with contextlib.suppress(TypeError):
            self._outputs[output_type] = spec
        return spec

    def _start(
        self,
        prompt: str | Message | None,
        history: Iterable[Message] | None,
        deps: Any,
        variables: Mapping[str, Any] | None,
        model_settings: ModelSettings | Mapping[str, Any] | None,
        usage_limits: UsageLimits | None,
        resume: PausedRun | None = None,
        decisions: Mapping[str, Any] | None = None,
        *,
        output_type: Any = None,
    ) -> RunState:
        spec = self._spec.with_settings(model_settings)
        if model_settings is not None:  # checked as the agent's own settings are
            check_forced_choice(spec.settings.tool_choice, list(spec.tools.values()), self._sources)
        if usage_limits is not None:
            check_usage_limits(usage_limits)
            spec = spec._replace(usage_limits=usage_limits)
        if output_type is not None:
            spec = spec.with_output(self._output_spec(output_type))
        check_deps(deps, self._deps_type, spec.tools.values(), self._name)
        static = spec.output is self._spec.output and not variables and (
            self._instructions is None or isinstance(self._instructions, str)
        )  # fmt: skip
        state = RunState(
            spec,
            system=self._system if static else None,
            prompt=prompt,
            history=history,
            deps=deps,
            resume=resume,
            decisions=decisions,
        )
        if not static:
            start_instructions(self._instructions, variables, state)
        state.sources = self._sources
        state.set_prices(self._prices)
        return state

    def _sources_to_close(self) -> list[ToolSource]:
        # Sources held open by the caller's own `with source:` block stay open.
        return [s for s in self._sources if not getattr(s, "in_context", False)]

    def _state(self, args: RunArgs, loaded: Loaded | None) -> RunState:
        def make(
            prompt: str | Message | None,
            history: Iterable[Message] | None,
            paused: PausedRun | None,
            decisions: Mapping[str, Any] | None,
        ) -> RunState:
            return self._start(
                prompt, history, args.deps, args.variables, args.model_settings,
                args.usage_limits, paused, decisions, output_type=args.output_type,
            )  # fmt: skip

        if loaded is not None:
            assert args.session is not None
            return state_for_session(make, args, loaded, args.session.id)
        if not args.resume:
            return make(args.prompt, args.history, None, None)
        from agentkit.approvals import PausedRun

        if not isinstance(args.paused, PausedRun):
            raise UserError(
                "resume needs the PausedRun (result.pause or PausedRun.from_json(text)) or "
                f"session=, got {type(args.paused).__name__}"
            )
        if args.decisions is None or not isinstance(args.decisions, Mapping):
            raise UserError("resume needs decisions: {tool_call_id: Approve() | Reject(...)}")
        return make(None, None, args.paused, args.decisions)

    def as_tool(self, *, name: str | None = None, description: str | None = None) -> Tool[Any, Any]:
        """This agent as a tool another agent can call with a ``task`` string.

        The sub-run gets the caller's ``deps``, runs async in async runs and sync in sync
        runs, and its usage is added to the caller's (so the caller's limits cover it).

        Args:
            name: The tool name; the agent's ``name`` by default (else ``"ask_agent"``).
            description: What the calling model reads about the tool.
        """
        from agentkit.agent.subagent import AgentTool  # only agents used as tools need it
        from agentkit.schema.signature import TOOL_NAME

        tool_name = name or self._name or "ask_agent"
        if not isinstance(tool_name, str) or not TOOL_NAME.fullmatch(tool_name):
            # An agent's name is for people and logs too ("Research Assistant"): say whose
            # name it is and what to do, not which internal function it would have named.
            given = "name" if name else "the agent's name"
            raise UserError(
                f"as_tool: {given} {tool_name!r} is no valid tool name (1-64 letters, "
                "digits, '_' or '-'): pass as_tool(name=...)"
            )
        return AgentTool(
            self, tool_name, description or f"Ask the {tool_name!r} agent to do a task."
        )

    # ------------------------------------------------------------------ sub-runs

    def _child_state(
        self, task: str, ctx: RunContext[Any], timeout: float | None = None
    ) -> RunState:
        depth = ctx.depth + 1
        if depth > self._max_depth:
            raise UsageLimitExceeded(
                f"Agent {self._name or 'agent'!r} would run {depth} agents deep, over its "
                f"max_depth={self._max_depth} (an agent calling itself through a tool?)"
            )
        from agentkit.agent.subagent import remaining_limits

        limits = remaining_limits(ctx, self._spec.usage_limits)
        state = self._start(task, None, ctx.deps, None, None, limits)
        state.depth = depth
        if timeout is not None:  # the caller stops waiting then: so does the sub-run
            until = time.monotonic() + timeout
            if state.deadline is None or until < state.deadline:
                state.deadline = until
        return state

    async def _run_child(self, task: str, ctx: RunContext[Any]) -> Any:
        from agentkit.agent.subagent import counted, sub_output

        with counted(ctx.usage):
            state = self._child_state(task, ctx)
            async for event in run_events(self._launch, state, streamed=False):
                if isinstance(event, RunFinished):
                    return sub_output(event.result, self._name)
        raise AssertionError("a run always ends with RunFinished")  # pragma: no cover

    def _run_child_sync(self, task: str, ctx: RunContext[Any], timeout: float | None) -> Any:
        from agentkit.agent.subagent import counted, sub_output

        with counted(ctx.usage):
            state = self._child_state(task, ctx, timeout)
            for event in run_events_sync(self._launch, state, streamed=False):
                if isinstance(event, RunFinished):
                    return sub_output(event.result, self._name)
        raise AssertionError("a run always ends with RunFinished")  # pragma: no cover
