"""``Agent``: a model, instructions and tools, run as a loop until the model answers.

Every decision of the loop lives in the pure step machine (``agentkit._run``); this module
holds the two thin drivers that do the I/O: an async one (``run``, ``stream``) on
``AsyncClient`` and a sync one (``run_sync``, ``stream_sync``) on ``Client``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, Literal, Protocol, TypeGuard, runtime_checkable

from typing_extensions import TypeVar

from agentkit._run import (
    AgentSpec,
    CallOutcome,
    ModelSettings,
    OnToolError,
    OutputMode,
    OutputSpec,
    PendingCall,
    RunState,
    build_kwargs,
)
from agentkit.client import AsyncClient, Client
from agentkit.context import RunContext
from agentkit.errors import AgentkitError, APITimeoutError, RunTimeoutError, UserError
from agentkit.events import (
    Hooks,
    RunFinished,
    StreamEvent,
    TextDelta,
    ToolCallArgsDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.messages import ChatCompletion, ChatCompletionChunk, Message
from agentkit.result import RunResult
from agentkit.templates import Template
from agentkit.tool import Tool, _start_daemon_thread
from agentkit.usage import Usage, UsageLimits

__all__ = ["Agent", "ModelSettings"]

logger = logging.getLogger("agentkit")

OutputT = TypeVar("OutputT", default=str)


class Agent(Generic[OutputT]):
    """A model with instructions and tools, run as a tool-calling loop.

    An agent is immutable once built and safe to share between concurrent runs (build it
    once, e.g. at a web server's start-up). Everything per run lives in the run.

    Args:
        model: The model name; by default the client's (``AGENTKIT_MODEL`` or
            ``"gpt-5.4-mini"``).
        instructions: The system message: a ``str`` (sent as is) or a ``Template``
            rendered on every run with the run's ``variables``.
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
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        instructions: str | Template | None = None,
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
    ) -> None:
        if instructions is not None and not isinstance(instructions, (str, Template)):
            raise UserError(
                "instructions must be a str or an agentkit Template, "
                f"got {type(instructions).__name__}"
            )
        if client is not None and not isinstance(client, (Client, AsyncClient)):
            raise UserError(f"client must be a Client or AsyncClient, got {type(client).__name__}")
        if on_tool_error not in ("report", "raise"):
            raise UserError(f"on_tool_error must be 'report' or 'raise', not {on_tool_error!r}")
        if max_turns < 1 or tool_concurrency < 1:
            raise UserError("max_turns and tool_concurrency must be at least 1")
        output = (
            None
            if output_type is None or output_type is str
            else OutputSpec(output_type, output_mode)
        )
        self._name = name
        self._output_type = output_type
        self._instructions = instructions
        self._hooks = hooks
        self._tool_concurrency = tool_concurrency
        # MCP (issue 15): tool sources are resolved per run, see _resolve_sources_*.
        self._sources: list[ToolSource] = [t for t in tools if _is_tool_source(t)]
        self._started_sources: dict[int, ToolSource] = {}
        self._spec = AgentSpec.build(
            model=model,
            tools=[t for t in tools if not _is_tool_source(t)],  # type: ignore[misc]
            settings=ModelSettings.coerce(model_settings),
            output=output,
            max_turns=max_turns,
            usage_limits=usage_limits,
            run_timeout=run_timeout,
            reset_tool_choice=reset_tool_choice,
            on_tool_error=on_tool_error,
            max_repeated_tool_calls=max_repeated_tool_calls,
            max_tool_result_chars=max_tool_result_chars,
            output_retries=output_retries,
            unknown_tool_retries=unknown_tool_retries,
        )
        # Static instructions become one shared system message, built once.
        self._system: Message | None = None
        if isinstance(instructions, str) or instructions is None:
            self._system = self._system_message(instructions)
        self._bind_client(client)

    def _bind_client(self, client: Client | AsyncClient | None) -> None:
        self._client = client
        self._sync_client: Client | None = client if isinstance(client, Client) else None
        # Async clients the agent builds itself (the default, or the twin of a sync
        # Client) are kept per event loop: pooled connections must not outlive their loop,
        # e.g. across two `asyncio.run(agent.run(...))` calls.
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._client_lock = threading.Lock()

    def with_client(self, client: Client | AsyncClient) -> Agent[OutputT]:
        """A copy of this agent whose requests go through ``client``.

        Tools, instructions and settings are shared (they are immutable); only the client
        differs. Handy to point an agent defined elsewhere at the emulator or another server.
        """
        if not isinstance(client, (Client, AsyncClient)):
            raise UserError(f"client must be a Client or AsyncClient, got {type(client).__name__}")
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
    def instructions(self) -> str | Template | None:
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
        c = self._sync_client
        if c is None:
            with self._client_lock:
                if self._sync_client is None:
                    base = self._client
                    self._sync_client = (
                        base.to_sync() if isinstance(base, AsyncClient) else Client()
                    )
                c = self._sync_client
        return c

    def _get_async_client(self) -> AsyncClient:
        base = self._client
        if isinstance(base, AsyncClient):
            return base
        loop = asyncio.get_running_loop()
        c = self._async_clients.get(loop)
        if c is None:
            with self._client_lock:
                c = self._async_clients.get(loop)
                if c is None:
                    c = base.to_async() if isinstance(base, Client) else AsyncClient()
                    self._async_clients[loop] = c
        return c

    def close(self) -> None:
        """Close the sync client the agent built itself (not a client you passed in), and
        the tool sources its runs started (not those held open by ``with source:``)."""
        if self._sync_client is not None and self._sync_client is not self._client:
            self._sync_client.close()
            self._sync_client = None
        for source in self._sources_to_close():
            source.close()

    async def aclose(self) -> None:
        """Close the clients the agent built itself for this event loop, and ``close()``.

        A client you passed in is left open: close it yourself.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - only reachable via odd event-loop setups
            loop = None
        client = self._async_clients.pop(loop, None) if loop is not None else None
        if client is not None:
            await client.aclose()
        for source in self._sources_to_close():
            await source.aclose()
        self.close()

    # ------------------------------------------------------------------ runs

    def _system_message(self, text: str | None) -> Message | None:
        output = self._spec.output
        if output is not None:
            text = f"{text}\n\n{output.instructions}" if text else output.instructions
        return None if text is None else {"role": "system", "content": text}

    def _start(
        self,
        prompt: str | Message | None,
        history: Sequence[Message] | None,
        deps: Any,
        variables: Mapping[str, Any] | None,
        model_settings: ModelSettings | Mapping[str, Any] | None,
        usage_limits: UsageLimits | None,
        resolved: tuple[AgentSpec, list[str]] | None = None,
    ) -> RunState:
        if isinstance(self._instructions, Template):
            system = self._system_message(self._instructions.render(variables))
        elif variables:
            raise UserError(
                "variables were given but the instructions are not a Template; "
                "wrap them in agentkit.Template(...) to render them"
            )
        else:
            system = self._system
        base, notes = resolved if resolved is not None else (self._spec, [])
        spec = base.with_settings(model_settings)
        if usage_limits is not None:
            spec = _replace_limits(spec, usage_limits)
        state = RunState(spec, system=system, prompt=prompt, history=history, deps=deps)
        state.notes.extend(notes)
        return state

    async def run(
        self,
        prompt: str | Message | None = None,
        *,
        history: Sequence[Message] | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
    ) -> RunResult[OutputT]:
        """Run the loop until the model answers without calling a tool.

        Args:
            prompt: The user's message (a ``str``, or a message dict, e.g. from
                ``client.user_message(text, images)``). May be omitted to continue a
                ``history``.
            history: Earlier messages (e.g. ``RunResult.messages`` of the previous turn).
                Orphaned tool calls get an "interrupted" result before anything is sent.
            deps: Passed to tools as ``RunContext.deps``.
            variables: Variables for a ``Template`` of instructions.
            model_settings: Settings overriding the agent's for this run.
            usage_limits: Limits replacing the agent's for this run.

        Returns:
            The ``RunResult``.

        Raises:
            AgentRunError: A limit was hit or the run could not finish (subclasses say
                which); ``.messages`` holds the conversation so far.
            APIError: The provider failed after the client's retries (``.messages`` too).
        """
        resolved = await self._resolve_sources_async()
        state = self._start(
            prompt, history, deps, variables, model_settings, usage_limits, resolved
        )
        async for event in self._drive_async(state, streamed=False):
            if isinstance(event, RunFinished):
                return event.result
        raise AssertionError("a run always ends with RunFinished")  # pragma: no cover

    def run_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Sequence[Message] | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
    ) -> RunResult[OutputT]:
        """``run`` without an event loop, on the sync ``Client``.

        Sync tools run in a thread pool (async tools with ``asyncio.run`` in a worker).

        Raises:
            UserError: Called while an event loop is running in this thread (use
                ``await agent.run(...)`` there).
        """
        _require_no_loop("run_sync", "await agent.run(...)")
        resolved = self._resolve_sources_sync()
        state = self._start(
            prompt, history, deps, variables, model_settings, usage_limits, resolved
        )
        for event in self._drive_sync(state, streamed=False):
            if isinstance(event, RunFinished):
                return event.result
        raise AssertionError("a run always ends with RunFinished")  # pragma: no cover

    def stream(
        self,
        prompt: str | Message | None = None,
        *,
        history: Sequence[Message] | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Run with streamed responses, yielding typed events; the last is ``RunFinished``.

        Arguments as for ``run``. Breaking out of the loop closes the open response.
        """
        if self._sources:
            return self._stream_with_sources(
                lambda resolved: self._start(
                    prompt, history, deps, variables, model_settings, usage_limits, resolved
                )
            )
        state = self._start(prompt, history, deps, variables, model_settings, usage_limits)
        return self._drive_async(state, streamed=True)

    def stream_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Sequence[Message] | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
    ) -> Iterator[StreamEvent]:
        """The sync twin of ``stream``: an iterator of the same events."""
        _require_no_loop("stream_sync", "agent.stream(...)")
        resolved = self._resolve_sources_sync()
        state = self._start(
            prompt, history, deps, variables, model_settings, usage_limits, resolved
        )
        return self._drive_sync(state, streamed=True)

    def as_tool(self, *, name: str | None = None, description: str | None = None) -> Tool[Any, Any]:
        """This agent as a tool another agent can call with a ``task`` string.

        The sub-run gets the caller's ``deps``, runs async in async runs and sync in sync
        runs, and its usage is added to the caller's (so the caller's limits cover it).

        Args:
            name: The tool name; the agent's ``name`` by default (else ``"ask_agent"``).
            description: What the calling model reads about the tool.
        """
        tool_name = name or self._name or "ask_agent"
        return _AgentTool(
            self, tool_name, description or f"Ask the {tool_name!r} agent to do a task."
        )

    # ---------------------------------------------- tool sources (MCP, issue 15)
    # A minimal wiring until the new run core lands: each run lists the sources' tools
    # (cached by the sources) and runs on a per-run AgentSpec holding them.

    async def _resolve_sources_async(self) -> tuple[AgentSpec, list[str]] | None:
        if not self._sources:
            return None
        listed: list[tuple[ToolSource, list[Tool[Any, Any]] | BaseException]] = []
        for source in self._sources:
            self._started_sources.setdefault(id(source), source)
            try:
                listed.append((source, await source.list_tools()))
            except AgentkitError as exc:
                listed.append((source, exc))
        return _spec_with_sources(self._spec, listed)

    def _resolve_sources_sync(self) -> tuple[AgentSpec, list[str]] | None:
        if not self._sources:
            return None
        listed: list[tuple[ToolSource, list[Tool[Any, Any]] | BaseException]] = []
        for source in self._sources:
            self._started_sources.setdefault(id(source), source)
            try:
                listed.append((source, source.list_tools_sync()))
            except AgentkitError as exc:
                listed.append((source, exc))
        return _spec_with_sources(self._spec, listed)

    async def _stream_with_sources(
        self, start: Callable[[tuple[AgentSpec, list[str]] | None], RunState]
    ) -> AsyncIterator[StreamEvent]:
        state = start(await self._resolve_sources_async())
        async for event in self._drive_async(state, streamed=True):
            yield event

    def _sources_to_close(self) -> list[ToolSource]:
        started, self._started_sources = self._started_sources, {}
        return [s for s in started.values() if not getattr(s, "in_context", False)]

    # ------------------------------------------------------------------ drivers

    async def _drive_async(self, state: RunState, *, streamed: bool) -> AsyncIterator[StreamEvent]:
        hooks = self._hooks
        try:
            client = self._get_async_client()
            while not state.done:
                request = state.next_request()
                if hooks is not None:
                    hooks.on_request({"messages": request.messages, **request.kwargs})
                remaining = state.remaining()
                kwargs = request.kwargs
                if remaining is not None:
                    kwargs = {**kwargs, "timeout": max(remaining, 0.001)}
                if streamed:
                    async with client.stream(request.messages, **kwargs) as chunks:
                        async for chunk in chunks:
                            for event in _chunk_events(chunk):
                                yield event
                            if remaining is not None:
                                state.check_deadline()
                        completion = chunks.accumulator.completion()
                elif remaining is None:
                    completion = await client.create(request.messages, **kwargs)
                else:
                    completion = await asyncio.wait_for(
                        client.create(request.messages, **kwargs), max(remaining, 0.001)
                    )
                calls = self._after_response(state, completion)
                if streamed:
                    yield _turn_event(state, completion)
                if not calls:
                    continue
                if streamed:
                    for pc in calls:
                        yield ToolCallStarted(pc.call.id, pc.call.name, pc.call.arguments)
                outcomes = await self._run_calls_async(state, calls)
                state.apply_results(outcomes)
                for event in self._after_results(calls, streamed):
                    yield event
            yield RunFinished(state.result())
        except BaseException as exc:
            new = _finish_error(state, exc)
            if new is exc:
                raise
            raise new from exc

    def _drive_sync(self, state: RunState, *, streamed: bool) -> Iterator[StreamEvent]:
        hooks = self._hooks
        try:
            client = self._get_sync_client()
            while not state.done:
                request = state.next_request()
                if hooks is not None:
                    hooks.on_request({"messages": request.messages, **request.kwargs})
                remaining = state.remaining()
                kwargs = request.kwargs
                if remaining is not None:
                    kwargs = {**kwargs, "timeout": max(remaining, 0.001)}
                if streamed:
                    with client.stream(request.messages, **kwargs) as chunks:
                        for chunk in chunks:
                            yield from _chunk_events(chunk)
                            if remaining is not None:
                                state.check_deadline()
                        completion = chunks.accumulator.completion()
                else:
                    completion = client.create(request.messages, **kwargs)
                calls = self._after_response(state, completion)
                if streamed:
                    yield _turn_event(state, completion)
                if not calls:
                    continue
                if streamed:
                    for pc in calls:
                        yield ToolCallStarted(pc.call.id, pc.call.name, pc.call.arguments)
                outcomes = self._run_calls_sync(state, calls)
                state.apply_results(outcomes)
                yield from self._after_results(calls, streamed)
            yield RunFinished(state.result())
        except BaseException as exc:
            new = _finish_error(state, exc)
            if new is exc:
                raise
            raise new from exc

    def _after_response(self, state: RunState, completion: ChatCompletion) -> list[PendingCall]:
        hooks = self._hooks
        if hooks is not None:
            hooks.on_response(completion)
        calls = state.apply_response(completion)
        if hooks is not None:
            for pc in calls:
                hooks.on_tool_call(pc.call)
        return calls

    def _after_results(self, calls: list[PendingCall], streamed: bool) -> Iterator[StreamEvent]:
        hooks = self._hooks
        for pc in calls:
            content = pc.content or ""
            if hooks is not None:
                hooks.on_tool_result(pc.call, content, pc.is_error)
            if streamed:
                yield ToolCallResult(pc.call.id, pc.call.name, content, pc.is_error)

    async def _run_calls_async(
        self, state: RunState, calls: list[PendingCall]
    ) -> list[CallOutcome | None]:
        runnable = [pc for pc in calls if pc.kwargs is not None]
        if not runnable:
            return [None] * len(calls)
        limit = asyncio.Semaphore(self._tool_concurrency)

        async def one(pc: PendingCall) -> CallOutcome:
            async with limit:
                assert pc.tool is not None and pc.kwargs is not None
                try:
                    if pc.timeout is None:
                        return CallOutcome(await pc.tool.invoke(pc.kwargs, pc.ctx))
                    # own_thread: a sync tool abandoned at its timeout (or the run's
                    # deadline) must not hold a default-executor worker nor delay exit.
                    call = pc.tool.invoke(pc.kwargs, pc.ctx, own_thread=True)
                    return CallOutcome(await asyncio.wait_for(call, pc.timeout))
                except asyncio.TimeoutError:  # not the builtin TimeoutError before 3.11
                    state.check_deadline()
                    return CallOutcome(error=_tool_timeout(pc))
                except Exception as exc:
                    return CallOutcome(error=exc)

        if len(runnable) == 1:
            done = {id(runnable[0]): await one(runnable[0])}
        else:
            tasks = [asyncio.ensure_future(one(pc)) for pc in runnable]
            try:
                results = await asyncio.gather(*tasks)
            except BaseException:
                # One failing (the run's deadline) or cancellation: leave no task behind.
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            done = {id(pc): r for pc, r in zip(runnable, results, strict=True)}
        return [done.get(id(pc)) for pc in calls]

    def _run_calls_sync(
        self, state: RunState, calls: list[PendingCall]
    ) -> list[CallOutcome | None]:
        runnable = [pc for pc in calls if pc.kwargs is not None]
        if not runnable:
            return [None] * len(calls)
        if len(runnable) == 1 and runnable[0].timeout is None:
            # The common case: one call, no timeout. No thread needed.
            return [_call_sync(pc) if pc is runnable[0] else None for pc in calls]
        gate = threading.BoundedSemaphore(self._tool_concurrency)
        jobs = [_SyncCall(pc, gate) for pc in runnable]
        for job in jobs:
            # Daemon threads, not a pool: a call past its timeout cannot be stopped, and a
            # pool's threads are joined at interpreter exit, so one hung tool would keep a
            # finished script from exiting.
            _start_daemon_thread(f"agentkit-tool-{job.pc.call.name}", job.run, job.deliver)
        done = {}
        for job in jobs:
            outcome = job.wait()
            if outcome is None:
                state.check_deadline()
                outcome = CallOutcome(error=_tool_timeout(job.pc))
            done[id(job.pc)] = outcome
        return [done.get(id(pc)) for pc in calls]


