"""The durable driver: the run's flow interpreted inside a DBOS workflow.

Like the plain drivers (``agentkit.agent.drivers``) it performs effects and decides
nothing. What differs is where the outside world is reached: each ``CallModel``, each tool
call of a ``RunTools`` batch and each ``ListTools`` is one DBOS step, whose JSON outcome is
checkpointed, and which a recovered workflow replays from its checkpoint instead of
running it again. Every outcome, first execution or replay, reaches the flow through the
same JSON form (``_wire``), so both take the same decisions.

DBOS numbers a workflow's steps in the order they start. Tool steps of one turn run
concurrently, so each is started only once the previous one has its number (it entered
its body, or finished from its checkpoint): the numbering follows the model's order.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS

from agentkit._execute import Outcome, run_async, run_sync
from agentkit._record import record
from agentkit._turns import TurnGate
from agentkit.agent.effects import CallModel, ListTools, RunTools
from agentkit.agent.flow import Flow
from agentkit.agent.state import PendingCall
from agentkit.agent.stepper import Stepper
from agentkit.client import AsyncClient, Client
from agentkit.durable._observe import DeferredModel
from agentkit.durable._sources import list_async, list_sync, listed_from_json
from agentkit.durable._wire import (
    completion_from_wire,
    completion_to_wire,
    outcome_from_json,
    outcome_to_json,
)
from agentkit.result import RunResult

__all__ = ["StepNames", "drive_durable_async", "drive_durable_sync"]


@record(frozen=True, slots=True)
class StepNames:
    """The stable step names of one durable agent (they key the checkpoints), the topic
    its paused runs receive decisions on and the event they publish their pause as."""

    model: str
    list_tools: str
    tool_prefix: str
    approval_topic: str
    pause_event: str

    @classmethod
    def of(cls, name: str) -> StepNames:
        """The names derived from a durable agent's ``name``."""
        return cls(
            f"{name}.model",
            f"{name}.list_tools",
            f"{name}.tool.",
            f"{name}.approval",
            f"{name}.pause",
        )

    def tool(self, tool_name: str) -> str:
        """The step name of a call to ``tool_name``."""
        return self.tool_prefix + tool_name


def _options(name: str) -> Any:
    # Retrying is the client's job (it knows which failures are transient) and, for
    # tools, the tool's own: a step that failed is recorded as failed.
    return {"name": name, "retries_allowed": False}


# ---------------------------------------------------------------------------------- async


async def drive_durable_async(
    flow: Flow,
    client: Callable[[], Awaitable[AsyncClient]],
    names: StepNames,
    concurrency: int,
) -> RunResult[Any]:
    """Interpret ``flow`` inside an async DBOS workflow; return its result."""
    with Stepper(flow) as steps:
        for effect in steps:
            with steps.performing():
                if isinstance(effect, CallModel):
                    wire = await DBOS.run_step_async(
                        _options(names.model), _model_async, client, effect
                    )
                    steps.outcome = completion_from_wire(wire)
                elif isinstance(effect, RunTools):
                    steps.outcome = await _tools_async(effect.calls, names, concurrency)
                elif isinstance(effect, ListTools):
                    data = await DBOS.run_step_async(
                        _options(names.list_tools), list_async, effect.sources
                    )
                    steps.outcome = listed_from_json(effect.sources, data)
                # Emit: nothing to deliver (see DurableAgent); Save: no session here.
    result: RunResult[Any] = steps.result
    return result


def _begin(effect: CallModel) -> None:
    # Inside the step's body: a replayed answer is not observed again (see _observe).
    if isinstance(effect.observation, DeferredModel):
        effect.observation.begin()


async def _model_async(client: Callable[[], Awaitable[AsyncClient]], effect: CallModel) -> Any:
    _begin(effect)
    c = await client()  # built inside the step: it reads the environment
    completion = await c.create(effect.request.messages, **effect.request.kwargs)
    return completion_to_wire(completion)


