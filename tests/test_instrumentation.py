"""OpenTelemetry GenAI spans and metrics of agent runs: the span tree, names, kinds,
attributes, metrics, the content switch and the absence of the API key, in all four modes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import agentkit
from agentkit import Agent, Client, Instrumentation, tool
from agentkit.agent import observe
from agentkit.testing import ScriptedModel, tool_call
from tests._otel_support import KEY, MODES, Telemetry, agent_for, make_telemetry, run_mode


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    yield from make_telemetry()


@tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


def _weather_agent(otel: Telemetry, mode: str, **kwargs: Any) -> tuple[Agent[Any], ScriptedModel]:
    model = ScriptedModel([tool_call("get_weather", {"city": "Paris"}, id="call_1"), "Sunny."])
    agent = agent_for(
        model,
        mode,
        name="weather",
        model="gpt-5.4-mini",
        instructions="You report the weather.",
        tools=[get_weather],
        model_settings={"temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 300},
        instrument=otel.instrumentation(**kwargs),
    )
    return agent, model


@pytest.mark.parametrize("mode", MODES)
def test_span_tree_names_kinds_and_attributes(otel: Telemetry, mode: str) -> None:
    agent, _ = _weather_agent(otel, mode)
    result = run_mode(agent, mode, "Weather in Paris?")
    assert result.output == "Sunny."

    run = otel.one("invoke_agent")
    chats = otel.named("chat ")
    tool_span = otel.one("execute_tool")
    assert run.name == "invoke_agent weather" and run.kind is SpanKind.INTERNAL
    assert [c.name for c in chats] == ["chat gpt-5.4-mini"] * 2
    assert all(c.kind is SpanKind.CLIENT for c in chats)
    assert tool_span.name == "execute_tool get_weather" and tool_span.kind is SpanKind.INTERNAL
    assert len(otel.spans()) == 4
    # The tree: every chat and tool span is a child of the run span, in one trace.
    assert run.parent is None
    for child in [*chats, tool_span]:
        assert child.parent is not None and child.parent.span_id == run.context.span_id
        assert child.context.trace_id == run.context.trace_id

    ra = dict(run.attributes or {})
    assert ra["gen_ai.operation.name"] == "invoke_agent"
    assert ra["gen_ai.agent.name"] == "weather"
    assert ra["gen_ai.provider.name"] == "yisu"
    assert ra["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens > 0
    assert ra["gen_ai.usage.output_tokens"] == result.usage.completion_tokens > 0
    assert "gen_ai.conversation.id" not in ra  # no session

    first, second = (dict(c.attributes or {}) for c in chats)
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.provider.name"] == "yisu"
    assert first["gen_ai.request.model"] == "gpt-5.4-mini"
    assert first["gen_ai.request.temperature"] == 0.2
    assert first["gen_ai.request.top_p"] == 0.9
    assert first["gen_ai.request.max_tokens"] == 300
    assert first["gen_ai.response.model"] == "gpt-5.4-mini"
    assert isinstance(first["gen_ai.response.id"], str)
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second["gen_ai.response.finish_reasons"] == ("stop",)
    assert first["server.address"] == "api.yisu.com" and first["server.port"] == 443
    assert first["gen_ai.usage.input_tokens"] + second["gen_ai.usage.input_tokens"] == (
        result.usage.prompt_tokens
    )
    streamed = mode.startswith("stream")
    assert ("gen_ai.response.time_to_first_chunk" in first) is streamed
    assert first.get("gen_ai.request.stream", False) is streamed

    ta = dict(tool_span.attributes or {})
    assert ta["gen_ai.operation.name"] == "execute_tool"
    assert ta["gen_ai.tool.name"] == "get_weather"
    assert ta["gen_ai.tool.call.id"] == "call_1"
    assert ta["gen_ai.tool.type"] == "function"
    assert ta["gen_ai.tool.description"] == "The weather in a city."
    assert all(s.status.status_code is not StatusCode.ERROR for s in otel.spans())


@pytest.mark.parametrize("mode", MODES)
def test_content_is_off_by_default_and_the_key_is_never_recorded(
    otel: Telemetry, mode: str
) -> None:
    agent, _ = _weather_agent(otel, mode)
    run_mode(agent, mode, "Weather in Paris?")
    content_keys = {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    }
    texts = ("Paris", "Sunny", "You report the weather")
    for span in otel.spans():
        attributes = dict(span.attributes or {})
        assert not content_keys & set(attributes), span.name
        assert not any(t in str(v) for v in attributes.values() for t in texts), span.name
    _assert_no_key(otel)


def _assert_no_key(otel: Telemetry) -> None:
    for span in otel.spans():
        values = [span.name, span.status.description or ""]
        values += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            values += [event.name, *(f"{k}={v}" for k, v in (event.attributes or {}).items())]
        values += [f"{k}={v}" for k, v in span.resource.attributes.items()]
        for value in values:
            assert KEY not in value and "SECRET" not in value, (span.name, value)


@pytest.mark.parametrize("mode", MODES)
def test_include_content_records_messages_instructions_and_tool_io(
    otel: Telemetry, mode: str
) -> None:
    agent, _ = _weather_agent(otel, mode, include_content=True)
    run_mode(agent, mode, "Weather in Paris?")
    run = dict(otel.one("invoke_agent").attributes or {})
    assert json.loads(run["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "You report the weather."}
    ]
    first, second = (dict(c.attributes or {}) for c in otel.named("chat "))
    assert json.loads(first["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert json.loads(first["gen_ai.system_instructions"])[0]["content"] == (
        "You report the weather."
    )
    out = json.loads(first["gen_ai.output.messages"])
    assert out[0]["finish_reason"] == "tool_calls"
    assert out[0]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    sent = json.loads(second["gen_ai.input.messages"])
    assert sent[-1] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "Paris: sunny"}],
    }
    assert json.loads(second["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "Sunny."}
    ]
    ta = dict(otel.one("execute_tool").attributes or {})
    assert json.loads(ta["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert ta["gen_ai.tool.call.result"] == "Paris: sunny"
    _assert_no_key(otel)  # not even with content on


def test_inline_images_are_not_copied_into_spans(otel: Telemetry) -> None:
    model = ScriptedModel(["a cat"])
    agent = agent_for(model, "run_sync", instrument=otel.instrumentation(include_content=True))
    data = "data:image/png;base64," + "A" * 5000
    prompt = {
        "role": "user",
        "content": [{"type": "text", "text": "what?"}, {"type": "image", "image": data}],
    }
    agent.run_sync(prompt)
    sent = json.loads(dict(otel.one("chat").attributes or {})["gen_ai.input.messages"])
    assert sent[0]["parts"][1] == {"type": "blob", "modality": "image", "mime_type": "image/png"}
    assert all("AAAA" not in str(v) for s in otel.spans() for v in (s.attributes or {}).values())


@pytest.mark.parametrize("mode", MODES)
def test_metrics_token_usage_and_duration(otel: Telemetry, mode: str) -> None:
    agent, _ = _weather_agent(otel, mode)
    result = run_mode(agent, mode)
    tokens = otel.histogram("gen_ai.client.token.usage")
    by_type: dict[str, int] = {}
    for point in tokens:
        attrs = dict(point.attributes)
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "yisu"
        assert attrs["gen_ai.request.model"] == "gpt-5.4-mini"
        assert attrs["gen_ai.response.model"] == "gpt-5.4-mini"
        by_type[attrs["gen_ai.token.type"]] = by_type.get(attrs["gen_ai.token.type"], 0) + int(
            point.sum
        )
        assert point.count == 2
    assert by_type == {
        "input": result.usage.prompt_tokens,
        "output": result.usage.completion_tokens,
    }
    durations = otel.histogram("gen_ai.client.operation.duration")
    assert sum(p.count for p in durations) == 2
    assert all(p.sum >= 0 and "error.type" not in p.attributes for p in durations)
    ttfc = otel.histogram("gen_ai.client.operation.time_to_first_chunk")
    assert sum(p.count for p in ttfc) == (2 if mode.startswith("stream") else 0)


def test_cached_and_reasoning_tokens_when_reported(otel: Telemetry) -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-5.4-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 40,
            "total_tokens": 140,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 30},
        },
    }
    agent = agent_for(ScriptedModel([body]), "run_sync", instrument=otel.instrumentation())
    agent.run_sync("hi")
    for span in (otel.one("chat"), otel.one("invoke_agent")):
        attrs = dict(span.attributes or {})
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == 64, span.name
        assert attrs["gen_ai.usage.reasoning.output_tokens"] == 30, span.name
        assert attrs["gen_ai.usage.input_tokens"] == 100
    # Not reported: not invented.
    otel.exporter.clear()
    agent_for(ScriptedModel(["ok"]), "run_sync", instrument=otel.instrumentation()).run_sync("x")
    assert "gen_ai.usage.cache_read.input_tokens" not in dict(otel.one("chat").attributes or {})


def test_provider_name_and_conversation_id(otel: Telemetry) -> None:
    model = ScriptedModel(["ok"])
    instrumentation = otel.instrumentation(provider_name="openai")
    run = instrumentation.start_run(
        observe.RunInfo(agent_name=None, model="m", conversation_id="session-7")
    )
    run.end(None, None)
    attrs = dict(otel.one("invoke_agent").attributes or {})
    assert otel.one("invoke_agent").name == "invoke_agent"  # no agent name
    assert attrs["gen_ai.conversation.id"] == "session-7"
    assert attrs["gen_ai.provider.name"] == "openai"
    otel.exporter.clear()
    agent_for(model, "run_sync", instrument=instrumentation).run_sync("x")
    assert dict(otel.one("chat").attributes or {})["gen_ai.provider.name"] == "openai"


def test_instrument_all_is_the_default_and_false_opts_out(otel: Telemetry) -> None:
    agentkit.instrument_all(otel.instrumentation())
    try:
        agent_for(ScriptedModel(["ok"]), "run_sync").run_sync("x")
        assert len(otel.named("invoke_agent")) == 1
        agent_for(ScriptedModel(["ok"]), "run_sync", instrument=False).run_sync("x")
        assert len(otel.named("invoke_agent")) == 1
    finally:
        agentkit.instrument_all(None)
    agent_for(ScriptedModel(["ok"]), "run_sync").run_sync("x")
    assert len(otel.named("invoke_agent")) == 1


def test_instrument_true_uses_the_global_providers() -> None:
    agent = Agent(client=Client(api_key=KEY, transport=ScriptedModel(["ok"])), instrument=True)
    assert isinstance(agent._observer, Instrumentation)
    assert agent.run_sync("x").output == "ok"  # the global no-op providers: nothing breaks


def test_bad_arguments_are_user_errors() -> None:
    with pytest.raises(agentkit.UserError, match="provider_name"):
        Instrumentation(provider_name="")
    with pytest.raises(agentkit.UserError, match="instrument_all"):
        agentkit.instrument_all("yes")  # type: ignore[arg-type]


def test_import_agentkit_does_not_import_opentelemetry() -> None:
    code = (
        "import sys, agentkit\n"
        "from agentkit import Instrumentation, instrument_all\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "Instrumentation()\n"
        "assert 'opentelemetry.trace' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