class _SyncCall:
    """One tool call of a sync run, on a thread of its own behind the turn's ``gate``.

    Its timeout counts from when it starts running, not while it waits for the gate. A call
    abandoned at its timeout gives its gate slot back at once (``release`` runs once, by
    whichever side gets there first), so a hung tool cannot block the turn's other calls.
    """

    def __init__(self, pc: PendingCall, gate: threading.BoundedSemaphore) -> None:
        self.pc = pc
        self._gate = gate
        self._lock = threading.Lock()
        self._holding = False
        self._started = threading.Event()
        self._done = threading.Event()
        self._outcome: CallOutcome | None = None

    def run(self) -> CallOutcome:
        self._gate.acquire()
        with self._lock:
            self._holding = True
        self._started.set()
        return _call_sync(self.pc)

    def deliver(self, outcome: tuple[bool, Any]) -> None:
        ok, value = outcome
        self._outcome = value if ok else CallOutcome(error=value)
        self._release()
        self._done.set()

    def _release(self) -> None:
        with self._lock:
            if self._holding:
                self._holding = False
                self._gate.release()

    def wait(self) -> CallOutcome | None:
        """The outcome, or ``None`` when the call ran past its timeout (then abandoned)."""
        timeout = self.pc.timeout
        if timeout is None:
            self._done.wait()
        else:
            self._started.wait()
            if not self._done.wait(timeout):
                self._release()
                return None
        return self._outcome


