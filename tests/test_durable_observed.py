"""DurableAgent (one process, SQLite): bad approval decisions are refused where they are
given and the paused workflow keeps waiting; durable runs emit the agent's spans, and a
replayed step emits none."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS, SetWorkflowID, SetWorkflowTimeout
from dbos._error import DBOSAwaitedWorkflowCancelledError
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, Approve, AsyncClient, Client, Instrumentation, Reject, UserError, tool
from agentkit.durable import DurableAgent, durable_config
from agentkit.testing import ScriptedModel, tool_call

PAID: list[int] = []


@tool(needs_approval=True)
def pay(amount: int) -> str:
    """Pay an amount.

    Args:
        amount: The amount.
    """
    PAID.append(amount)
    return f"paid {amount}"


@tool
def lookup(x: str) -> str:
    """Look something up.

    Args:
        x: What.
    """
    return x


EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
AGENTS: dict[str, DurableAgent[str]] = {}


@DBOS.workflow(name="test_durable_observed.run")
async def run_async(key: str, prompt: str) -> str:
    return (await AGENTS[key].run(prompt)).output


@DBOS.workflow(name="test_durable_observed.run_sync")
def run_sync(key: str, prompt: str) -> str:
    return AGENTS[key].run_sync(prompt).output


@pytest.fixture(scope="module", autouse=True)
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    db = tmp_path_factory.mktemp("dbos") / "dbos.sqlite"
    config = durable_config(
        "test-durable-observed", f"sqlite:///{db}", application_version="t1", log_level="ERROR"
    )
    DBOS(config={**config, "notification_listener_polling_interval_sec": 0.05})  # type: ignore[typeddict-unknown-key]
    DBOS.launch()
    yield
    DBOS.destroy(workflow_completion_timeout_sec=0)


def _paying(key: str, sync: bool) -> DurableAgent[str]:
    model = ScriptedModel(
        [{"tool_calls": [{"id": "p1", "name": "pay", "arguments": {"amount": 5}}]}, "done"]
    )
    client = (Client if sync else AsyncClient)(api_key="k", transport=model)
    AGENTS[key] = DurableAgent(Agent(tools=[pay], client=client), name=key)
    return AGENTS[key]


def _start_paused(key: str, sync: bool) -> Any:
    durable = _paying(key, sync)
    with SetWorkflowID(key):
        handle = DBOS.start_workflow(run_sync if sync else run_async, key, "pay 5")  # type: ignore[arg-type]
    deadline = time.monotonic() + 30
    while DBOS.get_event(key, durable.step_names.pause_event, timeout_seconds=0) is None:
        assert time.monotonic() < deadline, "the run never paused"
        time.sleep(0.05)
    return handle


BAD = {
    "args": ({"p1": Approve(arguments={"amount": "lots"})}, "do not fit 'pay'"),
    "unknown": ({"p1": Approve(), "zzz": Approve()}, r"unknown call\(s\) \['zzz'\]"),
    "missing": ({}, r"no decision for call\(s\) \['p1'\]"),
}


@pytest.mark.parametrize("sync", [False, True], ids=["run", "run_sync"])
@pytest.mark.parametrize("bad", sorted(BAD))
def test_a_bad_decision_is_refused_by_approve_and_the_run_still_waits(bad: str, sync: bool) -> None:
    key = f"bad-{bad}-{sync}"
    handle = _start_paused(key, sync)
    durable = AGENTS[key]
    decisions, message = BAD[bad]
    with pytest.raises(UserError, match=message):
        durable.approve(key, decisions)
    with pytest.raises(UserError, match=message):
        asyncio.run(durable.approve_async(key, decisions))
    time.sleep(0.3)
    assert DBOS.get_workflow_status(key).status == "PENDING"  # type: ignore[union-attr]
    before = len(PAID)
    durable.approve(key, {"p1": Approve(arguments={"amount": 6})})
    assert handle.get_result() == "done"
    assert PAID[before:] == [6]


def test_a_bad_decision_sent_past_approve_is_dropped_and_the_run_keeps_waiting() -> None:
    handle = _start_paused("past", sync=False)
    durable = AGENTS["past"]
    topic = durable.step_names.approval_topic
    DBOS.send("past", {"p1": {"type": "approve", "arguments": {"amount": "lots"}}}, topic)
    DBOS.send("past", {"zzz": {"type": "approve"}}, topic)
    DBOS.send("past", "not decisions", topic)
    DBOS.send("past", {"p1": {"type": "reject", "reason": "no"}}, topic)
    assert handle.get_result() == "done"
    assert DBOS.get_workflow_status("past").status == "SUCCESS"  # type: ignore[union-attr]


def test_approve_refuses_a_workflow_that_waits_for_no_decision() -> None:
    handle = _start_paused("twice", sync=True)
    durable = AGENTS["twice"]
    durable.approve("twice", {"p1": Reject("no")})
    assert handle.get_result() == "done"
    with pytest.raises(UserError, match="waits for no approval decisions"):
        durable.approve("twice", {"p1": Approve()})  # a double click
    with pytest.raises(UserError, match="waits for no approval decisions"):
        durable.approve("no-such-workflow", {"p1": Approve()})


@pytest.mark.parametrize("sync", [False, True], ids=["run", "run_sync"])
def test_a_paused_run_ends_at_its_workflow_timeout_not_a_day_later(sync: bool) -> None:
    key = f"timeout-{sync}"
    durable = _paying(key, sync)
    started = time.monotonic()
    with SetWorkflowID(key), SetWorkflowTimeout(1.0):
        handle = DBOS.start_workflow(run_sync if sync else run_async, key, "pay 5")  # type: ignore[arg-type]
    ended: list[BaseException] = []

    def wait() -> None:
        try:
            handle.get_result()
        except BaseException as exc:
            ended.append(exc)

    # A daemon thread: before, the wait for decisions went on for its whole day, past the
    # cancellation, and this test would fail instead of hanging.
    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(10)
    assert len(ended) == 1 and isinstance(ended[0], DBOSAwaitedWorkflowCancelledError)
    assert time.monotonic() - started < 10
    assert DBOS.get_workflow_status(key).status == "CANCELLED"  # type: ignore[union-attr]
    # It still shows its pause, but nothing will read a decision: not "approved".
    with pytest.raises(UserError, match=r"has ended \(CANCELLED\): it waits for no approval"):
        durable.approve(key, {"p1": Approve()})
    with pytest.raises(UserError, match=r"has ended \(CANCELLED\)"):
        asyncio.run(durable.approve_async(key, {"p1": Approve()}))


def _spans() -> list[Any]:
    return sorted(EXPORTER.get_finished_spans(), key=lambda s: s.start_time or 0)


@pytest.mark.parametrize("sync", [False, True], ids=["run", "run_sync"])
def test_a_durable_run_emits_its_spans_and_a_replayed_step_none(sync: bool, tmp_path: Path) -> None:
    key = f"spans-{sync}"
    model = ScriptedModel([tool_call("lookup", {"x": "1"}), "done", "done again"])
    client = (Client if sync else AsyncClient)(api_key="k", transport=model)
    agent = Agent(
        tools=[lookup],
        client=client,
        name="bot",
        instrument=Instrumentation(tracer_provider=PROVIDER),
    )
    AGENTS[key] = DurableAgent(agent, name=key)
    EXPORTER.clear()
    with SetWorkflowID(key):
        out = run_sync(key, "hi") if sync else asyncio.run(run_async(key, "hi"))
    assert out == "done"
    spans = _spans()
    assert [s.name for s in spans] == [
        "invoke_agent bot", "chat gpt-5.4-mini", "execute_tool lookup", "chat gpt-5.4-mini"
    ]  # fmt: skip
    run = spans[0]
    assert all(s.parent is not None and s.parent.span_id == run.context.span_id for s in spans[1:])

    # Forked from its last step: the first model call and the tool call are replayed from
    # their checkpoints (observed when they ran), the last model call runs again.
    EXPORTER.clear()
    assert DBOS.fork_workflow(key, 3).get_result() == "done again"
    assert [s.name for s in _spans()] == ["invoke_agent bot", "chat gpt-5.4-mini"]
