"""Tool calls written as text: what is recovered, what never is, and how streams show it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentkit import Agent, ToolChoiceIgnoredError, tool
from agentkit.agent.text_calls import TextHold, recovered_calls, text_tool_calls
from agentkit.events import TextDelta, ToolCallArgsDelta, ToolCallStarted
from agentkit.messages import ChatCompletion
from agentkit.testing import ScriptedModel
from tests._agent_support import MODES, async_client_for, calls, client_for, run_mode, text

TOOLS = {"get_weather", "get_time"}
PARIS = ("get_weather", {"city": "Paris"})

RECOVERED: list[tuple[str, str, list[tuple[str, dict[str, Any]]]]] = [
    ("bare", '{"name": "get_weather", "arguments": {"city": "Paris"}}', [PARIS]),
    (
        "bare, surrounding space",
        '\n  {"name": "get_weather", "arguments": {"city": "Paris"}} \n',
        [PARIS],
    ),
    (
        "fenced json",
        '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
        [PARIS],
    ),
    (
        "fenced, no language",
        '```\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
        [PARIS],
    ),
    (
        "tagged (Hermes/Qwen)",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        [PARIS],
    ),
    (
        "two tagged blocks",
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
        '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>',
        [PARIS, ("get_time", {})],
    ),
    (
        "tagged, unclosed at the end",
        '<tool_call>\n{"name": "get_time", "arguments": {}}',
        [("get_time", {})],
    ),
    ("doubled braces", '{{"name": "get_weather", "arguments": {{"city": "Paris"}}}}', [PARIS]),
    (
        "a list of calls",
        '[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_time"}]',
        [PARIS, ("get_time", {})],
    ),
    (
        "'parameters' for 'arguments'",
        '{"name": "get_weather", "parameters": {"city": "Paris"}}',
        [PARIS],
    ),
    (
        "arguments as JSON text",
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}',
        [PARIS],
    ),
    (
        "the wire form written out",
        '{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}',
        [PARIS],
    ),
    # a wrong type is still a call: validation sends the error back to the model
    (
        "wrong argument type",
        '{"name": "get_weather", "arguments": {"city": ["Paris"]}}',
        [("get_weather", {"city": ["Paris"]})],
    ),
]

NOT_CALLS: list[tuple[str, str | None]] = [
    ("plain text", "The weather in Paris is sunny."),
    ("empty", ""),
    ("none", None),
    (
        "JSON inside an answer",
        'I would call {"name": "get_weather", "arguments": {"city": "Paris"}} now.',
    ),
    (
        "fence then prose",
        '```json\n{"name": "get_weather", "arguments": {}}\n```\nThat is how to call it.',
    ),
    ("prose then fence", 'Example:\n```json\n{"name": "get_weather", "arguments": {}}\n```'),
    ("JSON data as the answer", '{"city": "Paris", "temperature": 21}'),
    ("data with a name that is no tool", '{"name": "Alice", "arguments": {}}'),
    (
        "a tool's name plus other keys",
        '{"name": "get_weather", "arguments": {}, "confidence": 0.9}',
    ),
    ("a person record named like a tool", '{"name": "get_time", "age": 3}'),
    ("arguments not an object", '{"name": "get_weather", "arguments": ["Paris"]}'),
    ("both arguments and parameters", '{"name": "get_weather", "arguments": {}, "parameters": {}}'),
    ("a list with one non-call", '[{"name": "get_weather", "arguments": {}}, {"city": "Rome"}]'),
    ("an empty list", "[]"),
    ("a list of numbers", "[1, 2, 3]"),
    ("invalid JSON", '{"name": "get_weather", "arguments": {"city": "Paris"'),
    ("text outside the tags", 'Sure! <tool_call>{"name": "get_time", "arguments": {}}</tool_call>'),
    ("tags then text", '<tool_call>{"name": "get_time", "arguments": {}}</tool_call> done'),
    ("a fenced Python block", "```python\nprint('hi')\n```"),
    ("a different type", '{"type": "object", "name": "get_time"}'),
]


@pytest.mark.parametrize(("label", "content", "expected"), RECOVERED, ids=[r[0] for r in RECOVERED])
def test_text_forms_are_recovered(label: str, content: str, expected: list[Any]) -> None:
    found = text_tool_calls(content, TOOLS)
    assert found is not None, label
    assert [(c.name, json.loads(c.arguments)) for c in found] == expected
    assert all(c.id == "" for c in found)  # the run gives each a fresh id


@pytest.mark.parametrize(("label", "content"), NOT_CALLS, ids=[n[0] for n in NOT_CALLS])
def test_answers_that_are_not_calls(label: str, content: str | None) -> None:
    assert text_tool_calls(content, TOOLS) is None, label


def test_no_offered_tools_means_no_recovery() -> None:
    assert text_tool_calls('{"name": "get_time", "arguments": {}}', set()) is None


def _completion(content: str, finish: str = "stop") -> ChatCompletion:
    return ChatCompletion.from_dict(
        {
            "choices": [
                {"message": {"role": "assistant", "content": content}, "finish_reason": finish}
            ]
        }
    )


def test_an_answer_cut_at_the_token_limit_is_never_a_call() -> None:
    content = '{"name": "get_time", "arguments": {}}'
    assert recovered_calls(_completion(content), TOOLS) is not None
    assert recovered_calls(_completion(content, "length"), TOOLS) is None


# -- the streaming hold-back ------------------------------------------------------------------


def _feed(hold: TextHold, pieces: list[str]) -> list[Any]:
    out: list[Any] = []
    for piece in pieces:
        out += hold.feed([TextDelta(piece)])
    return out


def test_prose_flows_at_once() -> None:
    hold = TextHold(TOOLS)
    assert _feed(hold, ["  ", "The", " weather"]) == [TextDelta("  The"), TextDelta(" weather")]
    assert hold.finish(_completion("  The weather")) == []


def test_a_call_written_as_text_is_held_and_dropped() -> None:
    pieces = ["``", '`json\n{"name": "get_time",', ' "arguments": {}}\n```']
    hold = TextHold(TOOLS)
    assert _feed(hold, pieces) == []
    assert hold.finish(_completion("".join(pieces))) == []


def test_json_that_is_not_a_call_is_released_whole_at_the_end() -> None:
    pieces = ['{"city": ', '"Paris"}']
    hold = TextHold(TOOLS)
    assert _feed(hold, pieces) == []
    assert hold.finish(_completion("".join(pieces))) == [TextDelta('{"city": "Paris"}')]


def test_a_fence_start_that_turns_into_prose_is_released_then() -> None:
    hold = TextHold(TOOLS)
    assert _feed(hold, ["`", "x` is a variable"]) == [TextDelta("`x` is a variable")]


def test_a_cut_off_call_is_released() -> None:
    hold = TextHold(TOOLS)
    content = '{"name": "get_time", "arguments": {}}'
    assert _feed(hold, [content]) == []
    assert hold.finish(_completion(content, "length")) == [TextDelta(content)]


def test_other_events_pass_and_nothing_is_held_without_tools() -> None:
    delta = ToolCallArgsDelta(0, "c1", "get_time", "{}")
    hold = TextHold(TOOLS)
    assert hold.feed([delta]) == [delta]
    off = TextHold(None)
    assert off.feed([TextDelta("{")]) == [TextDelta("{")]


# -- in runs: all four modes -----------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


FENCED = '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```'


def _agent(script: ScriptedModel, mode: str, **options: Any) -> Agent[Any]:
    client = client_for(script) if mode.startswith("sync") else async_client_for(script)
    return Agent(tools=[get_weather], client=client, **options)


@pytest.mark.parametrize("mode", MODES)
async def test_a_run_recovers_the_call_and_sends_proper_wire_form(mode: str) -> None:
    script = ScriptedModel([text(FENCED), text("It is sunny in Paris.")])
    result, events = await run_mode(
        _agent(script, mode, recover_text_tool_calls=True), mode, "Weather in Paris?"
    )
    assert result.output == "It is sunny in Paris."
    assert any("as text" in n for n in result.notes)
    sent = script.requests[1]["messages"]
    assistant = sent[1]
    assert assistant["role"] == "assistant" and "content" not in assistant
    call = assistant["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and call["id"]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert sent[2] == {"role": "tool", "tool_call_id": call["id"], "content": "sunny in Paris"}
    if events:
        shown = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert shown == "It is sunny in Paris."  # the fence never reached the UI
        assert any(isinstance(e, ToolCallStarted) and e.name == "get_weather" for e in events)


@pytest.mark.parametrize("mode", MODES)
async def test_a_recovered_call_with_a_wrong_type_goes_back_to_the_model(mode: str) -> None:
    wrong = '{"name": "get_weather", "arguments": {"city": ["Paris"]}}'
    script = ScriptedModel([text(wrong), text(FENCED), text("Sunny.")])
    result, _ = await run_mode(_agent(script, mode, recover_text_tool_calls=True), mode, "Paris?")
    assert result.output == "Sunny."
    error = script.requests[1]["messages"][-1]
    assert error["role"] == "tool" and "city" in error["content"]
    assert script.requests[2]["messages"][-1]["content"] == "sunny in Paris"


@pytest.mark.parametrize("mode", MODES)
async def test_json_answers_and_cut_answers_stay_answers(mode: str) -> None:
    data = '{"city": "Paris", "temperature": 21}'
    script = ScriptedModel([text(data)])
    result, events = await run_mode(_agent(script, mode, recover_text_tool_calls=True), mode, "x")
    assert result.output == data and not result.notes
    if events:
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == data
    cut = '{"name": "get_weather", "arguments": {"city": "Par'
    script = ScriptedModel([text(cut, finish="length")])
    result, _ = await run_mode(_agent(script, mode, recover_text_tool_calls=True), mode, "x")
    assert result.output == cut and len(script.requests) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_recovery_is_off_by_default_and_on_with_a_profile(mode: str) -> None:
    script = ScriptedModel([text(FENCED)])
    result, _ = await run_mode(_agent(script, mode), mode, "x")
    assert result.output == FENCED and len(script.requests) == 1
    script = ScriptedModel([text(FENCED), text("Sunny.")])
    client = (
        client_for(script, profile="llama.cpp")
        if mode.startswith("sync")
        else async_client_for(script, profile="llama.cpp")
    )
    result, _ = await run_mode(Agent(tools=[get_weather], client=client), mode, "x")
    assert result.output == "Sunny." and len(script.requests) == 2
    # an agent's explicit False wins over the profile
    script = ScriptedModel([text(FENCED)])
    client = (
        client_for(script, profile="ollama")
        if mode.startswith("sync")
        else async_client_for(script, profile="ollama")
    )
    agent = Agent(tools=[get_weather], client=client, recover_text_tool_calls=False)
    result, _ = await run_mode(agent, mode, "x")
    assert result.output == FENCED


async def test_tool_choice_none_is_never_overridden_by_recovery() -> None:
    script = ScriptedModel([text(FENCED)])
    agent = _agent(script, "async", recover_text_tool_calls=True)
    result = await agent.run("x", model_settings={"tool_choice": "none"})
    assert result.output == FENCED


# -- a forced tool choice answered with text ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_forced_choice_answered_with_text_is_asked_again_then_an_error(mode: str) -> None:
    script = ScriptedModel([text("I think it is sunny."), text("Still sunny, trust me.")])
    agent = _agent(script, mode, model_settings={"tool_choice": "required"})
    with pytest.raises(ToolChoiceIgnoredError) as info:
        await run_mode(agent, mode, "Weather in Paris?")
    assert info.value.tool_choice == "required"
    assert len(script.requests) == 2
    again = script.requests[1]
    assert again["tool_choice"] == "required"
    assert (
        again["messages"][-1]["role"] == "user" and "must call" in again["messages"][-1]["content"]
    )
    assert info.value.messages[-1]["content"] == "Still sunny, trust me."


@pytest.mark.parametrize("mode", MODES)
async def test_forced_named_choice_answered_after_the_restatement_succeeds(mode: str) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    script = ScriptedModel([text("Sunny."), calls(PARIS), text("Sunny in Paris.")])
    agent = _agent(script, mode, model_settings={"tool_choice": named})
    result, _ = await run_mode(agent, mode, "Weather in Paris?")
    assert result.output == "Sunny in Paris."
    assert "'get_weather'" in script.requests[1]["messages"][-1]["content"]
    assert any("asked again" in n for n in result.notes)
    assert script.requests[2]["tool_choice"] == "auto"  # reset after the forced turn