class _AgentTool(Tool[Any, Any]):
    """An agent wrapped as a tool: ``invoke`` runs it async, ``invoke_sync`` sync."""

    def __init__(self, agent: Agent[Any], name: str, description: str) -> None:
        async def run_agent(ctx: RunContext[Any], task: str) -> Any:
            """Ask the agent to do a task.

            Args:
                task: What to do, with everything the agent needs to know.
            """
            result = await agent.run(task, deps=ctx.deps)
            _add_usage(ctx.usage, result.usage)
            return result.output

        super().__init__(run_agent, name=name, description=description)
        self._agent = agent

    def invoke_sync(self, kwargs: dict[str, Any], ctx: RunContext[Any] | None = None) -> Any:
        """Run the agent with ``run_sync`` (no event loop needed)."""
        result = self._agent.run_sync(kwargs["task"], deps=ctx.deps if ctx else None)
        if ctx is not None:
            _add_usage(ctx.usage, result.usage)
        return result.output


def _call_sync(pc: PendingCall) -> CallOutcome:
    assert pc.tool is not None and pc.kwargs is not None
    try:
        return CallOutcome(pc.tool.invoke_sync(pc.kwargs, pc.ctx))
    except Exception as exc:
        return CallOutcome(error=exc)


def _tool_timeout(pc: PendingCall) -> TimeoutError:
    return TimeoutError(f"Tool {pc.call.name!r} did not finish within {pc.timeout} seconds")


