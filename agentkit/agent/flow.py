"""The run, written once: a generator of effects that every driver interprets.

::

    flow = run_flow(state, hooks)
    effect = next(flow)
    while True:                       # a driver: perform, send the outcome back
        outcome = perform(effect)     # or flow.throw(exc) when performing raised
        effect = flow.send(outcome)   # StopIteration(value=RunResult) at the end

Every decision (what to request, which calls to run, when to stop, what an error means)
is taken here or in ``RunState``; a driver only performs ``CallModel``, ``RunTools``,
``Emit`` and ``Save`` and never looks inside them.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from agentkit._aio import is_timeout
from agentkit._execute import Outcome
from agentkit.agent import capture
from agentkit.agent.effects import CallModel, Effect, Emit, ListTools, RunTools, Save
from agentkit.agent.observe import NOOP_RUN, RunObservation
from agentkit.agent.sources import Listed
from agentkit.agent.state import PendingCall, RunState
from agentkit.client.retry import is_deadline_error
from agentkit.errors import AgentkitError, APITimeoutError, RunTimeoutError
from agentkit.events import (
    ApprovalRequested,
    Hooks,
    RunFinished,
    StreamEvent,
    TextDelta,
    ToolCallArgsDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.result import RunResult
from agentkit.usage import Usage

if TYPE_CHECKING:
    from agentkit.messages import ChatCompletion, ChatCompletionChunk

__all__ = ["Flow", "chunk_events", "run_flow"]

Flow = Generator[Effect, Any, RunResult[Any]]


def run_flow(
    state: RunState, hooks: Hooks | None = None, observation: RunObservation | None = None
) -> Flow:
    """The run of ``state`` as a flow of effects; returns its ``RunResult``."""
    obs = observation or NOOP_RUN
    try:
        result = yield from _loop(state, hooks, obs)
    except GeneratorExit as exc:
        # Closed early (a consumer stopped reading, or at RunFinished, which every
        # non-streamed run does): nothing to save. A stream left before its end still
        # leaves its history to capture_run(). No local may keep `exc`: its traceback
        # holds this frame, and the cycle would keep the whole run alive until a full
        # garbage collection.
        state.saving = False
        obs.end(None, exc, state.usage)
        if not state.ended:
            capture.record(state.snapshot(), state.usage)
        raise
    except BaseException as exc:
        failure = _failure(state, exc)
        saving_failed = state.saving
        state.saving = False
        if (
            state.persist
            and state.pause is None
            and not state.resuming  # refused decisions: the stored pause stays as it was
            and not state.journal_kept  # left to crash recovery (see decided_turn)
            and not saving_failed
            and isinstance(failure, AgentkitError)
        ):
            # What the run did before its error is kept, every tool call answered.
            tail = state.snapshot()[state.saved :]
            if tail:
                state.saved = len(state.messages)
                yield from _persist(state, Save(tuple(tail), end_turn=True))
        obs.end(None, failure, state.usage)
        capture.record(state.snapshot(), state.usage, error=failure)
        if failure is exc:
            raise
        raise failure from exc
    return result


def _loop(
    state: RunState, hooks: Hooks | None, obs: RunObservation
) -> Generator[Effect, Any, RunResult[Any]]:
    if state.sources:
        listed: Listed = yield ListTools(tuple(state.sources), state.deadline)
        state.add_source_tools(listed)
    if state.resuming:
        # The paused turn goes on from the stored assistant message: no model call.
        calls = state.resume_calls()
        _announce(calls, hooks)
        if state.persist and state.was_paused and any(pc.kwargs is not None for pc in calls):
            # The decisions are stored before an approved call runs, never after.
            assistant, results = state.decided_turn()
            yield from _persist(state, Save(begin_turn=assistant, results=tuple(results), pause={}))
        paused = yield from _run_turn(state, calls, obs)
        state.finish_resumed_turn()
        if state.persist:
            yield from _persist(state, _end_of_turn(state))
            state.journal_kept = False
        yield from _report_turn(calls, hooks, state, paused)
    elif state.persist:
        # The user's message is stored before the first model call (after the turn a dead
        # run journaled, if any, which this write folds in and clears from the journal).
        folded = state.saved < state.new_messages_start
        yield from _persist(state, _unsaved(state, end_turn=folded))
    while not state.done:
        request = state.next_request()
        if hooks is not None:
            hooks.on_request({"messages": request.messages, **request.kwargs})
        model = obs.model_call(request)
        try:
            completion: ChatCompletion = yield CallModel(request, state.deadline, model)
        except BaseException as exc:
            model.end(None, exc)
            raise
        model.end(completion, None)
        if hooks is not None:
            hooks.on_response(completion)
        calls = state.apply_response(completion)
        _announce(calls, hooks)
        if (
            state.done
            and state.persist
            and state.pause is None
            and state.saved < len(state.messages)
        ):
            # The final answer is stored before it is reported, as a tool turn is: a
            # consumer may stop reading at its `turn_finished`.
            yield from _persist(state, _unsaved(state))
        yield Emit(_turn_event(state, completion))
        if calls:
            if state.persist:
                yield from _persist(state, Save(begin_turn=state.messages[-1]))
            paused = yield from _run_turn(state, calls, obs)
            if state.persist:  # stored before it is reported
                yield from _persist(state, _end_of_turn(state))
            yield from _report_turn(calls, hooks, state, paused)
    if state.persist and state.pause is None and state.saved < len(state.messages):
        yield from _persist(state, _unsaved(state))
    result = state.result()
    # Recorded before the last event: a consumer may stop reading at `run_finished`.
    obs.end(result, None)
    capture.record(result.messages, result.usage, result=result)
    state.ended = True
    yield Emit(RunFinished(result))
    return result


def _run_turn(
    state: RunState, calls: list[PendingCall], obs: RunObservation
) -> Generator[Effect, Any, bool]:
    """Run a turn's calls and apply their results; returns whether the run pauses."""
    observed = obs is not NOOP_RUN
    done: dict[int, Outcome] = {}
    left = False
    # One try around every yield: a run cancelled (or a stream closed) at any point of the
    # turn still ends the tool observations it opened.
    try:
        for pc in calls:
            if pc.awaiting:
                continue
            if observed:
                pc.observation = obs.tool_call(pc)
            yield Emit(ToolCallStarted(pc.call.id, pc.call.name, pc.call.arguments))
        runnable = tuple(pc for pc in calls if pc.kwargs is not None and not pc.awaiting)
        if runnable:
            journal = state.journal_message if _journals(state, calls, runnable) else None
            finished: dict[int, Outcome] = {}
            try:
                outcomes: list[Outcome] = yield RunTools(runnable, journal, finished.__setitem__)
            except BaseException:
                # Cut short (cancelled, interrupted): a call that did finish keeps its
                # result, lest a model told "interrupted" repeat a side effect.
                done = {id(runnable[i]): o for i, o in finished.items()}
                state.keep_finished([done.get(id(pc)) for pc in calls])
                raise
            done = {id(pc): o for pc, o in zip(runnable, outcomes, strict=True)}
        state.apply_results([done.get(id(pc)) for pc in calls])
    except GeneratorExit:
        # The consumer closed the stream at one of this turn's events: the calls not run
        # yet never will be, and that is the consumer's choice, not their failure.
        left = True
        raise
    finally:
        for pc in calls:
            if pc.observation is not None:
                outcome = done.get(id(pc))
                pc.observation.end(outcome, pc.content or "", pc.is_error, left=left)
    return state.pause_if_waiting(calls)


