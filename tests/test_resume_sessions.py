"""Resuming a paused run kept in a session: right after the run that paused, and after a
resume refused for bad decisions (regressions found serving agents on the web)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _web_support import shop_agent

from agentkit import Approve
from agentkit.errors import UserError
from agentkit.sessions import MemoryStore, SQLiteStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    s: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
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
