"""Typed deps and per-run output types (issue 18, "the library, as used").

A run without the deps a tool declares is a ``UserError`` before any request (it used to
give the tool ``None`` and "succeed"); ``run(..., output_type=...)`` replaces the agent's
output type for one run, in every mode and on resume, and mypy sees the type.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, RunContext, RunResult, UserError, tool
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


# ------------------------------------------------------------------ validating the answer


class Point(typing.TypedDict):  # typing's, which pydantic refuses before Python 3.12
    x: int
    y: int


class Line(BaseModel):
    sku: str


class Order(BaseModel):
    amount: int
    lines: list[Line] = []


@dataclass
class Flag:
    ok: bool


def test_a_typing_typed_dict_is_an_output_type_as_it_is_a_tool_parameter() -> None:
    script = ScriptedModel([text('{"x": 1, "y": 2}'), text('{"x": 3, "y": 4}')])
    agent = Agent(client=client_for(script), output_type=Point)
    assert agent.run_sync("where?").output == {"x": 1, "y": 2}
    plain = Agent(client=client_for(script))
    result = plain.run_sync("where?", output_type=Point)
    assert result.output == {"x": 3, "y": 4}
    assert RunResult.from_dict(result.to_dict(), output_type=Point).output == {"x": 3, "y": 4}


def test_an_output_type_pydantic_cannot_build_is_a_user_error_naming_it() -> None:
    client = client_for(ScriptedModel([]))
    with pytest.raises(UserError, match=r"Unsupported output_type 'Answer'.*pass the type"):
        Agent(client=client, output_type=typing.cast(Any, "Answer"))
    with pytest.raises(UserError, match="Unsupported output_type 'Answer'"):
        Agent(client=client).run_sync("hi", output_type=typing.cast(Any, "Answer"))
    with pytest.raises(UserError, match="Unsupported output_type 'Answer'"):
        RunResult.from_dict({"output": 1, "messages": [], "usage": {}}, typing.cast(Any, "Answer"))
    with pytest.raises(UserError, match="Unsupported output_type 42"):
        Agent(client=client, output_type=typing.cast(Any, 42))


@pytest.mark.parametrize("output_mode", ["json_object", "json_schema"])
@pytest.mark.parametrize(
    ("output_type", "answer", "error", "fixed", "expected"),
    [
        (int, '{"result": true}', "- result: Input should be a valid integer",
         '{"result": 1}', 1),
        (int, '{"result": "5"}', "- result: Input should be a valid integer",
         '{"result": 5}', 5),
        (bool, '{"result": "yes"}', "- result: Input should be a valid boolean",
         '{"result": true}', True),
        (int, '{"result": 5, "why": "x"}', "- why: Extra inputs are not permitted",
         '{"result": 5}', 5),
        (Order, '{"amount": "7", "amout": 8}',
         "- amount: Input should be a valid integer\n- amout: Extra inputs are not permitted",
         '{"amount": 7}', Order(amount=7)),
        (Order, '{"amount": 7, "lines": [{"sku": "a", "qty": 2}]}',
         "- lines.0.qty: Extra inputs are not permitted",
         '{"amount": 7, "lines": [{"sku": "a"}]}', Order(amount=7, lines=[Line(sku="a")])),
        (Flag, '{"ok": "off"}', "- ok: Input should be a valid boolean",
         '{"ok": false}', Flag(ok=False)),
        (Point, '{"x": 1, "y": 2, "z": 3}', "- z: Extra inputs are not permitted",
         '{"x": 1, "y": 2}', {"x": 1, "y": 2}),
    ],
)  # fmt: skip
def test_an_answer_is_validated_as_tool_arguments_are_and_a_mismatch_goes_back(
    output_mode: str, output_type: Any, answer: str, error: str, fixed: str, expected: Any
) -> None:
    script = ScriptedModel([text(answer), text(fixed)])
    agent = Agent(client=client_for(script), output_type=output_type, output_mode=output_mode)
    result = agent.run_sync("q")
    assert result.output == expected and result.usage.requests == 2
    feedback = script.requests[1]["messages"][-1]["content"]
    assert feedback.startswith(f"Your answer does not match the schema:\n{error}\n")


def test_the_answer_is_made_of_the_users_classes_and_its_schema_refuses_extra_keys() -> None:
    script = ScriptedModel([text('{"amount": 7, "lines": [{"sku": "a"}]}')])
    agent = Agent(client=client_for(script), output_type=Order, output_mode="json_schema")
    order = agent.run_sync("q").output
    # Not the forbid-extras subclasses used to check it: those could not be pickled.
    assert type(order) is Order and type(order.lines[0]) is Line
    assert pickle.loads(pickle.dumps(order)) == order
    schema = script.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["Line"]["additionalProperties"] is False


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

# Type expressions that are no class are output types too (their output is Any).
from typing import Any, Literal  # noqa: E402 - below, so the line numbers above hold

assert_type(Agent(output_type=Literal["yes", "no"]), Agent[Any, Any])
assert_type(Agent(output_type=int | None).run_sync("hi").output, Any)
assert_type(agent.run_sync("hi", output_type=Literal["yes", "no"]).output, Any)
assert_type(agent.run_sync("hi", output_type=int | None).output, Any)
assert_type(Agent(output_type=Answer), Agent[Answer, Any])  # classes still infer
stored = agent.run_sync("hi", output_type=Answer).to_dict()
assert_type(RunResult.from_dict(stored, Answer), RunResult[Answer])
assert_type(RunResult.from_dict(stored, Literal["yes", "no"]), RunResult[Any])
assert_type(RunResult.from_dict(stored, int | None), RunResult[Any])
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
