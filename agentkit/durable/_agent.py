"""``DurableAgent``: an agent whose runs are DBOS workflows' checkpointed steps."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Generic

from dbos import DBOS, DBOSConfig, DBOSPortableJSONSerializer
from typing_extensions import TypeVar

from agentkit.agent import Agent
from agentkit.agent.flow import run_flow
from agentkit.agent.observe import RunObservation
from agentkit.agent.running import profile_defaults, start_observation
from agentkit.agent.settings import ModelSettings
from agentkit.agent.state import RunState
from agentkit.approvals import Decision, PausedRun, check_decisions_argument
from agentkit.client import AsyncClient, Client
from agentkit.durable._approval import (
    accepted,
    check_ended,
    check_published,
    published,
    wait_seconds,
)
from agentkit.durable._driver import StepNames, drive_durable_async, drive_durable_sync
from agentkit.durable._observe import ReplayAware
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.result import RunResult
from agentkit.tool import Tool
from agentkit.usage import UsageLimits

__all__ = ["DurableAgent", "durable_config"]

OutputT = TypeVar("OutputT", default=str)

_PORTABLE = DBOSPortableJSONSerializer()

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}")


def durable_config(
    name: str,
    system_database_url: str,
    *,
    application_version: str,
    executor_id: str | None = None,
    **options: Any,
) -> DBOSConfig:
    """A ``DBOSConfig`` for durable agent runs: JSON checkpoints, a pinned version.

    Args:
        name: The DBOS application name.
        system_database_url: Where DBOS keeps its checkpoints and queues, e.g.
            ``"sqlite:///runs.sqlite"`` or ``"postgresql://user@host/db"``.
        application_version: The version this worker runs. DBOS recovers and dequeues
            only workflows of its own version: give every worker of one deploy the same
            value, and a new value to a deploy whose workflow code changed.
        executor_id: This worker's identity (recovery of a dead worker's workflows is by
            executor id); DBOS's default when ``None``.
        **options: Further ``DBOSConfig`` keys.
    """
    config: DBOSConfig = {
        "name": name,
        "system_database_url": system_database_url,
        "application_version": application_version,
        # Portable JSON, not pickle: checkpoints are readable data, and a new release's
        # classes cannot break the decoding of an old run's checkpoints.
        "serializer": _PORTABLE,
    }
    if executor_id is not None:
        config["executor_id"] = executor_id
    config.update(options)  # type: ignore[typeddict-item]
    return config


def _check_context(method: str) -> None:
    if DBOS.workflow_id is None:
        raise UserError(
            f"DurableAgent.{method}() must be called inside a @DBOS.workflow() function "
            "(outside one nothing would be checkpointed; use the agent itself there)"
        )
    from dbos._dbos import _get_dbos_instance  # the configured instance (no public getter)

    serializer = _get_dbos_instance()._serializer
    if serializer.name() != _PORTABLE.name():
        raise UserError(
            "DBOS is configured with the "
            f"{serializer.name()!r} serializer; durable agent runs need portable JSON: "
            "DBOS(config=agentkit.durable.durable_config(...)) or "
            "config['serializer'] = dbos.DBOSPortableJSONSerializer()"
        )


class DurableAgent(Generic[OutputT]):
    """An ``Agent`` whose runs survive crashes: each model request and each tool call of
    a run is one DBOS step, so a recovered workflow replays the finished ones from their
    checkpoints instead of running them again.

    Call ``run`` or ``run_sync`` inside a ``@DBOS.workflow()``. The run is the same flow
    the agent runs everywhere else; only where its effects happen differs.

    Args:
        agent: The agent. Its ``run_timeout`` must be ``None``: a deadline on this
            process's clock means nothing to the process that recovers the run (use a
            DBOS workflow timeout, ``SetWorkflowTimeout``, which is durable).
        name: A stable name: the step names derive from it (``"<name>.model"``,
            ``"<name>.tool.<tool name>"``, ``"<name>.list_tools"``). Changing it changes
            the workflow's steps, as a code change does.

    Raises:
        UserError: A bad name, or an agent with a ``run_timeout``.
    """

    def __init__(self, agent: Agent[OutputT], *, name: str) -> None:
        if not isinstance(agent, Agent):
            raise UserError(f"DurableAgent needs an agentkit Agent, got {type(agent).__name__}")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise UserError(
                f"DurableAgent name must be 1-100 letters, digits or '_.:-' (not starting "
                f"with a punctuation mark), got {name!r}"
            )
        if agent._spec.run_timeout is not None:
            raise UserError(
                f"Agent {agent.name or 'agent'!r} has run_timeout={agent._spec.run_timeout}; "
                "a durable run cannot use a deadline on one process's clock: drop it and "
                "bound the workflow with DBOS's SetWorkflowTimeout instead"
            )
        self._agent = agent
        self._name = name
        self._names = StepNames.of(name)

    def __repr__(self) -> str:
        return f"DurableAgent({self._agent!r}, name={self._name!r})"

    @property
    def name(self) -> str:
        """The stable name the step names derive from."""
        return self._name

    @property
    def agent(self) -> Agent[OutputT]:
        """The wrapped agent."""
        return self._agent

    @property
    def step_names(self) -> StepNames:
        """The names of this agent's steps and of its approval topic."""
        return self._names

    def _state(
        self,
        prompt: str | Message | None,
        history: Iterable[Message] | None,
        deps: Any,
        variables: Mapping[str, Any] | None,
        model_settings: ModelSettings | Mapping[str, Any] | None,
        usage_limits: UsageLimits | None,
    ) -> RunState:
        state = self._agent._start(prompt, history, deps, variables, model_settings, usage_limits)
        given = self._agent._clients.given
        if given is not None:  # never the environment: reading it here is not replayable
            profile_defaults(state, given)
        return state

    def _resumed(
        self,
        paused: PausedRun,
        decisions: Any,
        deps: Any,
        variables: Mapping[str, Any] | None,
        model_settings: ModelSettings | Mapping[str, Any] | None,
    ) -> RunState:
        return self._agent._start(
            None, None, deps, variables, model_settings, None, paused, decisions
        )

    def _observation(self, state: RunState) -> RunObservation | None:
        """The run's observation, as a plain run gets it, seeing only the steps whose body
        runs in this execution (a replayed step was observed when it first ran)."""
        agent = self._agent
        # The given client only: building one reads the environment (not replayable).
        inner = start_observation(agent._launch, state, agent._clients.given, streamed=False)
        return None if inner is None else ReplayAware(inner)

    async def run(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
    ) -> RunResult[OutputT]:
        """``Agent.run`` as checkpointed steps of the calling async workflow.

        Arguments, result and errors as for ``Agent.run``. ``history``, ``variables`` and
        the other arguments must be the same when the workflow is recovered, which holds
        when they come from the workflow's own (recorded) inputs or from steps.

        Raises:
            UserError: Not called inside a DBOS workflow, or DBOS not configured with
                its portable JSON serializer.
        """
        _check_context("run")
        agent = self._agent
        state = self._state(prompt, history, deps, variables, model_settings, usage_limits)

        async def client() -> AsyncClient:
            return await agent._get_async_client()

        while True:
            flow = run_flow(state, agent.hooks, self._observation(state))
            result = await drive_durable_async(flow, client, self._names, agent._tool_concurrency)
            if result.pause is None:
                return result
            # The workflow waits durably for the decisions (DurableAgent.approve).
            decisions = await self._wait_async(result.pause, state.spec.tools)
            state = self._resumed(result.pause, decisions, deps, variables, model_settings)

    def run_sync(
        self,
        prompt: str | Message | None = None,
        *,
        history: Iterable[Message] | None = None,
        deps: Any = None,
        variables: Mapping[str, Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        usage_limits: UsageLimits | None = None,
    ) -> RunResult[OutputT]:
        """``run`` for sync workflows (no running event loop in this thread)."""
        _check_context("run_sync")
        agent = self._agent
        state = self._state(prompt, history, deps, variables, model_settings, usage_limits)

        def client() -> Client:
            return agent._get_sync_client()

        while True:
            flow = run_flow(state, agent.hooks, self._observation(state))
            result = drive_durable_sync(flow, client, self._names, agent._tool_concurrency)
            if result.pause is None:
                return result
            decisions = self._wait_sync(result.pause, state.spec.tools)
            state = self._resumed(result.pause, decisions, deps, variables, model_settings)

    # ------------------------------------------------------------------ approval

    # recv's own wait is bounded (its deadline is checkpointed); waiting again after an
    # empty wake-up keeps the wait unbounded without one endless sleep step.
    _WAIT = 24 * 3600.0

    async def _wait_async(self, pause: PausedRun, tools: Mapping[str, Tool[Any, Any]]) -> Any:
        names = self._names
        await DBOS.set_event_async(names.pause_event, published(pause, tools))
        while True:
            wait = wait_seconds(_deadline_ms(), time.time(), self._WAIT)
            got = await DBOS.recv_async(names.approval_topic, timeout_seconds=wait)
            if got is not None and accepted(pause, tools, got):
                await DBOS.set_event_async(names.pause_event, None)  # a second approve fails
                return got

    def _wait_sync(self, pause: PausedRun, tools: Mapping[str, Tool[Any, Any]]) -> Any:
        names = self._names
        DBOS.set_event(names.pause_event, published(pause, tools))
        while True:
            wait = wait_seconds(_deadline_ms(), time.time(), self._WAIT)
            got = DBOS.recv(names.approval_topic, timeout_seconds=wait)
            if got is not None and accepted(pause, tools, got):
                DBOS.set_event(names.pause_event, None)
                return got

    def approve(self, workflow_id: str, decisions: Mapping[str, Any]) -> None:
        """Send decisions on a paused run's approval requests to its workflow, from any
        process connected to the same DBOS system database (``DBOS.send``).

        The decisions are checked here against the pause the workflow waits on (published
        as the DBOS event ``step_names.pause_event``), as ``Agent.resume`` checks them; a
        refused one never reaches the workflow, which goes on waiting. The workflow waits
        for them durably (``DBOS.recv``): across restarts of its worker, for as long as it
        takes.

        Args:
            workflow_id: The waiting workflow's id.
            decisions: ``{tool_call_id: decision}``, one for each pending call.

        Raises:
            UserError: The workflow waits for no decision (not paused, or approved
                already), a decision for an unknown call or none for a pending one,
                approved arguments that do not fit the tool, or no decision at all.
        """
        checked = check_decisions_argument(decisions)
        data = DBOS.get_event(workflow_id, self._names.pause_event, timeout_seconds=0)
        status = DBOS.get_workflow_status(workflow_id)
        check_ended(workflow_id, None if status is None else status.status)
        check_published(workflow_id, data, checked, self._agent._spec.tools)
        DBOS.send(workflow_id, _decisions_json(checked), self._names.approval_topic)

    async def approve_async(self, workflow_id: str, decisions: Mapping[str, Any]) -> None:
        """``approve`` from async code."""
        checked = check_decisions_argument(decisions)
        names = self._names
        data = await DBOS.get_event_async(workflow_id, names.pause_event, timeout_seconds=0)
        status = await DBOS.get_workflow_status_async(workflow_id)
        check_ended(workflow_id, None if status is None else status.status)
        check_published(workflow_id, data, checked, self._agent._spec.tools)
        await DBOS.send_async(workflow_id, _decisions_json(checked), names.approval_topic)


def _deadline_ms() -> int | None:
    """The running workflow's DBOS deadline (``SetWorkflowTimeout``), epoch ms, or ``None``.

    Read from DBOS's context, not from a step: it is the workflow's stored deadline, the
    same on every execution, and a step would change the run's step numbering."""
    try:
        from dbos._context import get_local_dbos_context

        deadline = getattr(get_local_dbos_context(), "workflow_deadline_epoch_ms", None)
    except ImportError:  # pragma: no cover - a DBOS without it: wait as before
        return None
    return deadline if isinstance(deadline, int) else None


def _decisions_json(decisions: Mapping[str, Decision]) -> dict[str, Any]:
    """Decisions as JSON (the portable serializer carries no objects)."""
    return {k: d.to_dict() for k, d in decisions.items()}
