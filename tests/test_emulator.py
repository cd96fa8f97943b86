"""The emulator driven with plain httpx: wire format, validation, the stand-in model, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from agentkit.errors import UserError
from agentkit.testing import (
    FAULT_HEADER,
    Emulator,
    EmulatorTransport,
    Scenario,
    builtin_scenarios,
    load_scenarios,
)

MODEL = "gpt-5.4-mini"
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
CLOCK = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a timezone",
        "parameters": {
            "type": "object",
            "properties": {"timezone": {"type": "string", "enum": ["UTC", "Asia/Shanghai"]}},
            "required": ["timezone"],
        },
    },
}
PNG = "data:image/png;base64,iVBORw0KGgo="


def client(transport: httpx.BaseTransport | None = None, key: str = "k") -> httpx.Client:
    return httpx.Client(
        transport=transport or EmulatorTransport(),
        base_url="http://emulator/v1",
        headers={"Authorization": f"Bearer {key}"},
    )


def chat(http: httpx.Client, messages: list[dict[str, Any]], **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", None)
    return http.post(
        "/chat/completions", json={"model": MODEL, "messages": messages, **extra}, headers=headers
    )


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def events(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with client() as c:
        yield c


# -- plain, models, auth -------------------------------------------------------------------


def test_plain_answer_is_honest_and_well_formed(http: httpx.Client) -> None:
    r = chat(http, [{"role": "system", "content": "你是助手"}, user("你好")])
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert "模拟器" in choice["message"]["content"]
    assert "你好" in choice["message"]["content"]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_english_answer_and_determinism(http: httpx.Client) -> None:
    first = chat(http, [user("Hello there")]).json()["choices"][0]["message"]["content"]
    second = chat(http, [user("Hello there")]).json()["choices"][0]["message"]["content"]
    assert first == second
    assert "emulator" in first and "Hello there" in first


def test_models_endpoint(http: httpx.Client) -> None:
    body = http.get("/models").json()
    assert body["object"] == "list"
    assert body["data"][0] == {
        "id": MODEL,
        "object": "model",
        "created": 1780000000,
        "owned_by": "system",
    }
    assert http.get(f"/models/{MODEL}").json()["id"] == MODEL
    assert http.get("/models/nope").status_code == 404


def test_unknown_path_and_wrong_method(http: httpx.Client) -> None:
    r = http.get("/nothing")
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
    assert http.get("/chat/completions").status_code == 405


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Basic abc", "Bearer wrong"])
def test_bad_key_gets_documented_401(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    transport = EmulatorTransport(api_keys={"good"})
    with httpx.Client(transport=transport, base_url="http://e/v1") as http:
        r = http.post(
            "/chat/completions", json={"model": MODEL, "messages": [user("hi")]}, headers=headers
        )
        assert r.status_code == 401
        assert r.json() == {
            "error": {
                "message": "Invalid API key.",
                "type": "authentication_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        ok = http.get("/models", headers={"Authorization": "Bearer good"})
        assert ok.status_code == 200


def test_any_non_empty_key_accepted_by_default() -> None:
    with client(key="anything-at-all") as http:
        assert chat(http, [user("hi")]).status_code == 200


# -- validation ----------------------------------------------------------------------------

CALL = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"messages": [user("hi")]}, "'model'"),
        ({"model": MODEL}, "'messages'"),
        ({"model": MODEL, "messages": []}, "'messages'"),
        ({"model": MODEL, "messages": [{"role": "robot", "content": "x"}]}, "role"),
        (
            {
                "model": MODEL,
                "messages": [user("hi"), {"role": "tool", "tool_call_id": "zz", "content": "r"}],
            },
            "'zz'",
        ),
        (
            {"model": MODEL, "messages": [user("hi"), {"role": "assistant", "tool_calls": [CALL]}]},
            "no tool message",
        ),
        (
            {
                "model": MODEL,
                "messages": [
                    user("hi"),
                    {"role": "assistant", "tool_calls": [CALL]},
                    user("again"),
                ],
            },
            "'c1'",
        ),
        ({"model": MODEL, "messages": [user("hi")], "tools": "x"}, "tools"),
        ({"model": MODEL, "messages": [user("hi")], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"model": MODEL, "messages": [user("hi")], "response_format": {"type": "xml"}},
            "response_format",
        ),
        ({"model": MODEL, "messages": [user("hi")], "temperature": 7}, "temperature"),
        ({"model": MODEL, "messages": [user("hi")], "stream": "yes"}, "stream"),
        (
            {
                "model": MODEL,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "image": "https://example.com/cat.png"}],
                    }
                ],
            },
            "base64",
        ),
        ([1, 2], "object"),
    ],
)
def test_malformed_requests_get_documented_400(
    http: httpx.Client, body: Any, fragment: str
) -> None:
    r = http.post("/chat/completions", json=body)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_request"
    assert fragment in error["message"]


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"null", b'"text"'])
def test_non_json_or_non_object_body_is_400(http: httpx.Client, raw: bytes) -> None:
    r = http.post("/chat/completions", content=raw)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_valid_tool_history_is_accepted(http: httpx.Client) -> None:
    messages = [
        user("查询北京天气"),
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": "晴"},
    ]
    assert chat(http, messages, tools=[WEATHER]).status_code == 200


# -- the generic policy --------------------------------------------------------------------


def test_chinese_request_picks_tool_and_city(http: httpx.Client) -> None:
    r = chat(http, [user("查询北京天气")], tools=[CLOCK, WEATHER])
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "北京"}


def test_english_request_capitalized_city_and_enum(http: httpx.Client) -> None:
    r = chat(http, [user("What's the weather in Paris?")], tools=[CLOCK, WEATHER])
    call = r.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    r = chat(http, [user("what time is it in Asia/Shanghai")], tools=[WEATHER, CLOCK])
    call = r.json()["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "get_time"
    assert json.loads(call["arguments"]) == {"timezone": "Asia/Shanghai"}


def test_numbers_taken_from_message(http: httpx.Client) -> None:
    adder = {
        "type": "function",
        "function": {
            "name": "add",
            "description": "add two numbers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    }
    r = chat(http, [user("please add 12 and 3.5")], tools=[adder])
    args = json.loads(r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert args == {"a": 12, "b": 3.5}


def test_after_tool_results_the_reply_states_them(http: httpx.Client) -> None:
    first = chat(http, [user("查询北京天气")], tools=[WEATHER]).json()
    message = first["choices"][0]["message"]
    result = json.dumps({"city": "北京", "condition": "晴", "temperature": 25}, ensure_ascii=False)
    history = [
        user("查询北京天气"),
        message,
        {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": result},
    ]
    second = chat(http, history, tools=[WEATHER]).json()["choices"][0]
    assert second["finish_reason"] == "stop"
    content = second["message"]["content"]
    assert "get_weather" in content and "晴" in content and "25" in content


def test_unrelated_message_with_tools_gets_text(http: httpx.Client) -> None:
    r = chat(http, [user("hello")], tools=[WEATHER])
    assert r.json()["choices"][0]["finish_reason"] == "stop"


def test_tool_choice_none_required_and_named(http: httpx.Client) -> None:
    none = chat(http, [user("查询北京天气")], tools=[WEATHER], tool_choice="none").json()
    assert none["choices"][0]["finish_reason"] == "stop"
    required = chat(http, [user("hello")], tools=[WEATHER], tool_choice="required").json()
    assert required["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    named = {"type": "function", "function": {"name": "get_time"}}
    forced = chat(http, [user("查询北京天气")], tools=[WEATHER, CLOCK], tool_choice=named).json()
    assert forced["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"


def test_json_object_mode(http: httpx.Client) -> None:
    r = chat(http, [user("give me json")], response_format={"type": "json_object"})
    content = r.json()["choices"][0]["message"]["content"]
    assert isinstance(json.loads(content), dict)


ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "amount": {"type": "number", "minimum": 0},
        "status": {"type": "string", "enum": ["pending", "paid", "shipped"]},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 1},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["order_id", "amount", "status", "items"],
    "additionalProperties": False,
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "maxLength": 5},
                "qty": {"type": "integer", "minimum": 1},
            },
            "required": ["sku", "qty"],
        }
    },
}


def test_json_schema_mode_matches_schema_and_uses_message(http: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "order", "schema": ORDER_SCHEMA}}
    r = chat(http, [user("Order ORD20260604001 paid 99.9")], response_format=fmt)
    value = json.loads(r.json()["choices"][0]["message"]["content"])
    jsonschema.validate(value, ORDER_SCHEMA)
    assert value["order_id"] == "ORD20260604001"
    assert value["amount"] == 99.9
    assert value["status"] == "paid"


@pytest.mark.parametrize("shape", ["image", "image_url"])
def test_image_parts_of_both_shapes(http: httpx.Client, shape: str) -> None:
    part = (
        {"type": "image", "image": PNG}
        if shape == "image"
        else {"type": "image_url", "image_url": {"url": PNG}}
    )
    r = chat(http, [{"role": "user", "content": [{"type": "text", "text": "分析这张图片"}, part]}])
    assert r.status_code == 200
    assert "1 张图片" in r.json()["choices"][0]["message"]["content"]


def test_max_completion_tokens_truncates_with_length(http: httpx.Client) -> None:
    r = chat(http, [user("tell me a long story please")], max_completion_tokens=3)
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert 0 < len(choice["message"]["content"]) <= 12


# -- streaming -----------------------------------------------------------------------------


def test_stream_content_usage_and_done(http: httpx.Client) -> None:
    r = chat(
        http,
        [user("Hello streaming world")],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    data = events(r.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    plain = chat(http, [user("Hello streaming world")]).json()
    assert text == plain["choices"][0]["message"]["content"]
    assert len([c for c in chunks if c["choices"]]) > 3
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_stream_tool_call_deltas_by_index(http: httpx.Client) -> None:
    r = chat(http, [user("查询北京天气")], tools=[WEATHER], stream=True)
    chunks = [json.loads(d) for d in events(r.text)[:-1]]
    deltas = [
        tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert deltas[0]["id"] and deltas[0]["function"]["name"] == "get_weather"
    assert all(d["index"] == 0 for d in deltas)
    arguments = "".join(d["function"].get("arguments", "") for d in deltas)
    assert json.loads(arguments) == {"city": "北京"}
    assert len(deltas) > 2  # the arguments really arrive in fragments
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "tool_calls"


# -- scenarios -----------------------------------------------------------------------------

WEATHER_SCENARIO = {
    "name": "weather",
    "match": {"regex": "(?P<city>北京|上海)的?天气"},
    "tool_calls": [{"name": "get_weather", "arguments": {"city": "{{ groups.city }}"}}],
    "reply": "{{ groups.city }}今天{{ result.condition }},{{ result.temperature }}°C。",
}


def test_scenario_tool_call_then_templated_reply() -> None:
    with client(EmulatorTransport(scenarios=[WEATHER_SCENARIO])) as http:
        first = chat(http, [user("上海天气怎么样")], tools=[WEATHER]).json()
        message = first["choices"][0]["message"]
        assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "上海"}
        history = [
            user("上海天气怎么样"),
            message,
            {
                "role": "tool",
                "tool_call_id": message["tool_calls"][0]["id"],
                "content": '{"condition": "多云", "temperature": 18}',
            },
        ]
        second = chat(http, history, tools=[WEATHER]).json()
        assert second["choices"][0]["message"]["content"] == "上海今天多云,18°C。"


def test_scenario_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(WEATHER_SCENARIO), encoding="utf-8")
    many = {
        "scenarios": [
            {"match": "ping", "reply": "pong"},
            {"match": {"any": ["hi", "hey"]}, "reply": {"greeting": "{{ user }}"}},
        ]
    }
    (tmp_path / "b.json").write_text(json.dumps(many), encoding="utf-8")
    scenarios = load_scenarios(tmp_path)
    assert [s.name for s in scenarios] == ["weather", "b.json[0]", "b.json[1]"]
    with client(EmulatorTransport(scenarios=tmp_path)) as http:
        assert chat(http, [user("PING?")]).json()["choices"][0]["message"]["content"] == "pong"
        content = chat(http, [user("hey you")]).json()["choices"][0]["message"]["content"]
        assert json.loads(content) == {"greeting": "hey you"}


def test_builtin_scenarios_load() -> None:
    assert all(isinstance(s, Scenario) for s in builtin_scenarios())


@pytest.mark.parametrize(
    "bad",
    [
        {"reply": "x"},
        {"match": "x", "unknown": 1},
        {"match": {"regex": "("}},
        {"match": "x", "reply": "{{ oops"},
        {"match": "x", "faults": "explode"},
        {"match": "x", "tool_calls": [{"arguments": {}}]},
    ],
)
def test_malformed_scenarios_are_user_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(UserError):
        Emulator(scenarios=[bad])


def test_scenario_template_is_sandboxed_and_strict() -> None:
    scenarios = [
        {"match": "attack", "reply": "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
        {"match": "missing", "reply": "{{ nothing_here }}"},
    ]
    with client(EmulatorTransport(scenarios=scenarios)) as http:
        for text in ("attack", "missing"):
            r = chat(http, [user(text)])
            assert r.status_code == 200
            content = r.json()["choices"][0]["message"]["content"]
            assert "template" in content and "failed" in content
            assert "subclasses" not in content or "SecurityError" in content


# -- faults --------------------------------------------------------------------------------


def fault(http: httpx.Client, spec: str, **extra: Any) -> httpx.Response:
    tools = extra.pop("tools", None)
    body: dict[str, Any] = {"tools": tools} if tools else {}
    return chat(http, [user("查询北京天气")], headers={FAULT_HEADER: spec}, **body, **extra)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_status_faults(http: httpx.Client, status: int) -> None:
    r = fault(http, str(status))
    assert r.status_code == status
    assert "error" in r.json()
    if status == 429:
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert r.headers["retry-after"] == "1"


def test_retry_after_variants(http: httpx.Client) -> None:
    assert fault(http, "429;retry-after=3").headers["retry-after"] == "3"
    r = fault(http, "429;retry-after-ms=250")
    assert r.headers["retry-after-ms"] == "250" and "retry-after" not in r.headers
    assert fault(http, "status=418").status_code == 418


def test_count_limits_a_fault_to_the_first_requests(http: httpx.Client) -> None:
    statuses = [fault(http, "503;count=2").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]


def test_html_empty_and_non_json_bodies(http: httpx.Client) -> None:
    html = fault(http, "html")
    assert html.status_code == 502 and html.headers["content-type"] == "text/html"
    assert html.text.lstrip().startswith("<html>")
    empty = fault(http, "empty=503")
    assert empty.status_code == 503 and empty.content == b""
    garbage = fault(http, "non-json")
    assert garbage.status_code == 200
    with pytest.raises(ValueError):
        garbage.json()


def test_drop_raises_remote_protocol_error(http: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        fault(http, "drop")


def test_stream_cut_after_n_chunks(http: httpx.Client) -> None:
    received: list[bytes] = []
    request = http.build_request(
        "POST",
        "/chat/completions",
        json={"model": MODEL, "messages": [user("Hello streaming world")], "stream": True},
        headers={FAULT_HEADER: "cut=2"},
    )
    response = http.send(request, stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        for chunk in response.iter_raw():
            received.append(chunk)
    response.close()
    assert len(received) == 2


def test_stream_without_done_and_with_error(http: httpx.Client) -> None:
    data = events(fault(http, "no-done", stream=True).text)
    assert data and "[DONE]" not in data
    data = events(fault(http, "stream-error=2", stream=True).text)
    assert len(data) == 3 and "error" in json.loads(data[-1])


def test_model_misbehaviour_faults(http: httpx.Client) -> None:
    bad = fault(http, "bad-args", tools=[WEATHER]).json()
    arguments = bad["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    with pytest.raises(ValueError):
        json.loads(arguments)
    wrong = fault(http, "wrong-args", tools=[WEATHER]).json()
    args = json.loads(wrong["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert not isinstance(args["city"], str)
    unknown = fault(http, "unknown-tool", tools=[WEATHER]).json()
    assert unknown["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "no_such_tool"
    length = fault(http, "length").json()
    assert length["choices"][0]["finish_reason"] == "length"
    assert fault(http, "empty-choices").json()["choices"] == []


def test_repeat_fault_repeats_the_last_call(http: httpx.Client) -> None:
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"北京"}'},
    }
    history = [
        user("查询北京天气"),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "晴"},
    ]
    r = chat(http, history, tools=[WEATHER], headers={FAULT_HEADER: "repeat"}).json()
    again = r["choices"][0]["message"]["tool_calls"][0]
    assert again["function"] == call["function"] and again["id"] != "c1"


def test_latency_fault_is_reported_in_reply() -> None:
    emulator = Emulator()
    reply = emulator.handle(
        "POST",
        "/v1/chat/completions",
        {"authorization": "Bearer k", FAULT_HEADER: "latency=0.25, slow=0.01"},
        json.dumps({"model": MODEL, "messages": [user("hi")], "stream": True}).encode(),
    )
    assert reply.status == 200 and reply.delay == 0.25 and reply.chunk_delay == 0.01


def test_unknown_fault_in_header_is_400(http: httpx.Client) -> None:
    r = fault(http, "explode")
    assert r.status_code == 400 and "explode" in r.json()["error"]["message"]


def test_configured_probabilistic_faults_are_seeded() -> None:
    def run(seed: int) -> list[int]:
        with client(EmulatorTransport(faults="503;p=0.5", seed=seed)) as http:
            return [chat(http, [user("hi")]).status_code for _ in range(20)]

    first = run(7)
    assert first == run(7)
    assert set(first) == {200, 503}


def test_scenario_faults() -> None:
    scenarios = [{"match": "flaky", "reply": "ok", "faults": ["429;count=1"]}]
    with client(EmulatorTransport(scenarios=scenarios)) as http:
        assert chat(http, [user("flaky")]).status_code == 429
        assert chat(http, [user("flaky")]).json()["choices"][0]["message"]["content"] == "ok"
        assert chat(http, [user("other")]).status_code == 200


def test_fault_header_can_be_disabled() -> None:
    with client(EmulatorTransport(fault_header=False)) as http:
        assert fault(http, "500").status_code == 200


def test_bad_configured_faults_are_user_errors() -> None:
    with pytest.raises(UserError):
        Emulator(faults="latency=abc")
    with pytest.raises(UserError):
        Emulator(faults="429;bogus=1")


# -- async and replay ----------------------------------------------------------------------


async def test_async_client_shares_the_transport() -> None:
    transport = EmulatorTransport()
    async with httpx.AsyncClient(
        transport=transport, base_url="http://e/v1", headers={"Authorization": "Bearer k"}
    ) as http:
        r = await http.post(
            "/chat/completions",
            json={
                "model": MODEL,
                "messages": [user("查询北京天气")],
                "tools": [WEATHER],
                "stream": True,
            },
        )
        assert events(r.text)[-1] == "[DONE]"
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(
                "/chat/completions",
                json={"model": MODEL, "messages": [user("x")]},
                headers={FAULT_HEADER: "drop"},
            )
        async with http.stream(
            "POST",
            "/chat/completions",
            json={"model": MODEL, "messages": [user("hello world")], "stream": True},
            headers={FAULT_HEADER: "cut=1"},
        ) as response:
            with pytest.raises(httpx.RemoteProtocolError):
                async for _ in response.aiter_raw():
                    pass
    with client(transport) as sync_http:  # the same object still serves sync clients
        assert chat(sync_http, [user("hi")]).status_code == 200


def test_replay_cassette(tmp_path: Path) -> None:
    body = {"model": MODEL, "messages": [user("你好")]}
    stream_body = {**body, "stream": True}
    answer = {
        "choices": [{"message": {"role": "assistant", "content": "你好!"}, "finish_reason": "stop"}]
    }
    sse = 'data: {"choices":[{"delta":{"content":"Docker"}}]}\n\ndata: [DONE]\n\n'
    lines = [
        {
            "request": {"method": "POST", "path": "/v1/chat/completions", "body": body},
            "response": {
                "status": 200,
                "headers": {"content-type": "application/json"},
                "body": answer,
            },
        },
        {
            "request": {"method": "POST", "path": "/v1/chat/completions", "body": stream_body},
            "response": {
                "status": 200,
                "headers": {"content-type": "text/event-stream"},
                "text": sse,
            },
        },
    ]
    cassette = tmp_path / "c.jsonl"
    cassette.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8"
    )
    with client(EmulatorTransport(cassette=cassette)) as http:
        # key order does not matter
        r = http.post("/chat/completions", json={"messages": [user("你好")], "model": MODEL})
        assert r.json() == answer
        assert chat(http, [user("你好")], stream=True).text == sse
        miss = chat(http, [user("something else")])
        assert miss.status_code == 400 and "cassette" in miss.json()["error"]["message"]
    with client(EmulatorTransport(cassette=cassette, cassette_fallback=True)) as http:
        assert chat(http, [user("something else")]).status_code == 200


def test_bad_cassette_is_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(UserError, match="line 1"):
        Emulator(cassette=bad)
    with pytest.raises(UserError):
        Emulator(cassette=tmp_path / "missing.jsonl")


def test_pytest_fixture(emulator: EmulatorTransport) -> None:
    with client(emulator) as http:
        assert chat(http, [user("hi")]).status_code == 200
    assert emulator.emulator.request_count == 1


@pytest.mark.agentkit_emulator(api_keys=["secret"])
def test_pytest_fixture_marker(emulator: EmulatorTransport) -> None:
    with client(emulator, key="other") as http:
        assert chat(http, [user("hi")]).status_code == 401


def test_public_names_resolve_and_are_documented() -> None:
    import agentkit.testing as testing

    assert len(set(testing.__all__)) == len(testing.__all__)
    for name in testing.__all__:
        value = getattr(testing, name)
        if callable(value) and not isinstance(value, type(str | None)):
            assert value.__doc__ and value.__doc__.strip(), name
    with pytest.raises(AttributeError):
        testing.nothing_here  # noqa: B018


def test_json_object_mode_follows_a_schema_written_in_the_instructions(
    http: httpx.Client,
) -> None:
    schema = {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["order_id", "amount"],
    }
    system = f"Answer with only a JSON object matching this JSON schema:\n{json.dumps(schema)}"
    r = chat(
        http,
        [{"role": "system", "content": system}, user("订单 ORD7 金额 12.5")],
        response_format={"type": "json_object"},
    )
    value = json.loads(r.json()["choices"][0]["message"]["content"])
    assert value == {"order_id": "ORD7", "amount": 12.5}


def test_each_found_value_fills_one_field(http: httpx.Client) -> None:
    route = {
        "type": "function",
        "function": {
            "name": "plan_route",
            "description": "plan a route between cities",
            "parameters": {
                "type": "object",
                "properties": {"from_city": {"type": "string"}, "to_city": {"type": "string"}},
                "required": ["from_city", "to_city"],
            },
        },
    }
    r = chat(http, [user("plan a route from 上海 to 北京")], tools=[route])
    args = json.loads(r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert args == {"from_city": "上海", "to_city": "北京"}