def _chunk_events(chunk: ChatCompletionChunk) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for choice in chunk.choices:
        if choice.index != 0:
            continue
        delta = choice.delta
        if delta.content:
            events.append(TextDelta(delta.content))
        for tc in delta.tool_calls:
            events.append(ToolCallArgsDelta(tc.index, tc.id, tc.name, tc.arguments or ""))
    return events


def _turn_event(state: RunState, completion: ChatCompletion) -> TurnFinished:
    u = state.usage
    snapshot = Usage(u.requests, u.tool_calls, u.prompt_tokens, u.completion_tokens, u.total_tokens)
    return TurnFinished(completion.finish_reason, completion.usage, snapshot)


def _finish_error(state: RunState, exc: BaseException) -> BaseException:
    """Turn a timeout past the run's deadline into ``RunTimeoutError``; attach messages."""
    if isinstance(exc, GeneratorExit):
        return exc
    deadline_hit = state.deadline is not None and (state.remaining() or 0) <= 0
    if deadline_hit and isinstance(exc, (APITimeoutError, asyncio.TimeoutError)):
        return RunTimeoutError(
            f"The run exceeded its time limit of {state.spec.run_timeout} s",
            messages=state.snapshot(),
        )
    return state.fail(exc)


@runtime_checkable
class ToolSource(Protocol):
    """Something that provides tools per run, e.g. ``agentkit.mcp.MCPServer``."""

    source_name: str
    on_error: Literal["raise", "skip"]

    async def list_tools(self) -> list[Tool[Any, Any]]:
        """The tools, cached by the source."""
        ...

    def list_tools_sync(self) -> list[Tool[Any, Any]]:
        """The tools, without a running loop."""
        ...

    async def aclose(self) -> None:
        """Release the source."""
        ...

    def close(self) -> None:
        """Release the source from sync code."""
        ...