async def _tool_async(pc: PendingCall, limit: asyncio.Semaphore, numbered: asyncio.Event) -> Any:
    numbered.set()
    async with limit:
        outcome = await run_async(pc.bind(sync=False))
    return outcome_to_json(outcome)


async def _tools_async(
    calls: tuple[PendingCall, ...], names: StepNames, concurrency: int
) -> list[Outcome]:
    limit = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Future[Any]] = []
    try:
        for pc in calls:
            numbered = asyncio.Event()
            step = DBOS.run_step_async(
                _options(names.tool(pc.call.name)), _tool_async, pc, limit, numbered
            )
            task = asyncio.ensure_future(step)
            tasks.append(task)
            waiter = asyncio.ensure_future(numbered.wait())
            await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        return [outcome_from_json(r) for r in await asyncio.gather(*tasks)]
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# ----------------------------------------------------------------------------------- sync


def drive_durable_sync(
    flow: Flow,
    client: Callable[[], Client],
    names: StepNames,
    concurrency: int,
) -> RunResult[Any]:
    """Interpret ``flow`` inside a sync DBOS workflow; return its result."""
    with Stepper(flow) as steps:
        for effect in steps:
            with steps.performing():
                if isinstance(effect, CallModel):
                    wire = DBOS.run_step(_options(names.model), _model_sync, client, effect)
                    steps.outcome = completion_from_wire(wire)
                elif isinstance(effect, RunTools):
                    steps.outcome = _tools_sync(effect.calls, names, concurrency)
                elif isinstance(effect, ListTools):
                    data = DBOS.run_step(_options(names.list_tools), list_sync, effect.sources)
                    steps.outcome = listed_from_json(effect.sources, data)
    result: RunResult[Any] = steps.result
    return result


def _model_sync(client: Callable[[], Client], effect: CallModel) -> Any:
    _begin(effect)
    completion = client().create(effect.request.messages, **effect.request.kwargs)
    return completion_to_wire(completion)


def _tool_sync(pc: PendingCall, gate: TurnGate, ticket: int, numbered: threading.Event) -> Any:
    numbered.set()
    gate.enter(ticket)
    try:
        outcome = run_sync(pc.bind(sync=True))
    finally:
        gate.leave()
    return outcome_to_json(outcome)


class _Slot:
    """One tool step on a thread of its own, in a copy of the workflow's context."""

    def __init__(self, pc: PendingCall, name: str, gate: TurnGate) -> None:
        self.numbered = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        context = contextvars.copy_context()
        self._gate, self._ticket = gate, gate.ticket()  # taken in the model's order
        args = (pc, gate, self._ticket, self.numbered)
        self.thread = threading.Thread(
            target=context.run, args=(self._run, name, args), name=f"agentkit-{name}", daemon=True
        )
        self.thread.start()
        self.numbered.wait()

    def _run(self, name: str, args: tuple[Any, ...]) -> None:
        try:
            self.result = DBOS.run_step(_options(name), _tool_sync, *args)
        except BaseException as exc:
            self.error = exc
        finally:
            self.numbered.set()  # replayed from its checkpoint: the body never ran
            self._gate.give_up(self._ticket)  # (a no-op once the body entered)

    def outcome(self) -> Outcome:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return outcome_from_json(self.result)


def _tools_sync(
    calls: tuple[PendingCall, ...], names: StepNames, concurrency: int
) -> list[Outcome]:
    gate = TurnGate(concurrency)
    if len(calls) == 1:
        pc = calls[0]
        numbered = threading.Event()
        step = _options(names.tool(pc.call.name))
        data = DBOS.run_step(step, _tool_sync, pc, gate, gate.ticket(), numbered)
        return [outcome_from_json(data)]
    slots = [_Slot(pc, names.tool(pc.call.name), gate) for pc in calls]
    return [s.outcome() for s in slots]
