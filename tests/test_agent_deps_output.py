"""Typed deps and per-run output types (issue 18, "the library, as used").

A run without the deps a tool declares is a ``UserError`` before any request (it used to
give the tool ``None`` and "succeed"); ``run(..., output_type=...)`` replaces the agent's
output type for one run, in every mode and on resume, and mypy sees the type.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, RunContext, UserError, tool
from agentkit.approvals import Approve
from agentkit.testing import ScriptedModel
from tests._agent_support import MODES, async_client_for, calls, client_for, run_mode, text

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class FakeDB:
    stock: dict[str, int]


@tool
def stock(ctx: RunContext[FakeDB], sku: str) -> int:
    """How many of an item are in stock.

    Args:
        sku: The item's stock-keeping unit.
    """
    return ctx.deps.stock[sku]


@tool
def maybe_stock(ctx: RunContext[FakeDB | None], sku: str) -> int:
    """Stock when a database is at hand, else 0.

    Args:
        sku: The item's stock-keeping unit.
    """
    return 0 if ctx.deps is None else ctx.deps.stock[sku]


class Answer(BaseModel):
    sku: str
    count: int


def _agent(script: ScriptedModel, mode: str, **kwargs: Any) -> Agent[Any, Any]:
    client = async_client_for(script) if mode.startswith("async") else client_for(script)
    return Agent(client=client, **kwargs)


# ------------------------------------------------------------------ deps


@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_that_needs_deps_fails_the_run_at_its_start(mode: str) -> None:
    script = ScriptedModel([calls(("stock", {"sku": "A1"})), text("3")])
    agent = _agent(script, mode, tools=[stock], name="shop")
    with pytest.raises(UserError) as info:
        await run_mode(agent, mode, "how many A1?")
    message = str(info.value)
    assert "'stock'" in message and "RunContext[FakeDB]" in message and "deps=" in message
    assert script.requests == []  # nothing was sent: the mistake is caught up front


@pytest.mark.parametrize("mode", MODES)
async def test_with_deps_the_tool_gets_them(mode: str) -> None:
    script = ScriptedModel([calls(("stock", {"sku": "A1"})), text("3")])
    agent = _agent(script, mode, tools=[stock])
    result, _ = await run_mode(agent, mode, "how many A1?", deps=FakeDB({"A1": 3}))
    assert result.output == "3"
    assert script.requests[1]["messages"][-1] == {
        "role": "tool", "tool_call_id": "call_stock_0", "content": "3",
    }  # fmt: skip


async def test_a_tool_accepting_none_runs_without_deps() -> None:
    script = ScriptedModel([calls(("maybe_stock", {"sku": "A1"})), text("none")])
    agent = _agent(script, "async", tools=[maybe_stock])
    result = await agent.run("how many A1?")
    assert result.output == "none" and result.tool_failures == []


@pytest.mark.parametrize("mode", MODES)
async def test_deps_type_is_checked_at_run_time(mode: str) -> None:
    script = ScriptedModel([text("ok"), text("ok")])
    agent = _agent(script, mode, deps_type=FakeDB, name="shop")
    with pytest.raises(UserError, match=r"deps_type=FakeDB but the run got no deps"):
        await run_mode(agent, mode, "hi")
    with pytest.raises(UserError, match=r"deps_type=FakeDB but the run got deps of type dict"):
        await run_mode(agent, mode, "hi", deps={"A1": 3})
    result, _ = await run_mode(agent, mode, "hi", deps=FakeDB({}))
    assert result.output == "ok" and agent.deps_type is FakeDB


# ------------------------------------------------------------------ per-run output


@pytest.mark.parametrize("mode", MODES)
async def test_a_run_can_ask_for_its_own_output_type(mode: str) -> None:
    script = ScriptedModel([text('{"sku": "A1", "count": 3}'), text("plain words")])
    agent = _agent(script, mode, instructions="Be brief.")
    result, _ = await run_mode(agent, mode, "how many A1?", output_type=Answer)
    assert result.output == Answer(sku="A1", count=3)
    first = script.requests[0]
    assert first["response_format"] == {"type": "json_object"}
    system = first["messages"][0]["content"]
    assert system.startswith("Be brief.\n\n") and '"count"' in system
    # The next run is the agent's own again: text, no JSON mode, the plain instructions.
    again, _ = await run_mode(agent, mode, "and now?")
    assert again.output == "plain words"
    assert "response_format" not in script.requests[1]
    assert script.requests[1]["messages"][0] == {"role": "system", "content": "Be brief."}


@pytest.mark.parametrize("mode", ["async", "sync"])
async def test_per_run_str_turns_a_structured_agent_into_text(mode: str) -> None:
    script = ScriptedModel([text("just text")])
    agent = _agent(script, mode, output_type=Answer)
    result, _ = await run_mode(agent, mode, "hi", output_type=str)
    assert result.output == "just text" and "response_format" not in script.requests[0]


@tool(needs_approval=True)
def refund(order_id: str) -> str:
    """Refund an order.

    Args:
        order_id: The order to refund.
    """
    return f"refunded {order_id}"


@pytest.mark.parametrize("mode", ["async", "sync"])
async def test_resume_takes_the_output_type_too(mode: str) -> None:
    script = ScriptedModel([calls(("refund", {"order_id": "7"})), text('{"result": 7}')])
    agent = _agent(script, mode, tools=[refund])
    paused, _ = await run_mode(agent, mode, "refund 7", output_type=int)
    assert paused.pause is not None
    decisions = {r.tool_call_id: Approve() for r in paused.pause.requests}
    if mode == "async":
        result = await agent.resume(paused.pause, decisions, output_type=int)
    else:
        import asyncio

        result = await asyncio.to_thread(
            lambda: agent.resume_sync(paused.pause, decisions, output_type=int)
        )
    assert result.output == 7
    assert script.requests[1]["response_format"] == {"type": "json_object"}


# ------------------------------------------------------------------ what mypy sees

SNIPPET = """
from dataclasses import dataclass
from typing import assert_type

from pydantic import BaseModel

from agentkit import Agent, RunContext, RunResult


@dataclass
class DB:
    url: str


class Answer(BaseModel):
    count: int


agent = Agent(deps_type=DB, instructions=lambda ctx: f"db at {ctx.deps.url}")
assert_type(agent, Agent[str, DB])


async def main() -> None:
    text = await agent.run("hi", deps=DB("x"))
    assert_type(text, RunResult[str])
    typed = await agent.run("hi", deps=DB("x"), output_type=Answer)
    assert_type(typed.output, Answer)
    number = agent.run_sync("hi", output_type=int)
    assert_type(number.output, int)
    await agent.run("hi", deps="not a DB")  # line 29: an error mypy must report


Agent(deps_type=DB, instructions=lambda ctx: ctx.deps.name)  # line 32: DB has no "name"
"""


def test_mypy_sees_the_deps_and_the_per_run_output_type(tmp_path: Path) -> None:
    user = tmp_path / "user_code.py"
    user.write_text(textwrap.dedent(SNIPPET).lstrip())
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), str(user)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, checked.stdout
    assert errors[0].startswith("user_code.py:29:") and '"str", "str"' in errors[0], errors
    assert errors[1].startswith("user_code.py:32:") and '"DB" has no attribute' in errors[1]
