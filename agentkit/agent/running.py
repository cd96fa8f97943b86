"""Starting a run: its state (from arguments, a paused run or a session), the client, the
observer, and the driver that interprets its flow.

A run with a ``session`` holds the session's lease for its whole length: the stored history
is loaded under the lease, and the flow's ``Save`` effects go through it.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from agentkit.agent import observe
from agentkit.agent.drivers import drive_async, drive_sync
from agentkit.agent.flow import Flow, run_flow
from agentkit.agent.history import repair_history
from agentkit.agent.instructions import render_pending, render_pending_sync
from agentkit.agent.observe import RunInfo, RunObservation
from agentkit.agent.pausing import last_tool_turn
from agentkit.agent.settings import ModelSettings
from agentkit.agent.state import RunState
from agentkit.errors import UserError
from agentkit.events import Hooks, StreamEvent
from agentkit.messages import Message
from agentkit.usage import Usage, UsageLimits

if TYPE_CHECKING:
    from agentkit.agent.clients import ClientCache
    from agentkit.agent.session_io import AsyncLeaseWriter, Loaded, SyncLeaseWriter
    from agentkit.approvals import PausedRun
    from agentkit.client import AsyncClient, Client
    from agentkit.sessions import AsyncLease, Lease, Session

__all__ = [
    "AsyncOpening",
    "Launch",
    "RunArgs",
    "SyncOpening",
    "profile_defaults",
    "run_events",
    "run_events_sync",
    "server_of",
    "start_observation",
]


class RunArgs(NamedTuple):
    """What a call of ``run``/``resume`` (or their twins) asked for."""

    prompt: str | Message | None = None
    history: Iterable[Message] | None = None
    deps: Any = None
    variables: Mapping[str, Any] | None = None
    model_settings: ModelSettings | Mapping[str, Any] | None = None
    usage_limits: UsageLimits | None = None
    session: Session | None = None
    paused: PausedRun | None = None
    decisions: Mapping[str, Any] | None = None
    resume: bool = False
    output_type: Any = None  # the run's own output type (None: the agent's)


class Launch(NamedTuple):
    """Everything a driver needs from the agent to start a run."""

    make_state: Callable[[RunArgs, Loaded | None], RunState]
    clients: ClientCache
    hooks: Hooks | None
    observer: observe.RunObserver | None
    agent_name: str | None
    model: str | None
    concurrency: int
    on_busy: Literal["raise", "wait"]
    busy_timeout: float | None
    run_timeout: float | None  # a run on a session waits for it no longer than this


def state_for_session(
    make: Callable[..., RunState], args: RunArgs, loaded: Loaded, session_id: str
) -> RunState:
    """The state of a run on a session, from what the session holds.

    ``make(prompt, history, resume, decisions)`` builds the state. A new prompt continues
    the stored history (a paused run must be resumed or discarded first); ``resume``
    finishes a paused turn with its decisions, or the turn a dead run left in its
    journal (calls that may run twice run again; the others wait for a decision).
    """
    from agentkit.agent.session_io import interrupted_turn  # session runs only

    if not args.resume:
        if loaded.pause is not None:
            raise UserError(
                f"Session {session_id!r} holds a paused run waiting for approval: resume it "
                "(agent.resume(session=..., decisions=...)) or session.discard_pause()"
            )
        history = loaded.history
        if loaded.journal is not None:
            # A dead run's turn in progress is kept, with the results its calls journaled
            # (the others answered as interrupted), and stored with this run's prompt.
            assistant, results = loaded.journal
            history = repair_history([*history, assistant, *results])
        state = make(args.prompt, history, None, None)
        state.saved = state.new_messages_start - (len(history) - len(loaded.history))
    elif loaded.pause is not None:
        if args.decisions is None:
            raise UserError("resuming a paused run needs decisions={tool_call_id: ...}")
        from agentkit.approvals import PausedRun

        state = make(None, None, PausedRun.from_dict(loaded.pause), args.decisions)
        state.saved = last_tool_turn(state.messages)
    elif loaded.journal is not None:
        state = make(None, None, interrupted_turn(loaded, ""), dict(args.decisions or {}))
        state.pause_undecided = True  # idempotent calls run again, the others wait
        state.saved = last_tool_turn(state.messages)
    elif loaded.history and loaded.history[-1].get("role") != "assistant" and not args.decisions:
        state = make(None, loaded.history, None, None)  # it died before the model answered
        state.saved = len(state.messages)
    elif args.decisions:
        # A second approval of the same pause (a double click) must not start a new turn.
        raise UserError(
            f"Session {session_id!r} holds no paused run (resumed or discarded already?): "
            f"no call waits for the decisions on {sorted(args.decisions)}"
        )
    else:
        raise UserError(f"Session {session_id!r} has no run to resume")
    state.persist = True
    state.conversation_id = session_id
    return state


def profile_defaults(state: RunState, client: Client | AsyncClient) -> None:
    """Settings the agent leaves to its client's server profile."""
    if state.recover_text_calls is None:
        state.recover_text_calls = client.profile.recover_text_tool_calls


def server_of(base_url: str) -> tuple[str | None, int | None]:
    """The host and port of a base URL (for ``server.address`` / ``server.port``)."""
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.hostname, port


