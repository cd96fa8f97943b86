"""The official ``openai`` package, used as a client, understands the emulator's wire output."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from openai import AsyncOpenAI, AuthenticationError, OpenAI, RateLimitError

from agentkit.testing import FAULT_HEADER, EmulatorTransport

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


@pytest.fixture
def openai_client() -> Iterator[OpenAI]:
    http = httpx.Client(transport=EmulatorTransport())
    client = OpenAI(api_key="k", base_url="http://emulator/v1", http_client=http, max_retries=0)
    yield client
    client.close()


def test_plain(openai_client: OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-5.4-mini", messages=[{"role": "user", "content": "你好"}]
    )
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_tool_round_trip(openai_client: OpenAI) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "查询北京天气"}]
    first = openai_client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=messages,
        tools=[WEATHER],  # type: ignore[arg-type,list-item]
    )
    message = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert message.tool_calls is not None
    call = message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "北京"}
    messages.append(message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp": 25}'})
    second = openai_client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=messages,
        tools=[WEATHER],  # type: ignore[arg-type]
    )
    assert "25" in (second.choices[0].message.content or "")


def test_streaming_content_and_tool_calls(openai_client: OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "Docker 是什么"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Docker" in text
    assert chunks[-1].usage is not None

    with openai_client.chat.completions.stream(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "查询北京天气"}],
        tools=[WEATHER],  # type: ignore[list-item]
    ) as events:
        final = events.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None and calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "北京"}


def test_json_mode(openai_client: OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "订单 ORD20260604001 金额 99.9"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)
    schema = {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["order_id", "amount"],
        "additionalProperties": False,
    }
    completion = openai_client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "订单 ORD20260604001 金额 99.9"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "order", "schema": schema, "strict": True},
        },
    )
    assert json.loads(completion.choices[0].message.content or "") == {
        "order_id": "ORD20260604001",
        "amount": 99.9,
    }


def test_models_and_errors(openai_client: OpenAI) -> None:
    assert [m.id for m in openai_client.models.list()] == ["gpt-5.4-mini"]
    with pytest.raises(RateLimitError):
        openai_client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={FAULT_HEADER: "429"},
        )
    http = httpx.Client(transport=EmulatorTransport(api_keys=["right"]))
    with (
        OpenAI(api_key="wrong", base_url="http://e/v1", http_client=http) as wrong,
        pytest.raises(AuthenticationError),
    ):
        wrong.models.list()


async def test_async_openai_streaming() -> None:
    http = httpx.AsyncClient(transport=EmulatorTransport())
    async with AsyncOpenAI(api_key="k", base_url="http://e/v1", http_client=http) as client:
        stream = await client.chat.completions.create(
            model="gpt-5.4-mini", messages=[{"role": "user", "content": "hello"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert "hello" in text
