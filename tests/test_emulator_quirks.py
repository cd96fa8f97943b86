"""Quirk modes, recorded requests, model names, generated values and templates."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from agentkit import Agent, Client, tool
from agentkit.emulator import QUIRK_PRESETS, Emulator, EmulatorTransport, Quirks
from agentkit.emulator.policy import generate
from agentkit.errors import UserError

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "查询天气信息",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK = [{"role": "user", "content": "查询北京天气"}]


def http(**options: Any) -> httpx.Client:
    return httpx.Client(
        transport=EmulatorTransport(**options),
        base_url="http://e/v1",
        headers={"Authorization": "Bearer k"},
    )


def post(client: httpx.Client, **body: Any) -> httpx.Response:
    return client.post("/chat/completions", json={"model": "gpt-5.4-mini", **body})


def chunks(response: httpx.Response) -> list[Any]:
    data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    return [json.loads(d) for d in data if d != "[DONE]"]


def history_after_call(content: Any = "missing") -> list[dict[str, Any]]:
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    assistant: dict[str, Any] = {"role": "assistant", "tool_calls": [call]}
    if content != "missing":
        assistant["content"] = content
    return [*ASK, assistant, {"role": "tool", "tool_call_id": "c1", "content": "晴"}]


# -- stream usage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quirks", "asked", "expected"),
    [
        (None, False, False),
        (None, True, True),
        ("always-usage", False, True),
        ("provider-examples", True, False),
        ("llama.cpp", False, False),
    ],
)
def test_usage_chunk_only_when_asked(quirks: str | None, asked: bool, expected: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if asked else {}
    with http(quirks=quirks) as client:
        got = chunks(post(client, messages=ASK, stream=True, **options))
    assert any("usage" in c for c in got) is expected
    if expected:
        assert got[-1]["choices"] == [] and got[-1]["usage"]["total_tokens"] > 0


def test_stream_usage_true_keeps_the_old_behaviour() -> None:
    with http(stream_usage=True) as client:
        assert "usage" in chunks(post(client, messages=ASK, stream=True))[-1]


# -- presets ---------------------------------------------------------------------------------


def test_preset_names_are_stable() -> None:
    assert list(QUIRK_PRESETS) == [
        "agentkit",
        "provider-examples",
        "openai",
        "llama.cpp",
        "vllm",
        "ollama",
        "litellm",
        "text-tool-calls",
        "ignores-tool-choice",
        "always-usage",
    ]
    assert all(q.name == name for name, q in QUIRK_PRESETS.items())
    assert Emulator(quirks=QUIRK_PRESETS["vllm"]).quirks.name == "vllm"
    with pytest.raises(UserError, match="known: agentkit, provider-examples"):
        Emulator(quirks="lmstudio")
    with pytest.raises(UserError, match="unknown styles"):
        Quirks(text_tool_calls=("xml",))


def test_provider_examples_have_the_documented_bare_shapes() -> None:
    with http(quirks="provider-examples") as client:
        called = post(client, messages=ASK, tools=[WEATHER]).json()
        text = post(client, messages=[{"role": "user", "content": "你好"}]).json()
        streamed = chunks(post(client, messages=ASK, stream=True))
    assert set(called) == {"choices"}
    assert set(called["choices"][0]) == {"message", "finish_reason"}
    assert set(called["choices"][0]["message"]) == {"role", "tool_calls"}  # no content key
    assert set(text["choices"][0]["message"]) == {"role", "content"}
    assert all(set(c) == {"choices"} for c in streamed)
    assert all("index" not in c["choices"][0] for c in streamed)
    assert streamed[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("content", ["missing", None])
def test_llama_cpp_needs_empty_string_content_after_tool_calls(content: Any) -> None:
    with http(quirks="llama.cpp") as client:
        refused = post(client, messages=history_after_call(content), tools=[WEATHER])
        accepted = post(client, messages=history_after_call(""), tools=[WEATHER])
    assert refused.status_code == 500
    assert refused.json()["error"]["message"] == "'dict object' has no attribute 'content'"
    assert accepted.status_code == 200


def test_llama_cpp_refuses_required_tool_choice_and_serves_any_model() -> None:
    with http(quirks="llama.cpp") as client:
        required = post(client, messages=ASK, tools=[WEATHER], tool_choice="required")
        other = post(client, messages=ASK, model="qwen2.5-coder-1.5b")
        capped = post(client, messages=[{"role": "user", "content": "Hello " * 40}], max_tokens=3)
        ignored = post(
            client, messages=[{"role": "user", "content": "Hello " * 40}], max_completion_tokens=3
        )
    assert required.status_code == 500
    assert other.status_code == 200
    assert capped.json()["choices"][0]["finish_reason"] == "length"
    assert ignored.json()["choices"][0]["finish_reason"] == "stop"  # it knows only max_tokens


def test_openai_is_strict_about_image_parts_max_tokens_and_models() -> None:
    image = "data:image/png;base64,iVBORw0KGgo="
    provider_part = {"role": "user", "content": [{"type": "image", "image": image}]}
    openai_part = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}}]}
    with http(quirks="openai") as client:
        assert post(client, messages=[provider_part]).status_code == 400
        assert post(client, messages=[openai_part]).status_code == 200
        limited = post(client, messages=ASK, max_tokens=5)
        missing = post(client, messages=ASK, model="gpt-4o")
    with http() as client:  # the provider takes both shapes
        assert post(client, messages=[provider_part]).status_code == 200
    assert limited.status_code == 400 and limited.json()["error"]["param"] == "max_tokens"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_ollama_streams_a_tool_call_whole_and_ignores_tool_choice() -> None:
    with http(quirks="ollama") as client:
        streamed = chunks(post(client, messages=ASK, tools=[WEATHER], stream=True))
        forced = post(
            client,
            messages=[{"role": "user", "content": "hello"}],
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
    fragments = [c for c in streamed if c["choices"] and c["choices"][0]["delta"].get("tool_calls")]
    assert len(fragments) == 1
    assert fragments[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == (
        '{"city":"北京"}'
    )
    assert forced.json()["choices"][0]["message"].get("tool_calls") is None


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_ignores_tool_choice_answers_text(choice: Any) -> None:
    body = {
        "messages": [{"role": "user", "content": "hello"}],
        "tools": [WEATHER],
        "tool_choice": choice,
    }
    with http() as client:
        assert post(client, **body).json()["choices"][0]["finish_reason"] == "tool_calls"
    with http(quirks="ignores-tool-choice") as client:
        answer = post(client, **body).json()["choices"][0]
    assert answer["finish_reason"] == "stop" and answer["message"]["content"]


def test_text_tool_calls_cycle_through_the_forms_small_models_write() -> None:
    with http(quirks="text-tool-calls") as client:
        answers = [post(client, messages=ASK, tools=[WEATHER]).json() for _ in range(4)]
    texts = [a["choices"][0]["message"]["content"] for a in answers]
    assert all(a["choices"][0]["message"].get("tool_calls") is None for a in answers)
    assert all(a["choices"][0]["finish_reason"] == "stop" for a in answers)
    call = {"name": "get_weather", "arguments": {"city": "北京"}}
    fenced, bare, doubled, tagged = texts
    assert fenced.startswith("```json\n") and json.loads(fenced[8:-4]) == call
    assert json.loads(bare) == call
    assert (
        doubled.startswith("{{")
        and json.loads(doubled.replace("{{", "{").replace("}}", "}")) == call
    )
    assert tagged.startswith("<tool_call>\n") and json.loads(tagged[12:-13]) == call


# -- models, recorded requests, fault statuses -----------------------------------------------


def test_unknown_model_gets_the_documented_400_unless_relaxed() -> None:
    with http() as client:
        r = post(client, messages=ASK, model="gpt-9")
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["code"] == "invalid_request"
    assert r.json()["error"]["param"] == "model" and "'gpt-9'" in r.json()["error"]["message"]
    with http(models=["a", "b"], strict_models=True) as client:
        assert post(client, messages=ASK, model="b").status_code == 200
        assert post(client, messages=ASK, model="gpt-5.4-mini").status_code == 400
    with http(strict_models=False) as client:
        assert post(client, messages=ASK, model="gpt-9").status_code == 200


def test_transport_records_what_the_agent_sent() -> None:
    transport = EmulatorTransport()

    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"{city}: 晴"

    agent = Agent(tools=[get_weather], client=Client(api_key="k", transport=transport))
    agent.run_sync("What is the weather in Paris?")
    assert len(transport.requests) == 2
    assert transport.requests is transport.emulator.requests
    sent = {"role": "user", "content": "What is the weather in Paris?"}
    assert transport.requests[0]["messages"][-1] == sent
    assert transport.requests[0]["tools"][0]["function"]["name"] == "get_weather"
    assert transport.requests[1]["messages"][-1]["role"] == "tool"
    quiet = EmulatorTransport(record_requests=False)
    with httpx.Client(
        transport=quiet, base_url="http://e/v1", headers={"Authorization": "Bearer k"}
    ) as c:
        post(c, messages=ASK)
    assert quiet.requests == []


def test_fixture_records_requests(emulator: EmulatorTransport) -> None:
    with httpx.Client(
        transport=emulator, base_url="http://e/v1", headers={"Authorization": "Bearer k"}
    ) as c:
        post(c, messages=ASK, temperature=0.5)
    assert emulator.requests == [{"model": "gpt-5.4-mini", "messages": ASK, "temperature": 0.5}]


@pytest.mark.parametrize(
    "spec", ["status=700", "status=99", "status=0", "html=1000", "empty=42", "status=500.5"]
)
def test_fault_status_outside_100_599_is_a_400(spec: str) -> None:
    with http() as client:
        r = client.post(
            "/chat/completions",
            json={"model": "gpt-5.4-mini", "messages": ASK},
            headers={"x-emulator-fault": spec},
        )
    assert r.status_code == 400
    assert "from 100 to 599" in r.json()["error"]["message"]
    with pytest.raises(UserError, match="from 100 to 599"):
        Emulator(faults=spec)


# -- generated values ------------------------------------------------------------------------


def test_generated_arguments_are_plausible() -> None:
    schema = {
        "type": "object",
        "properties": {
            "reason": {"type": "string"},
            "email": {"type": "string"},
            "customer_name": {"type": "string"},
            "website": {"type": "string", "format": "uri"},
            "ticket_id": {"type": "string"},
        },
        "required": ["reason", "email", "customer_name", "website", "ticket_id"],
    }
    args = generate(schema, text="please cancel it")
    for name, value in args.items():
        assert value != name and name not in value.lower(), (name, value)
    assert "@" in args["email"] and args["website"].startswith("https://")


def test_datetimes_are_naive_unless_the_schema_asks_for_a_timezone() -> None:
    naive = generate({"type": "string", "format": "date-time"})
    assert dt.datetime.fromisoformat(naive).tzinfo is None
    aware = generate(
        {"type": "string", "format": "date-time", "description": "start, with timezone"}
    )
    assert dt.datetime.fromisoformat(aware).tzinfo is not None
    taken = generate({"type": "string", "format": "date-time"}, text="book it for 2026-03-05 14:00")
    assert taken == "2026-03-05T14:00:00"

    @tool
    def book(start: dt.datetime) -> str:
        """Book a slot; naive code compares with a naive datetime."""
        return "late" if start > dt.datetime(2026, 1, 1) else "early"

    transport = EmulatorTransport()
    agent = Agent(tools=[book], client=Client(api_key="k", transport=transport))
    result = agent.run_sync("book a slot")
    assert not result.tool_failures
    assert transport.requests[1]["messages"][-1]["content"] in ("late", '"late"')


def test_template_dotted_access_prefers_data_keys_over_dict_methods() -> None:
    scenario = {
        "match": "cart",
        "tool_calls": [{"name": "get_cart", "arguments": {}}],
        "reply": (
            "{{ result.items | join(', ') }} ({{ result.keys }}, {{ result.values | length }})"
        ),
    }
    cart = {
        "type": "function",
        "function": {"name": "get_cart", "parameters": {"type": "object", "properties": {}}},
    }
    result = json.dumps({"items": ["tea", "milk"], "keys": 2, "values": [1, 2, 3]})
    with http(scenarios=[scenario]) as client:
        first = post(client, messages=[{"role": "user", "content": "my cart"}], tools=[cart]).json()
        call = first["choices"][0]["message"]
        history = [
            {"role": "user", "content": "my cart"},
            call,
            {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"], "content": result},
        ]
        second = post(client, messages=history, tools=[cart]).json()
    assert second["choices"][0]["message"]["content"] == "tea, milk (2, 3)"