def _announce(calls: list[PendingCall], hooks: Hooks | None) -> None:
    """Tell the hooks of the calls about to run or be answered. A call waiting for a
    person's decision is told of in the run that resumes it, maybe in another process:
    where it runs (or is refused), and where its result is reported."""
    if hooks is not None:
        for pc in calls:
            if not pc.awaiting:
                hooks.on_tool_call(pc.call)


def _journals(state: RunState, calls: list[PendingCall], runnable: tuple[PendingCall, ...]) -> bool:
    """Whether the session journals each result as its call finishes (crash recovery).

    A turn of one call, none waiting for approval, is committed by the very next write
    after its call returns — as soon as its journal write would land — so it has none.
    """
    return state.persist and (len(runnable) > 1 or any(pc.awaiting for pc in calls))


def _report_turn(
    calls: list[PendingCall], hooks: Hooks | None, state: RunState, paused: bool
) -> Generator[Effect, Any, None]:
    """Tell the hooks and the stream about a turn's results (and the approvals it waits for)."""
    for pc in calls:
        if pc.awaiting:
            continue
        content = pc.content or ""
        if hooks is not None:
            hooks.on_tool_result(pc.call, content, pc.is_error)
        yield Emit(ToolCallResult(pc.call.id, pc.call.name, content, pc.is_error))
    if paused:
        assert state.pause is not None
        for r in state.pause.requests:
            yield Emit(ApprovalRequested(r.tool_call_id, r.tool_name, r.arguments, r.interrupted))


