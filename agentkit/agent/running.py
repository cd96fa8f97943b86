"""Starting a run: its state (from arguments, a paused run or a session), the client, the
observer, and the driver that interprets its flow.

A run with a ``session`` holds the session's lease for its whole length: the stored history
is loaded under the lease, and the flow's ``Save`` effects go through it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from agentkit.agent import observe
from agentkit.agent.drivers import drive_async, drive_sync
from agentkit.agent.flow import run_flow
from agentkit.agent.history import repair_history
from agentkit.agent.instructions import render_pending, render_pending_sync
from agentkit.agent.observe import RunInfo, RunObservation
from agentkit.agent.pausing import last_tool_turn
from agentkit.agent.session_io import AsyncLeaseWriter, Loaded, SyncLeaseWriter, interrupted_turn
from agentkit.agent.settings import ModelSettings
from agentkit.agent.state import RunState
from agentkit.approvals import PausedRun
from agentkit.client import AsyncClient, Client
from agentkit.errors import UserError
from agentkit.events import Hooks, StreamEvent
from agentkit.messages import Message
from agentkit.usage import UsageLimits

if TYPE_CHECKING:
    from agentkit.agent.clients import ClientCache
    from agentkit.sessions import Session

__all__ = [
    "Launch",
    "RunArgs",
    "profile_defaults",
    "run_events",
    "run_events_sync",
    "server_of",
]


@dataclass(frozen=True, slots=True)
class RunArgs:
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


@dataclass(frozen=True, slots=True)
class Launch:
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


def state_for_session(
    make: Callable[..., RunState], args: RunArgs, loaded: Loaded, session_id: str
) -> RunState:
    """The state of a run on a session, from what the session holds.

    ``make(prompt, history, resume, decisions)`` builds the state. A new prompt continues
    the stored history (a paused run must be resumed or discarded first); ``resume``
    finishes a paused turn with its decisions, or the turn a dead run left in its
    journal (calls that may run twice run again; the others wait for a decision).
    """
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


def _observe(
    launch: Launch, state: RunState, client: Client | AsyncClient, streamed: bool
) -> RunObservation | None:
    observer = launch.observer or observe.default()
    if observer is observe.NOOP:
        return None
    host, port = server_of(client.base_url)
    system = state.system.get("content") if state.system else None
    info = RunInfo(
        agent_name=launch.agent_name,
        model=launch.model or client.model,
        conversation_id=state.conversation_id,
        server_address=host,
        server_port=port,
        streamed=streamed,
        system=system if isinstance(system, str) else None,
    )
    return observer.start_run(info)


async def run_events(
    launch: Launch, start: RunState | RunArgs, *, streamed: bool
) -> AsyncGenerator[StreamEvent, None]:
    """Drive a run on the event loop: ``start`` is a ready state, or (with a session) the
    arguments to build one from the session under its lease."""
    if isinstance(start, RunState):
        events = _events(launch, start, streamed, None)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()  # at once, also when the consumer stops early
        return
    session = start.session
    assert session is not None
    async with session.alease(launch.on_busy, launch.busy_timeout) as lease:
        writer = AsyncLeaseWriter(lease)
        events = _events(launch, launch.make_state(start, await writer.load()), streamed, writer)
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()


async def _events(
    launch: Launch, state: RunState, streamed: bool, writer: AsyncLeaseWriter | None
) -> AsyncGenerator[StreamEvent, None]:
    try:
        await render_pending(state)
        client = await launch.clients.get_async()
    except BaseException as exc:
        state.fail(exc)
        raise
    profile_defaults(state, client)
    flow = run_flow(state, launch.hooks, _observe(launch, state, client, streamed))
    events = drive_async(
        flow, client, streamed=streamed, concurrency=launch.concurrency, writer=writer
    )
    try:
        async for event in events:
            yield event
    finally:
        await events.aclose()  # at once, also when the consumer stops early


def run_events_sync(
    launch: Launch, start: RunState | RunArgs, *, streamed: bool
) -> Generator[StreamEvent, None, None]:
    """The sync twin of ``run_events``."""
    if isinstance(start, RunState):
        yield from _events_sync(launch, start, streamed, None)
        return
    session = start.session
    assert session is not None
    with session.lease(launch.on_busy, launch.busy_timeout) as lease:
        writer = SyncLeaseWriter(lease)
        state = launch.make_state(start, writer.load())
        yield from _events_sync(launch, state, streamed, writer)


def _events_sync(
    launch: Launch, state: RunState, streamed: bool, writer: SyncLeaseWriter | None
) -> Generator[StreamEvent, None, None]:
    try:
        render_pending_sync(state)
        client = launch.clients.get_sync()
    except BaseException as exc:
        state.fail(exc)
        raise
    profile_defaults(state, client)
    flow = run_flow(state, launch.hooks, _observe(launch, state, client, streamed))
    yield from drive_sync(
        flow, client, streamed=streamed, concurrency=launch.concurrency, writer=writer
    )