def start_observation(
    launch: Launch, state: RunState, client: Client | AsyncClient | None, streamed: bool
) -> RunObservation | None:
    """The run's observation from the agent's observer (``None`` when nothing observes).

    ``client`` gives the server's address and the default model; ``None`` when the run may
    not build its client here (a durable run builds it inside its model step).
    """
    observer = launch.observer or observe.default()
    if observer is observe.NOOP:
        return None
    host, port = server_of(client.base_url) if client is not None else (None, None)
    system = state.system.get("content") if state.system else None
    info = RunInfo(
        agent_name=launch.agent_name,
        model=launch.model or (client.model if client is not None else None),
        conversation_id=state.conversation_id,
        server_address=host,
        server_port=port,
        streamed=streamed,
        system=system if isinstance(system, str) else None,
        prior_usage=Usage() + state.usage,  # a copy: the run adds to its own
    )
    return observer.start_run(info)


def run_events(
    launch: Launch, start: RunState | RunArgs, *, streamed: bool
) -> AsyncGenerator[StreamEvent, None]:
    """Drive a run on the event loop: ``start`` is a ready state, or (with a session) the
    arguments to build one from the session under its lease."""
    return drive_async(
        AsyncOpening(launch, start, streamed), streamed=streamed, concurrency=launch.concurrency
    )


def run_events_sync(
    launch: Launch, start: RunState | RunArgs, *, streamed: bool
) -> Generator[StreamEvent, None, None]:
    """The sync twin of ``run_events``."""
    return drive_sync(
        SyncOpening(launch, start, streamed), streamed=streamed, concurrency=launch.concurrency
    )


def _flow(launch: Launch, state: RunState, client: Client | AsyncClient, streamed: bool) -> Flow:
    """The run's flow, once its state and client are ready (both openings end here)."""
    profile_defaults(state, client)
    return run_flow(state, launch.hooks, start_observation(launch, state, client, streamed))


class AsyncOpening:
    """How an async run opens, entered by its driver (one ``async with``, so that no
    generator wraps the driver's): with a session, take its lease and build the state from
    what it holds; render the instructions, get the client, start the flow. Leaving it
    releases the lease."""

    __slots__ = ("_launch", "_lease", "_start", "_streamed")

    def __init__(self, launch: Launch, start: RunState | RunArgs, streamed: bool) -> None:
        self._launch, self._start, self._streamed = launch, start, streamed
        self._lease: AbstractAsyncContextManager[AsyncLease] | None = None

    async def __aenter__(self) -> tuple[Flow, AsyncClient, AsyncLeaseWriter | None]:
        launch, start = self._launch, self._start
        writer = None
        try:
            if isinstance(start, RunState):
                state = start
            else:
                assert start.session is not None
                from agentkit.agent.session_io import AsyncLeaseWriter, LeaseWait  # sessions only
                from agentkit.sessions import SessionBusyError

                wait = LeaseWait(launch.on_busy, launch.busy_timeout, launch.run_timeout)
                lease = start.session.alease(launch.on_busy, wait.timeout)
                try:
                    writer = AsyncLeaseWriter(await lease.__aenter__())
                except SessionBusyError as exc:
                    raise wait.busy(exc) from None
                self._lease = lease  # held: from here on, leaving releases it
                state = launch.make_state(start, await writer.load())
                wait.started(state)
            try:
                await render_pending(state)
                client = await launch.clients.get_async()
            except BaseException as exc:
                state.fail(exc)
                raise
        except BaseException:
            await self.__aexit__(*sys.exc_info())  # `async with` does not when entering fails
            raise
        return _flow(launch, state, client, self._streamed), client, writer

    async def __aexit__(self, *exc_info: Any) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            await lease.__aexit__(*exc_info)


class SyncOpening:
    """The sync twin of ``AsyncOpening``."""

    __slots__ = ("_launch", "_lease", "_start", "_streamed")

    def __init__(self, launch: Launch, start: RunState | RunArgs, streamed: bool) -> None:
        self._launch, self._start, self._streamed = launch, start, streamed
        self._lease: AbstractContextManager[Lease] | None = None

    def __enter__(self) -> tuple[Flow, Client, SyncLeaseWriter | None]:
        launch, start = self._launch, self._start
        writer = None
        try:
            if isinstance(start, RunState):
                state = start
            else:
                assert start.session is not None
                from agentkit.agent.session_io import LeaseWait, SyncLeaseWriter
                from agentkit.sessions import SessionBusyError

                wait = LeaseWait(launch.on_busy, launch.busy_timeout, launch.run_timeout)
                lease = start.session.lease(launch.on_busy, wait.timeout)
                try:
                    writer = SyncLeaseWriter(lease.__enter__())
                except SessionBusyError as exc:
                    raise wait.busy(exc) from None
                self._lease = lease
                state = launch.make_state(start, writer.load())
                wait.started(state)
            try:
                render_pending_sync(state)
                client = launch.clients.get_sync()
            except BaseException as exc:
                state.fail(exc)
                raise
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return _flow(launch, state, client, self._streamed), client, writer

    def __exit__(self, *exc_info: Any) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.__exit__(*exc_info)