def _persist(state: RunState, save: Save) -> Generator[Effect, Any, None]:
    # A failed write must not be followed by another one in the failure path.
    state.saving = True
    yield save
    state.saving = False


def _unsaved(state: RunState, end_turn: bool = False) -> Save:
    """Append what is not stored yet (whole turns only)."""
    new = tuple(state.messages[state.saved :])
    state.saved = len(state.messages)
    return Save(new, end_turn=end_turn)


def _end_of_turn(state: RunState) -> Save:
    """A tool turn ended: store it whole (clearing the journal and any pause), or, when it
    paused, store the pause beside the journaled turn."""
    if state.pause is not None:
        return Save(pause=state.pause.to_dict())
    new = tuple(state.messages[state.saved :])
    state.saved = len(state.messages)
    return Save(new, end_turn=True, pause={} if state.was_paused else None)


def _failure(state: RunState, exc: BaseException) -> BaseException:
    """What the caller gets: a timeout past the run's deadline is ``RunTimeoutError``, and
    so is a request the deadline ended early (a retry that would have waited past it)."""
    if state.deadline is None:
        return state.fail(exc)
    if (state.remaining() or 0) <= 0 and (isinstance(exc, APITimeoutError) or is_timeout(exc)):
        return RunTimeoutError(
            f"The run exceeded its time limit of {state.spec.run_timeout} s",
            messages=state.snapshot(),
        )
    if is_deadline_error(exc):  # a model request's deadline is always the run's
        return RunTimeoutError(
            f"The run was stopped by its time limit of {state.spec.run_timeout} s: {exc}",
            messages=state.snapshot(),
        )
    return state.fail(exc)


def _turn_event(state: RunState, completion: ChatCompletion) -> TurnFinished:
    return TurnFinished(completion.finish_reason, completion.usage, Usage() + state.usage)


def chunk_events(chunk: ChatCompletionChunk) -> list[StreamEvent]:
    """The stream events one chunk of a streamed model answer gives."""
    events: list[StreamEvent] = []
    for choice in chunk.choices:
        if choice.index != 0:
            continue
        delta = choice.delta
        if delta.content:
            events.append(TextDelta(delta.content))
        elif delta.extra:
            # A refusal streams in its own field; it is a text run's answer, so a UI that
            # shows text deltas shows it too.
            refusal = delta.extra.get("refusal")
            if isinstance(refusal, str) and refusal:
                events.append(TextDelta(refusal))
        for tc in delta.tool_calls:
            events.append(ToolCallArgsDelta(tc.index, tc.id, tc.name, tc.arguments or ""))
    return events