def _is_tool_source(obj: object) -> TypeGuard[ToolSource]:
    return not isinstance(obj, Tool) and isinstance(obj, ToolSource)


def _spec_with_sources(
    spec: AgentSpec, listed: list[tuple[ToolSource, list[Tool[Any, Any]] | BaseException]]
) -> tuple[AgentSpec, list[str]]:
    """The agent's spec plus the sources' tools; a clash of names is a ``UserError``."""
    owner = {name: "the agent's tools" for name in spec.tools}
    tools = dict(spec.tools)
    notes: list[str] = []
    for source, found in listed:
        where = f"tool source {source.source_name!r}"
        if isinstance(found, BaseException):
            if source.on_error != "skip":
                raise found
            notes.append(f"The {where} was left out of this run: {found}")
            continue
        for t in found:
            if t.name in owner:
                raise UserError(
                    f"Two tools are named {t.name!r}: one from {owner[t.name]}, one from "
                    f"{where}; use the source's prefix= or deny= to tell them apart"
                )
            owner[t.name] = where
            tools[t.name] = t
    kwargs = build_kwargs(spec.model, tools, spec.settings, spec.output)
    tool_choice = spec.settings.tool_choice if tools else None
    return (
        dataclasses.replace(spec, tools=tools, base_kwargs=kwargs, tool_choice=tool_choice),
        notes,
    )


def _require_no_loop(method: str, instead: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise UserError(
        f"Agent.{method}() cannot be called while an event loop is running in this thread; "
        f"use {instead} instead"
    )


def _replace_limits(spec: AgentSpec, limits: UsageLimits) -> AgentSpec:
    return dataclasses.replace(spec, usage_limits=limits)


def _add_usage(into: Usage, other: Usage) -> None:
    into.requests += other.requests
    into.tool_calls += other.tool_calls
    into.prompt_tokens += other.prompt_tokens
    into.completion_tokens += other.completion_tokens
    into.total_tokens += other.total_tokens
