"""Resuming a paused run kept in a session: right after the run that paused, after a
resume refused for bad decisions (regressions found serving agents on the web), and after a
resume cancelled while its approved call ran."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _web_support import shop_agent
from test_sessions_conformance import _memory, _postgres, _sqlite

from agentkit import Agent, Approve, tool
from agentkit.client import AsyncClient
from agentkit.errors import UserError
from agentkit.testing import ScriptedModel, tool_call
from agentkit.web._common import approval_json


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        factory = _memory()
    elif request.param == "sqlite":
        factory = _sqlite(tmp_path / "s.db")
    else:
        factory = _postgres(request.getfixturevalue("postgres_dsn"))
    s: Any = factory.open()
    yield s
    s.close()


async def test_resume_at_once_after_the_paused_run(store: Any) -> None:
    refunded: list[str] = []
    agent, session = shop_agent(refunded), store.session("a")
    paused = await agent.run("退款 ORD1", session=session)
    # No await in between: the paused run's lease must already be free.
    done = await agent.resume(
        session=session, decisions={paused.approvals[0].tool_call_id: Approve()}
    )
    assert done.output == "订单 ORD1 已退款。" and refunded == ["ORD1"]


async def test_refused_decisions_keep_the_paused_run(store: Any) -> None:
    refunded: list[str] = []
    agent, session = shop_agent(refunded), store.session("b")
    paused = await agent.run("退款 ORD2", session=session)
    before = (await session.apause(), await session.amessages())
    with pytest.raises(UserError, match="unknown call"):
        await agent.resume(session=session, decisions={"other": Approve()})
    assert (await session.apause(), await session.amessages()) == before
    call_id = paused.approvals[0].tool_call_id
    done = await agent.resume(session=session, decisions={call_id: Approve()})
    assert done.output == "订单 ORD2 已退款。" and refunded == ["ORD2"]
    assert [m["role"] for m in await session.amessages()] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


def _slow_refund_agent(ran: list[str], started: asyncio.Event, idempotent: bool) -> Agent[str]:
    @tool(needs_approval=True, idempotent=idempotent)
    async def refund(order_id: str) -> str:
        """Refund an order.

        Args:
            order_id: The order.
        """
        ran.append(order_id)
        started.set()
        await asyncio.sleep(30)  # the payment API hangs: the resume is cancelled
        return "refunded " + order_id

    def script(body: dict[str, Any]) -> Any:
        last = body["messages"][-1]
        return tool_call("refund", {"order_id": "A"}, id="c1") if last["role"] == "user" else "ok"

    client = AsyncClient(api_key="k", transport=ScriptedModel(script), max_retries=0)
    return Agent(tools=[refund], client=client)


@pytest.mark.parametrize("idempotent", [False, True])
async def test_a_resume_cancelled_while_its_approved_call_runs(
    store: Any, idempotent: bool
) -> None:
    ran: list[str] = []
    started = asyncio.Event()
    agent, session = _slow_refund_agent(ran, started, idempotent), store.session("c")
    assert (await agent.run("refund A", session=session)).paused
    task = asyncio.ensure_future(agent.resume(session=session, decisions={"c1": Approve()}))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ran == ["A"] and await session.apause() is None  # the decision was taken
    assert [m["role"] for m in await session.amessages()] == ["user"]  # the turn: journaled

    started.clear()
    again = asyncio.ensure_future(agent.resume(session=session, decisions={"c1": Approve()}))
    if idempotent:  # it may simply run again
        await asyncio.wait_for(started.wait(), 10)
        again.cancel()
        with pytest.raises(asyncio.CancelledError):
            await again
        assert ran == ["A", "A"]
        return
    result = await again  # the same approval, retried: asked again, not run
    assert ran == ["A"] and result.paused
    (request,) = result.approvals
    assert request.tool_call_id == "c1" and request.interrupted
    assert (await session.apause())["requests"][0]["interrupted"] is True
    assert approval_json(request)["interrupted"] is True  # what the web API answers


def _lookup_and_refund_agent(ran: list[str], model: ScriptedModel) -> Agent[str]:
    @tool
    def lookup(order_id: str) -> str:
        """Look an order up.

        Args:
            order_id: The order.
        """
        ran.append("lookup " + order_id)
        return "paid"

    @tool(needs_approval=True)  # idempotent: crash recovery would simply run it again
    def refund(order_id: str) -> str:
        """Refund an order.

        Args:
            order_id: The order.
        """
        ran.append("refund " + order_id)
        return "refunded " + order_id

    client = AsyncClient(api_key="k", transport=model, max_retries=0)
    return Agent(tools=[lookup, refund], client=client)


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_discarded_pause_closes_its_turn_as_not_run(store: Any, asynchronous: bool) -> None:
    turn = {
        "tool_calls": [
            {"id": "c1", "name": "lookup", "arguments": {"order_id": "A"}},
            {"id": "c2", "name": "refund", "arguments": {"order_id": "A"}},
        ]
    }
    ran: list[str] = []
    model = ScriptedModel([turn, "好的。", "好的, 不退款。"])
    agent, session = _lookup_and_refund_agent(ran, model), store.session("d")
    assert (await agent.run("refund A", session=session)).paused
    if asynchronous:
        await session.adiscard_pause()
    else:
        await asyncio.to_thread(session.discard_pause)
    assert await session.apause() is None
    # The refund waited for a person and nobody approved it: a resume must not run it as
    # the call of a crashed run...
    await agent.resume(session=session)
    assert ran == ["lookup A"]
    # ...and the model must not be told it may have run ("interrupted").
    await agent.run("算了", session=session)
    sent = {m.get("tool_call_id"): m.get("content") for m in model.requests[-1]["messages"]}
    assert sent["c1"] == "paid" and sent["c2"].startswith("Not run: this call waited")
    stored = await session.amessages()
    assert [m["role"] for m in stored][:4] == ["user", "assistant", "tool", "tool"]
    assert stored[-2:] == [
        {"role": "user", "content": "算了"},
        {"role": "assistant", "content": "好的, 不退款。"},
    ]


def test_discard_pause_leaves_a_dead_runs_turn_to_crash_recovery(store: Any) -> None:
    session = store.session("e")
    turn = {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    ]}  # fmt: skip
    with session.lease() as lease:
        lease.append([{"role": "user", "content": "hi"}])
        lease.begin_turn(turn)  # the run died in its call: no pause, nothing was discarded
    session.discard_pause()
    with session.lease() as lease:
        assert lease.journal() == (turn, [])
