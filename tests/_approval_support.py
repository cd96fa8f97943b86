"""Shared helpers of the approval tests: refund tools that count their runs, and one way to
run an agent in each of the four run modes (resume is ``run``/``run_sync`` only).

A streamed run's events are kept on the ``Ran`` it returns, so a test can check that a
paused stream emitted ``approval_requested`` events before ``run_finished``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from agentkit import Agent, tool
from agentkit.approvals import PausedRun
from agentkit.client import AsyncClient, Client
from agentkit.events import RunFinished, StreamEvent
from agentkit.result import RunResult
from agentkit.testing import ScriptedModel
from agentkit.tool import Tool

Mode = Literal["run", "run_sync", "stream", "stream_sync"]
MODES: tuple[Mode, ...] = ("run", "run_sync", "stream", "stream_sync")
ASYNC: tuple[Mode, ...] = ("run", "stream")

PROMPT = "给订单 ORD1 退款 50 元"


@dataclass
class Ledger:
    """Tools of a refund bot; every run of a tool is recorded in ``runs``."""

    runs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def refund(self, needs_approval: Any = True, idempotent: bool = True) -> Tool[Any, Any]:
        runs = self.runs

        @tool(needs_approval=needs_approval, idempotent=idempotent)
        def refund(order_id: str, amount: Decimal) -> str:
            """给订单退款。

            Args:
                order_id: 订单号, 例如 ORD1
                amount: 金额(元), 不超过 1000
            """
            runs.append(("refund", {"order_id": order_id, "amount": amount}))
            return f"refunded {amount} to {order_id}"

        return refund

    def lookup(self) -> Tool[Any, Any]:
        runs = self.runs

        @tool
        def lookup_order(order_id: str) -> dict[str, Any]:
            """查询订单。

            Args:
                order_id: 订单号
            """
            runs.append(("lookup_order", {"order_id": order_id}))
            return {"order_id": order_id, "paid": "50.00"}

        return lookup_order

    def names(self) -> list[str]:
        """The tools that ran, in order."""
        return [name for name, _ in self.runs]


def client_for(mode: Mode, model: Any) -> Client | AsyncClient:
    """A client on ``model`` (an httpx transport) of the kind ``mode`` uses."""
    cls = AsyncClient if mode in ASYNC else Client
    return cls(api_key="sk-approval-test", transport=model, max_retries=0)


def make_agent(mode: Mode, model: Any, tools: list[Any], **options: Any) -> Agent[str]:
    """An agent on a fresh client for ``mode``."""
    return Agent(tools=tools, client=client_for(mode, model), **options)


@dataclass
class Ran:
    """One run's result, and the events when it was streamed."""

    result: RunResult[Any]
    events: list[StreamEvent] = field(default_factory=list)

    def types(self) -> list[str]:
        """The event types, in order."""
        return [e.type for e in self.events]


def run(
    mode: Mode,
    agent: Agent[Any],
    prompt: str | None = PROMPT,
    *,
    close: Client | AsyncClient | None = None,
    **kw: Any,
) -> Ran:
    """Run ``agent`` in ``mode`` (``kw``: ``session=``, ``history=``...); ``close``: a
    client (on a real socket) to close at the end."""
    try:
        if mode == "run_sync":
            return Ran(agent.run_sync(prompt, **kw))
        if mode == "stream_sync":
            events = list(agent.stream_sync(prompt, **kw))
            return Ran(_finished(events), events)
    finally:
        if isinstance(close, Client):
            close.close()

    async def go() -> Ran:
        try:
            if mode == "run":
                return Ran(await agent.run(prompt, **kw))
            events = [e async for e in agent.stream(prompt, **kw)]
            return Ran(_finished(events), events)
        finally:
            if isinstance(close, AsyncClient):
                await close.aclose()

    return asyncio.run(go())


def resume(
    mode: Mode,
    agent: Agent[Any],
    paused: PausedRun | None,
    decisions: Mapping[str, Any] | None,
    **kw: Any,
) -> RunResult[Any]:
    """Resume with ``resume`` (async modes) or ``resume_sync`` (sync modes)."""
    if mode in ASYNC:
        return asyncio.run(agent.resume(paused, decisions, **kw))
    return agent.resume_sync(paused, decisions, **kw)


def _finished(events: list[StreamEvent]) -> RunResult[Any]:
    last = events[-1]
    assert isinstance(last, RunFinished), [e.type for e in events]
    return last.result


def scripted(*items: Any) -> ScriptedModel:
    """A ScriptedModel from responses (see ``agentkit.testing.scripted``)."""
    return ScriptedModel(list(items))


def calls(*pairs: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """A scripted answer making tool calls ``(id, name, arguments)``."""
    return {"tool_calls": [{"id": i, "name": n, "arguments": a} for i, n, a in pairs]}


ToolFactory = Callable[[Ledger], list[Tool[Any, Any]]]
