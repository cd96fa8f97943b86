"""Client and AsyncClient against httpx.MockTransport: the same behaviour, both ways."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit import Tool
from agentkit.client import AsyncClient, ChatStream, Client
from agentkit.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    JSONContentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UserError,
)
from agentkit.messages import ChatCompletion, ChatCompletionChunk

KEY = "sk-test-0123456789-SECRET"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8

# ---- the provider's documented exchanges, byte for byte (PROVIDER_API.md / seed) ----------
PLAIN_REQUEST = '{"model":"gpt-5.4-mini","messages":[{"role":"user","content":"你好"}]}'
PLAIN_RESPONSE = (
    '{"id":"chatcmpl_mini_001","object":"chat.completion","created":1780470861,'
    '"model":"gpt-5.4-mini","choices":[{"index":0,"message":{"role":"assistant",'
    '"content":"你好!有什么可以帮助你的吗?"},"finish_reason":"stop"}],'
    '"usage":{"prompt_tokens":8,"completion_tokens":12,"total_tokens":20}}'
)
VISION_RESPONSE = (
    '{"choices":[{"message":{"role":"assistant","content":"图片中是一只橘色猫咪躺在沙发上。"},'
    '"finish_reason":"stop"}]}'
)
VISION_RESPONSE_SEED = (
    '{"id":"chatcmpl_vision001","object":"chat.completion","created":1780470861,'
    '"model":"gpt-5.4-mini","choices":[{"message":{"role":"assistant",'
    '"content":"图片中是一只橘色猫咪躺在沙发上。"},"finish_reason":"stop"}]}'
)
JSON_CONTENT = '{"order_id":"ORD20260604001","amount":99.9,"status":"paid"}'
TOOL_REQUEST = (
    '{"model":"gpt-5.4-mini","messages":[{"role":"user","content":"查询北京天气"}],'
    '"tools":[{"type":"function","function":{"name":"get_weather","description":"查询天气信息",'
    '"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}'
)
TOOL_RESPONSE = (
    '{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"call_weather_001",'
    '"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"北京\\"}"}}]},'
    '"finish_reason":"tool_calls"}]}'
)
STREAM_DOC = (
    'data: {"choices":[{"delta":{"content":"Docker"}}]}\n\n'
    'data: {"choices":[{"delta":{"content":" 是一个开源容器平台..."}}]}\n\n'
    "data: [DONE]\n\n"
)
STREAM_SEED = (
    'data: {"choices":[{"delta":{"content":"Docker"}}]}data: {"choices":[{"delta":'
    '{"content":" 是一个开源容器平台..."}}]}data: [DONE]'
)
USAGE_CHUNK = '{"usage":{"prompt_tokens":120,"completion_tokens":180,"total_tokens":300}}'
MODELS_RESPONSE = (
    '{"object":"list","data":[{"id":"gpt-5.4-mini","object":"model","created":1780000000,'
    '"owned_by":"system"}]}'
)
ERRORS = {
    "auth": (
        401,
        "authentication_error",
        "invalid_api_key",
        "Invalid API key.",
        AuthenticationError,
    ),
    "rate": (
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
        "Rate limit exceeded.",
        RateLimitError,
    ),
    "bad": (400, "invalid_request_error", "invalid_request", "Invalid request.", BadRequestError),
}


def error_body(kind: str) -> str:
    _, typ, code, msg, _ = ERRORS[kind]
    return json.dumps({"error": {"message": msg, "type": typ, "code": code}})


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in pieces, optionally breaking off after them."""

    def __init__(self, pieces: list[bytes], fail: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail:
            raise self.fail

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def sse(text: str, status: int = 200, **headers: str) -> httpx.Response:
    raw = text.encode()
    return httpx.Response(
        status,
        headers={"content-type": "text/event-stream", **headers},
        stream=Pieces([raw[i : i + 5] for i in range(0, len(raw), 5)]),
    )


def js(text: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=text.encode(), headers={"content-type": "application/json", **headers}
    )


Handler = Callable[[httpx.Request], httpx.Response]


class Api:
    """Drives a Client or an AsyncClient with one awaitable interface."""

    def __init__(self, kind: str, handler: Handler | list[Any], **kwargs: Any) -> None:
        self.kind = kind
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        script = list(handler) if isinstance(handler, list) else None

        def handle(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            if script is None:
                return handler(request)  # type: ignore[operator]
            item = script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item  # type: ignore[no-any-return]

        kwargs.setdefault("api_key", KEY)
        self.client: Client | AsyncClient
        if kind == "sync":
            self.client = Client(transport=httpx.MockTransport(handle), **kwargs)
            self.client._sleep = self.sleeps.append
        else:
            self.client = AsyncClient(transport=httpx.MockTransport(handle), **kwargs)

            async def sleep(delay: float) -> None:
                self.sleeps.append(delay)

            self.client._sleep = sleep
        self.client._rand = lambda: 0.0  # type: ignore[method-assign]

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, name)(*args, **kwargs)
        if self.kind == "async":
            result = await result
        return result

    async def create(self, *args: Any, **kwargs: Any) -> Any:
        return await self.call("create", *args, **kwargs)

    async def stream(self, *args: Any, **kwargs: Any) -> tuple[list[ChatCompletionChunk], Any]:
        if isinstance(self.client, Client):
            with self.client.stream(*args, **kwargs) as s:
                chunks = list(s)
                return chunks, s.get_final_completion()
        async with self.client.stream(*args, **kwargs) as a:
            chunks = [c async for c in a]
            return chunks, await a.get_final_completion()

    async def close(self) -> None:
        if isinstance(self.client, Client):
            self.client.close()
        else:
            await self.client.aclose()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


USER = [{"role": "user", "content": "你好"}]


# --------------------------------------------------------------------------- requests


async def test_documented_plain_exchange(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE))
    comp = await api.create(USER)
    req = api.requests[0]
    assert req.method == "POST" and str(req.url) == "https://api.yisu.com/v1/chat/completions"
    assert json.loads(req.content) == json.loads(PLAIN_REQUEST)
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert isinstance(comp, ChatCompletion)
    assert comp.id == "chatcmpl_mini_001" and comp.created == 1780470861
    assert comp.message.content == "你好!有什么可以帮助你的吗?"
    assert comp.finish_reason == "stop"
    assert comp.usage is not None and comp.usage.total_tokens == 20
    await api.close()


async def test_system_message_is_sent_as_given(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE))
    msgs = [
        {"role": "system", "content": "你是一位资深PHP开发工程师"},
        {"role": "user", "content": "写一个Redis连接示例"},
    ]
    await api.create(msgs)
    assert api.bodies[0]["messages"] == msgs


def _t() -> None:
    """Do t."""


class FakeTool:
    """A real Tool (the client takes Tools, ToolDefinition dicts and wire dicts)."""

    def __new__(cls) -> Any:
        return Tool(_t, name="t")


async def test_every_parameter(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE))
    await api.create(
        USER,
        model="other-model",
        temperature=0.2,
        top_p=0.9,
        max_completion_tokens=50,
        response_format={"type": "json_object"},
        tools=[FakeTool(), {"type": "function", "function": {"name": "u"}}],
        tool_choice="required",
        parallel_tool_calls=False,
        extra_body={"seed": 7, "stream_options": {"include_usage": True}},
        extra_headers={"X-Trace": "abc"},
        timeout=5.0,
    )
    body = api.bodies[0]
    assert body == {
        "model": "other-model",
        "messages": USER,
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 50,
        "response_format": {"type": "json_object"},
        "tools": [FakeTool().to_openai(), {"type": "function", "function": {"name": "u"}}],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "seed": 7,
        "stream_options": {"include_usage": True},
    }
    assert "max_tokens" not in body
    assert api.requests[0].headers["x-trace"] == "abc"
    assert api.requests[0].extensions["timeout"]["read"] == 5.0


async def test_unset_parameters_are_not_sent(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE), model="m-default")
    await api.create(USER, temperature=None, tools=None)
    await api.create(USER, tools=[])
    assert api.bodies == [{"model": "m-default", "messages": USER}] * 2


async def test_named_tool_choice_and_documented_tool_call(kind: str) -> None:
    api = Api(kind, lambda r: js(TOOL_RESPONSE))
    tools = json.loads(TOOL_REQUEST)["tools"]
    choice = {"type": "function", "function": {"name": "get_weather"}}
    comp = await api.create([{"role": "user", "content": "查询北京天气"}], tools=tools)
    assert json.loads(api.requests[0].content) == json.loads(TOOL_REQUEST)
    await api.create([{"role": "user", "content": "x"}], tools=tools, tool_choice=choice)
    assert api.bodies[1]["tool_choice"] == choice
    msg = comp.message
    assert msg.content is None and comp.finish_reason == "tool_calls" and comp.id is None
    call = msg.tool_calls[0]
    assert (call.id, call.name, call.arguments) == (
        "call_weather_001",
        "get_weather",
        '{"city":"北京"}',
    )
    assert msg.to_dict() == json.loads(TOOL_RESPONSE)["choices"][0]["message"]


@pytest.mark.parametrize("response", [VISION_RESPONSE, VISION_RESPONSE_SEED])
@pytest.mark.parametrize("shape", ["image", "image_url"])
async def test_image_request_both_shapes(kind: str, shape: str, response: str) -> None:
    api = Api(kind, lambda r: js(response), image_part=shape)
    msg = api.client.user_message("分析这张图片", [PNG])
    comp = await api.create([msg])
    part = api.bodies[0]["messages"][0]["content"][1]
    url = "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAA=="
    if shape == "image":
        assert part == {"type": "image", "image": url}
    else:
        assert part == {"type": "image_url", "image_url": {"url": url}}
    assert comp.message.content == "图片中是一只橘色猫咪躺在沙发上。"
    assert comp.usage is None and comp.choices[0].index == 0


async def test_image_limit_from_client(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE), max_image_bytes=4)
    with pytest.raises(UserError, match="over the limit of 4 bytes"):
        api.client.user_message("x", [PNG])


async def test_create_json(kind: str) -> None:
    content = json.dumps(JSON_CONTENT)
    answer = f'{{"choices":[{{"message":{{"role":"assistant","content":{content}}}}}]}}'
    api = Api(kind, lambda r: js(answer))
    value = await api.call("create_json", [{"role": "user", "content": "返回一个订单对象"}])
    assert value == {"order_id": "ORD20260604001", "amount": 99.9, "status": "paid"}
    assert api.bodies[0]["response_format"] == {"type": "json_object"}


async def test_create_json_fenced_and_invalid(kind: str) -> None:
    fenced = json.dumps('```json\n{"a": 1}\n```')
    bad = json.dumps("Sure! Here is the order: {oops")
    api = Api(
        kind,
        [
            js(f'{{"choices":[{{"message":{{"content":{fenced}}}}}]}}'),
            js(f'{{"choices":[{{"message":{{"content":{bad}}}}}]}}'),
        ],
    )
    assert await api.call("create_json", USER) == {"a": 1}
    with pytest.raises(JSONContentError, match="'Sure! Here is the order") as info:
        await api.call("create_json", USER)
    assert info.value.content == "Sure! Here is the order: {oops"


async def test_list_models(kind: str) -> None:
    api = Api(kind, lambda r: js(MODELS_RESPONSE))
    models = await api.call("list_models")
    assert api.requests[0].method == "GET"
    assert str(api.requests[0].url) == "https://api.yisu.com/v1/models"
    assert [(m.id, m.owned_by, m.created) for m in models] == [
        ("gpt-5.4-mini", "system", 1780000000)
    ]


async def test_unknown_fields_are_kept(kind: str) -> None:
    body = json.loads(PLAIN_RESPONSE)
    body["system_fingerprint"] = "fp"
    body["choices"][0]["message"]["reasoning_content"] = "hm"
    api = Api(kind, lambda r: js(json.dumps(body)))
    comp = await api.create(USER)
    assert comp.extra == {"system_fingerprint": "fp"}
    assert comp.message.extra == {"reasoning_content": "hm"}


# --------------------------------------------------------------------------- configuration


async def test_environment_variables(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_API_KEY", "sk-env")
    monkeypatch.setenv("AGENTKIT_BASE_URL", "http://localhost:9999/v1/")
    monkeypatch.setenv("AGENTKIT_MODEL", "env-model")
    api = Api(kind, lambda r: js(PLAIN_RESPONSE), api_key=None)
    await api.create(USER)
    req = api.requests[0]
    assert str(req.url) == "http://localhost:9999/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-env"
    assert api.bodies[0]["model"] == "env-model"
    assert api.client.base_url == "http://localhost:9999/v1"


async def test_missing_key_names_the_variable(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-never-used")
    api = Api(kind, lambda r: js(PLAIN_RESPONSE), api_key=None)
    with pytest.raises(UserError, match="AGENTKIT_API_KEY"):
        await api.create(USER)
    assert api.requests == []


def test_bad_configuration() -> None:
    with pytest.raises(UserError, match="base_url"):
        Client(api_key=KEY, base_url="ftp://x")
    with pytest.raises(UserError, match="max_retries"):
        Client(api_key=KEY, max_retries=-1)
    with pytest.raises(UserError, match="image_part"):
        Client(api_key=KEY, image_part="png")  # type: ignore[arg-type]


async def test_bad_messages(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE))
    with pytest.raises(UserError, match="list of message dicts"):
        await api.create("hello")
    with pytest.raises(UserError, match=r"messages\[1\]"):
        await api.create([{"role": "user", "content": "x"}, {"content": "no role"}])


async def test_default_headers_and_twins(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE), default_headers={"X-Org": "o"}, max_retries=5)
    twin = api.client.to_async() if isinstance(api.client, Client) else api.client.to_sync()
    assert type(twin) is not type(api.client)
    assert (twin.model, twin.base_url, twin.max_retries, twin.image_part) == (
        api.client.model,
        api.client.base_url,
        5,
        "image",
    )
    if isinstance(twin, Client):
        twin.create(USER)
        twin.close()
    else:
        await twin.create(USER)
        await twin.aclose()
    assert [r.headers["x-org"] for r in api.requests] == ["o"]  # the same transport


def test_twin_of_custom_sync_http_client_is_refused() -> None:
    with httpx.Client() as http, pytest.raises(UserError, match="http_client"):
        Client(api_key=KEY, http_client=http).to_async()


async def test_twin_of_custom_async_http_client_is_refused() -> None:
    async with httpx.AsyncClient() as ahttp:
        with pytest.raises(UserError, match="http_client"):
            AsyncClient(api_key=KEY, http_client=ahttp).to_sync()


def test_custom_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    def handler(r: httpx.Request) -> httpx.Response:
        seen.append(r)
        return js(PLAIN_RESPONSE)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Client(api_key=KEY, http_client=http) as client:
        client.create(USER)
    assert len(seen) == 1 and not http.is_closed
    http.close()


async def test_context_managers_close() -> None:
    with Client(api_key=KEY, transport=httpx.MockTransport(lambda r: js("{}"))) as client:
        pass
    assert client._http.is_closed
    async with AsyncClient(api_key=KEY, transport=httpx.MockTransport(lambda r: js("{}"))) as ac:
        pass
    assert ac._http.is_closed


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("text", [STREAM_DOC, STREAM_SEED, STREAM_DOC.replace("\n", "\r\n")])
async def test_stream_documented_text(kind: str, text: str) -> None:
    api = Api(kind, lambda r: sse(text))
    chunks, final = await api.stream(USER)
    assert api.bodies[0]["stream"] is True
    assert api.requests[0].headers["accept"] == "text/event-stream"
    assert [c.choices[0].delta.content for c in chunks] == ["Docker", " 是一个开源容器平台..."]
    assert final.message.content == "Docker 是一个开源容器平台..."


async def test_create_stream_true_and_usage_chunk(kind: str) -> None:
    text = STREAM_DOC.replace("data: [DONE]", f"data: {USAGE_CHUNK}\n\ndata: [DONE]")
    api = Api(kind, lambda r: sse(text))
    stream = await api.create(USER, stream=True)
    if kind == "sync":
        with stream:
            chunks = list(stream)
    else:
        async with stream:
            chunks = [c async for c in stream]
    assert len(chunks) == 3
    usage = stream.accumulator.usage
    assert usage is not None and (usage.prompt_tokens, usage.total_tokens) == (120, 300)


async def test_stream_tool_calls(kind: str) -> None:
    events = [
        {"choices": [{"delta": {"role": "assistant", "content": None}}]},
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ]
                    }
                }
            ]
        },
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}}
            ]
        },
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "now"}}]
                    }
                }
            ]
        },
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '"北京"}'}}]}}
            ]
        },
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
    ]
    text = (
        "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events) + "data: [DONE]"
    )
    api = Api(kind, lambda r: sse(text))
    _, final = await api.stream(USER, tools=[FakeTool()])
    msg = final.message
    assert final.finish_reason == "tool_calls" and msg.content is None
    assert [(c.id, c.name, c.arguments) for c in msg.tool_calls] == [
        ("call_1", "get_weather", '{"city":"北京"}'),
        ("call_2", "now", ""),
    ]


async def test_stream_ignores_data_after_done(kind: str) -> None:
    text = STREAM_DOC + 'data: {"choices":[{"delta":{"content":"late"}}]}\n\n'
    api = Api(kind, lambda r: sse(text))
    chunks, final = await api.stream(USER)
    assert len(chunks) == 2 and "late" not in (final.message.content or "")


async def test_stream_error_chunk_raises_typed_error(kind: str) -> None:
    text = 'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: ' + error_body("rate") + "\n\n"
    api = Api(kind, lambda r: sse(text), max_retries=0)
    with pytest.raises(RateLimitError, match="Rate limit exceeded") as info:
        await api.stream(USER)
    assert info.value.status_code is None and info.value.code == "rate_limit_exceeded"


async def test_stream_closes_response_when_left_early(kind: str) -> None:
    body = Pieces([STREAM_DOC.encode()])
    api = Api(
        kind,
        lambda r: httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"}),
    )
    if isinstance(api.client, Client):
        with api.client.stream(USER) as s:
            next(iter(s))
    else:
        async with api.client.stream(USER) as a:
            await a.__anext__()
    assert body.closed


async def test_async_stream_can_be_awaited() -> None:
    api = Api("async", lambda r: sse(STREAM_DOC))
    assert isinstance(api.client, AsyncClient)
    stream = await api.client.stream(USER)
    final = await stream.get_final_completion()
    assert final.message.content == "Docker 是一个开源容器平台..."
    with pytest.raises(UserError, match="stream="):
        api.client.stream(USER, stream=False)
    with pytest.raises(UserError, match="extra_body"):
        api.client.stream(USER, frequency_penalty=1)


async def test_server_ignoring_stream_flag(kind: str) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE))
    chunks, final = await api.stream(USER)
    assert len(chunks) == 1
    assert final.message.content == "你好!有什么可以帮助你的吗?"
    assert final.usage is not None and final.usage.total_tokens == 20


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("error", sorted(ERRORS))
async def test_documented_errors(kind: str, error: str) -> None:
    status, typ, code, msg, cls = ERRORS[error]
    api = Api(
        kind, lambda r: js(error_body(error), status, **{"x-request-id": "req_9"}), max_retries=0
    )
    with pytest.raises(cls) as info:
        await api.create(USER)
    err = info.value
    assert (err.status_code, err.error_type, err.code, err.request_id) == (
        status,
        typ,
        code,
        "req_9",
    )
    assert msg in str(err) and str(status) in str(err)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (500, InternalServerError),
        (418, APIStatusError),
    ],
)
async def test_status_classes(kind: str, status: int, cls: type) -> None:
    api = Api(kind, lambda r: js('{"error":{"message":"nope"}}', status), max_retries=0)
    with pytest.raises(cls):
        await api.create(USER)


async def test_error_type_without_status_mapping(kind: str) -> None:
    body = json.dumps({"error": {"message": "slow", "type": "rate_limit_error"}})
    api = Api(kind, lambda r: js(body, 200), max_retries=0)
    with pytest.raises(RateLimitError, match="slow"):
        await api.create(USER)


async def test_html_and_empty_error_bodies(kind: str) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1>" + "<p>nginx</p>" * 50 + "</body></html>"
    api = Api(
        kind,
        [
            httpx.Response(502, text=html, headers={"content-type": "text/html"}),
            httpx.Response(503),
        ],
        max_retries=0,
    )
    with pytest.raises(InternalServerError, match="non-JSON body: '<html><body><h1>502") as info:
        await api.create(USER)
    assert len(str(info.value)) < 300 and info.value.body == html
    with pytest.raises(InternalServerError, match="HTTP 503 with an empty body"):
        await api.create(USER)


async def test_bad_success_bodies(kind: str) -> None:
    api = Api(kind, [httpx.Response(200, text="<html>hi</html>"), js('{"foo":1}')])
    with pytest.raises(APIResponseError, match="not JSON: '<html>hi</html>'"):
        await api.create(USER)
    with pytest.raises(APIResponseError, match="no 'choices'"):
        await api.create(USER)


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
        (httpx.RemoteProtocolError("eh"), APIConnectionError),
        (httpx.UnsupportedProtocol("gopher"), APIConnectionError),
    ],
)
async def test_no_httpx_exception_escapes(kind: str, exc: Exception, cls: type) -> None:
    api = Api(kind, lambda r: (_ for _ in ()).throw(exc), max_retries=0)
    with pytest.raises(cls) as info:
        await api.create(USER)
    assert isinstance(info.value.__cause__, httpx.HTTPError)
    assert not isinstance(info.value, httpx.HTTPError)


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
async def test_retried_statuses(kind: str, status: int) -> None:
    api = Api(kind, [js("{}", status), js("{}", status), js(PLAIN_RESPONSE)])
    comp = await api.create(USER)
    assert comp.id == "chatcmpl_mini_001"
    assert len(api.requests) == 3
    assert api.sleeps == [0.5, 1.0]  # backoff with jitter factor 1 (random() == 0)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_never_retried_statuses(kind: str, status: int) -> None:
    api = Api(kind, lambda r: js('{"error":{"message":"no"}}', status))
    with pytest.raises(APIStatusError):
        await api.create(USER)
    assert len(api.requests) == 1 and api.sleeps == []


async def test_connection_errors_and_timeouts_are_retried(kind: str) -> None:
    api = Api(kind, [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), js(PLAIN_RESPONSE)])
    assert (await api.create(USER)).id == "chatcmpl_mini_001"
    assert len(api.requests) == 3


async def test_retries_exhausted_raise_the_last_error(kind: str) -> None:
    api = Api(kind, lambda r: js(error_body("rate"), 429), max_retries=3)
    with pytest.raises(RateLimitError):
        await api.create(USER)
    assert len(api.requests) == 4 and api.sleeps == [0.5, 1.0, 2.0]


def test_backoff_jitter_and_cap() -> None:
    client = Client(api_key=KEY)
    client._rand = lambda: 1.0  # type: ignore[method-assign]
    assert client._retry_delay(0, None) == 0.375
    client._rand = lambda: 0.0  # type: ignore[method-assign]
    assert [client._retry_delay(n, None) for n in range(6)] == [0.5, 1, 2, 4, 8, 8]
    client.close()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "120"}, 10.0),  # capped at max_retry_delay
        ({"retry-after": "soon"}, 0.5),  # unparseable: ordinary backoff
    ],
)
async def test_retry_after_headers(kind: str, headers: dict[str, str], expected: float) -> None:
    api = Api(
        kind, [js(error_body("rate"), 429, **headers), js(PLAIN_RESPONSE)], max_retry_delay=10
    )
    await api.create(USER)
    assert api.sleeps == [expected]


async def test_retry_after_http_date(kind: str) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    api = Api(kind, [js(error_body("rate"), 429, **{"retry-after": when}), js(PLAIN_RESPONSE)])
    await api.create(USER)
    assert 3.5 <= api.sleeps[0] <= 5.0


async def test_each_retry_is_logged_at_info(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    api = Api(kind, [js(error_body("rate"), 429, **{"retry-after": "2"}), js(PLAIN_RESPONSE)])
    with caplog.at_level(logging.INFO, logger="agentkit"):
        await api.create(USER)
    [record] = [r for r in caplog.records if r.name == "agentkit.client"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert "2.00 s" in text and "429" in text and "Rate limit exceeded" in text


async def test_stream_open_is_retried(kind: str) -> None:
    api = Api(kind, [js("{}", 503), httpx.ConnectError("x"), sse(STREAM_DOC)])
    chunks, _ = await api.stream(USER)
    assert len(chunks) == 2 and len(api.requests) == 3


async def test_stream_broken_before_first_chunk_is_retried(kind: str) -> None:
    broken = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=Pieces([b": keep-alive\n\n"], fail=httpx.ReadError("reset")),
    )
    api = Api(kind, [broken, sse(STREAM_DOC)])
    chunks, _ = await api.stream(USER)
    assert len(chunks) == 2 and len(api.requests) == 2


async def test_stream_broken_after_first_chunk_is_not_retried(kind: str) -> None:
    broken = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=Pieces([STREAM_DOC.encode()[:60]], fail=httpx.ReadError("reset")),
    )
    api = Api(kind, [broken, sse(STREAM_DOC)])
    with pytest.raises(APIConnectionError, match="broke after 1 chunks"):
        await api.stream(USER)
    assert len(api.requests) == 1


async def test_stream_error_chunk_before_any_chunk_is_retried(kind: str) -> None:
    api = Api(kind, [sse("data: " + error_body("rate") + "\n\n"), sse(STREAM_DOC)])
    chunks, _ = await api.stream(USER)
    assert len(chunks) == 2 and len(api.requests) == 2


# --------------------------------------------------------------------------- the key stays secret


async def test_key_not_in_repr_logs_or_errors(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}.", "type": "x"}})
    api = Api(kind, lambda r: js(echo, 401), max_retries=0)
    assert KEY not in repr(api.client) and KEY not in str(api.client)
    with (
        caplog.at_level(logging.DEBUG, logger="agentkit"),
        pytest.raises(AuthenticationError) as info,
    ):
        await api.create(USER)
    assert KEY not in str(info.value) and KEY not in repr(info.value.body)
    assert "***" in str(info.value)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("agentkit"))
    assert "chat/completions" in logged and "401" in logged
    assert KEY not in logged and "Incorrect API key" not in logged  # no bodies by default


async def test_key_not_in_connection_error(kind: str) -> None:
    api = Api(
        kind, lambda r: (_ for _ in ()).throw(httpx.ConnectError(f"bad {KEY}")), max_retries=0
    )
    with pytest.raises(APIError) as info:
        await api.create(USER)
    assert KEY not in str(info.value)


# --------------------------------------------------------------------------- cassette


async def test_record_to_cassette(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    api = Api(
        kind,
        [js(error_body("rate"), 429), js(PLAIN_RESPONSE), sse(STREAM_DOC), js(MODELS_RESPONSE)],
        record_to=path,
    )
    await api.create(USER)
    await api.stream(USER)
    await api.call("list_models")
    text = path.read_text(encoding="utf-8")
    assert KEY not in text and "Bearer" not in text and "uthorization" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [ln["response"]["status"] for ln in lines] == [429, 200, 200, 200]
    assert lines[0]["request"] == {
        "method": "POST",
        "path": "/v1/chat/completions",
        "body": json.loads(PLAIN_REQUEST),
    }
    assert lines[1]["response"]["body"] == json.loads(PLAIN_RESPONSE)
    assert lines[1]["response"]["headers"] == {"content-type": "application/json"}
    assert lines[2]["request"]["body"]["stream"] is True
    assert lines[2]["response"]["text"] == STREAM_DOC and "body" not in lines[2]["response"]
    assert lines[3]["request"] == {"method": "GET", "path": "/v1/models", "body": None}


# --------------------------------------------------------------------------- request gate


class Holding:
    """A transport handler that holds every request until ``open()``, counting those inside.

    Each request's user content names it, so the order of arrival can be checked.
    """

    def __init__(self, respond: Handler = lambda r: js(PLAIN_RESPONSE)) -> None:
        self.respond = respond
        self.arrived: list[str] = []
        self.inside = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._aopened = asyncio.Event()

    def _enter(self, request: httpx.Request) -> None:
        with self._lock:
            self.arrived.append(json.loads(request.content)["messages"][0]["content"])
            self.inside += 1
            self.peak = max(self.peak, self.inside)

    def _leave(self) -> None:
        with self._lock:
            self.inside -= 1

    def handle(self, request: httpx.Request) -> httpx.Response:
        self._enter(request)
        try:
            assert self._opened.wait(5), "the test never opened the handler"
        finally:
            self._leave()
        return self.respond(request)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        self._enter(request)
        try:
            await self._aopened.wait()
        finally:
            self._leave()
        return self.respond(request)

    def open(self) -> None:
        self._opened.set()
        self._aopened.set()


def gated_client(kind: str, handler: Any, limit: int | None, **kwargs: Any) -> Client | AsyncClient:
    """A client whose transport calls ``handler`` (a ``Holding``'s or a plain function)."""
    if isinstance(handler, Holding):
        handler = handler.handle if kind == "sync" else handler.ahandle
    cls = Client if kind == "sync" else AsyncClient
    return cls(
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        max_concurrent_requests=limit,
        **kwargs,
    )


class Background:
    """Runs client calls concurrently: in threads for a ``Client``, in tasks for an async one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._pool = ThreadPoolExecutor(max_workers=16) if kind == "sync" else None

    def start(self, fn: Callable[[], Any]) -> Any:
        if self._pool is not None:
            return self._pool.submit(fn)
        return asyncio.ensure_future(fn())

    async def result(self, handle: Any, timeout: float = 5.0) -> Any:
        if isinstance(handle, Future):
            return handle.result(timeout)
        return await asyncio.wait_for(handle, timeout)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait (at most 5 s) until ``condition()`` holds."""
        deadline = time.monotonic() + 5
        while not condition():
            assert time.monotonic() < deadline, "condition never held"
            await asyncio.sleep(0 if self.kind == "async" else 0.001)

    async def settle(self) -> None:
        """Give every waiting call the chance to (wrongly) get through."""
        for _ in range(50):
            await asyncio.sleep(0)
        if self.kind == "sync":
            await asyncio.sleep(0.02)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_gate_limits_requests_in_flight(kind: str) -> None:
    holding = Holding()
    client = gated_client(kind, holding, 3)
    bg = Background(kind)
    handles = [bg.start(lambda n=n: client.create(ask(f"q{n}"))) for n in range(10)]
    await bg.until(lambda: holding.inside == 3)
    await bg.settle()
    assert holding.inside == 3 and len(holding.arrived) == 3  # the other 7 wait in agentkit
    holding.open()
    results = [await bg.result(h) for h in handles]
    bg.close()
    assert [r.id for r in results] == ["chatcmpl_mini_001"] * 10
    assert holding.peak == 3 and sorted(holding.arrived) == sorted(f"q{n}" for n in range(10))
    if kind == "async":
        assert holding.arrived == [f"q{n}" for n in range(10)]  # first come, first served


async def test_gate_default_and_none(kind: str) -> None:
    cls = Client if kind == "sync" else AsyncClient
    assert cls(api_key=KEY).max_concurrent_requests == 100
    holding = Holding()
    client = gated_client(kind, holding, None)
    assert client.max_concurrent_requests is None
    bg = Background(kind)
    handles = [bg.start(lambda n=n: client.create(ask(f"q{n}"))) for n in range(12)]
    await bg.until(lambda: holding.inside == 12)  # no gate: all are inside at once
    holding.open()
    for h in handles:
        await bg.result(h)
    bg.close()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_gate_invalid_values(bad: Any) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(UserError, match=r"max_concurrent_requests must be an int >= 1"):
            cls(api_key=KEY, max_concurrent_requests=bad)


@pytest.mark.parametrize("limit", [None, 7])
async def test_gate_is_carried_by_twins(limit: int | None) -> None:
    transport = httpx.MockTransport(lambda r: js(PLAIN_RESPONSE))
    sync = Client(api_key=KEY, transport=transport, max_concurrent_requests=limit)
    twin = sync.to_async()
    assert twin.max_concurrent_requests == limit
    assert twin.to_sync().max_concurrent_requests == limit
    sync.close()
    await twin.aclose()


async def open_stream(client: Client | AsyncClient) -> Any:
    if isinstance(client, Client):
        return client.stream(USER)
    return await client.stream(USER)


async def close_stream(stream: Any) -> None:
    if isinstance(stream, ChatStream):
        stream.close()
    else:
        await stream.aclose()


async def test_open_stream_holds_its_slot_until_closed(kind: str) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return sse(STREAM_DOC) if b'"stream"' in request.content else js(PLAIN_RESPONSE)

    client = gated_client(kind, handler, 1)
    bg = Background(kind)
    first = await open_stream(client)
    waiting = bg.start(lambda: client.create(USER))
    await bg.settle()
    assert len(requests) == 1 and not waiting.done()  # the stream's body is still open
    await close_stream(first)
    assert (await bg.result(waiting)).id == "chatcmpl_mini_001"
    # A stream read to its end closes itself and gives its slot back.
    second = await open_stream(client)
    if isinstance(second, ChatStream):
        assert len(list(second)) == 2
    else:
        assert len([c async for c in second]) == 2
    assert (await bg.result(bg.start(lambda: client.create(USER)))).id == "chatcmpl_mini_001"
    bg.close()


async def test_cancelled_waiter_and_request_release_their_slots() -> None:
    holding = Holding()
    client = gated_client("async", holding, 1)
    assert isinstance(client, AsyncClient)
    inside = asyncio.ensure_future(client.create(ask("inside")))
    waiter = asyncio.ensure_future(client.create(ask("waiter")))
    bg = Background("async")
    await bg.until(lambda: holding.inside == 1)
    await bg.settle()
    waiter.cancel()
    inside.cancel()
    for task in (waiter, inside):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert holding.arrived == ["inside"]
    holding.open()
    done = await asyncio.wait_for(client.create(ask("after")), 5)  # hangs if a slot leaked
    assert done.id == "chatcmpl_mini_001" and holding.arrived == ["inside", "after"]


async def test_cancelled_stream_consumer_releases_its_slot() -> None:
    body_started = asyncio.Event()

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
            body_started.set()
            await asyncio.Event().wait()  # the server never finishes
            yield b""  # pragma: no cover

    def handler(request: httpx.Request) -> httpx.Response:
        if b'"stream"' in request.content:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=Endless()
            )
        return js(PLAIN_RESPONSE)

    client = AsyncClient(
        api_key=KEY, transport=httpx.MockTransport(handler), max_concurrent_requests=1
    )

    async def consume() -> None:
        async with client.stream(USER) as chunks:
            async for _ in chunks:
                pass

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(body_started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await asyncio.wait_for(client.create(USER), 5)).id == "chatcmpl_mini_001"


@pytest.mark.parametrize("failure", ["status", "stream_broken"])
async def test_retry_sleep_does_not_hold_a_slot(kind: str, failure: str) -> None:
    """While one request waits to retry, another gets through a gate of one."""
    broken = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=Pieces([b": keep-alive\n\n"], fail=httpx.ReadError("reset")),
    )
    first = js(error_body("rate"), 429) if failure == "status" else broken
    script = [first]

    def handler(request: httpx.Request) -> httpx.Response:
        if script:
            return script.pop(0)
        return sse(STREAM_DOC) if b'"stream"' in request.content else js(PLAIN_RESPONSE)

    client = gated_client(kind, handler, 1)
    bg = Background(kind)
    sleeping = threading.Event()
    other_done = threading.Event()
    asleeping = asyncio.Event()
    aother_done = asyncio.Event()
    if isinstance(client, Client):

        def sleep(delay: float) -> None:
            sleeping.set()
            assert other_done.wait(5), "the other request never got through"

        client._sleep = sleep

        def retried() -> Any:
            with client.stream(USER) as s:
                return s.get_final_completion()

        if failure == "status":
            retried = lambda: client.create(USER)  # noqa: E731
    else:
        aclient = client

        async def asleep(delay: float) -> None:
            asleeping.set()
            await asyncio.wait_for(aother_done.wait(), 5)

        aclient._sleep = asleep

        async def retried() -> Any:
            if failure == "status":
                return await aclient.create(USER)
            async with aclient.stream(USER) as s:
                return await s.get_final_completion()

    slow = bg.start(retried)
    await bg.until(lambda: sleeping.is_set() or asleeping.is_set())
    other = await bg.result(bg.start(lambda: client.create(ask("other"))))
    assert other.id == "chatcmpl_mini_001"
    other_done.set()
    aother_done.set()
    final = await bg.result(slow)
    assert final.message.content in ("你好!有什么可以帮助你的吗?", "Docker 是一个开源容器平台...")
    bg.close()


def test_async_gate_works_on_a_second_event_loop() -> None:
    """A client that outlives one ``asyncio.run`` still gates (and does not fail) in the next."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return js(PLAIN_RESPONSE)

    client = AsyncClient(
        api_key=KEY, transport=httpx.MockTransport(handler), max_concurrent_requests=1
    )

    async def burst() -> list[ChatCompletion]:
        # Three at once through a gate of one: two must wait, binding the gate to this loop.
        return await asyncio.gather(*(client.create(USER) for _ in range(3)))

    for _ in range(2):
        assert len(asyncio.run(burst())) == 3


# --------------------------------------------------------------------------- option checks

BAD_SECONDS = [-1, 0, float("nan"), float("inf"), "x", True, [1]]


@pytest.mark.parametrize("bad", [*BAD_SECONDS, httpx.Timeout(5, read=-1)])
def test_a_bad_client_timeout_is_a_user_error_naming_it(bad: Any) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(UserError, match=r"^timeout.* must be a finite number of seconds > 0"):
            cls(api_key=KEY, timeout=bad)


@pytest.mark.parametrize("bad", [*BAD_SECONDS, httpx.Timeout(5, connect=float("nan"))])
async def test_a_bad_call_timeout_is_a_user_error_before_anything_is_sent(
    kind: str, bad: Any
) -> None:
    api = Api(kind, lambda r: js(PLAIN_RESPONSE))
    for method in ("create", "stream"):
        with pytest.raises(UserError, match=r"^timeout.* must be a finite number of seconds > 0"):
            await api.call(method, USER, timeout=bad)
    assert api.requests == []


def test_good_timeouts_are_kept() -> None:
    assert Client(api_key=KEY, timeout=None).timeout == httpx.Timeout(None)  # no limit
    assert Client(api_key=KEY, timeout=2).timeout == httpx.Timeout(2)
    custom = httpx.Timeout(5, connect=1, pool=None)
    assert AsyncClient(api_key=KEY, timeout=custom).timeout is custom


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "60", None, True])
def test_a_bad_max_retry_delay_is_a_user_error(bad: Any) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(UserError, match=r"^max_retry_delay must be a finite number"):
            cls(api_key=KEY, max_retry_delay=bad)
    client = Client(api_key=KEY, max_retry_delay=0)  # 0: retry at once, never wait
    with pytest.raises(UserError, match=r"^max_retry_delay"):
        client.max_retry_delay = bad
    assert client.max_retry_delay == 0


@pytest.mark.parametrize(
    ("option", "bad", "match"),
    [
        ("max_retries", -1, "max_retries must be an int >= 0"),
        ("max_retries", 1.5, "max_retries must be an int >= 0"),
        ("max_image_bytes", 0, "max_image_bytes must be an int >= 1"),
        ("max_image_bytes", "20MB", "max_image_bytes must be an int >= 1"),
        ("log_bodies", "yes", "log_bodies must be a bool or None"),
    ],
)
def test_other_bad_numeric_options_are_user_errors(option: str, bad: Any, match: str) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(UserError, match=match):
            cls(api_key=KEY, **{option: bad})


def test_a_bad_retry_policy_is_a_user_error() -> None:
    from agentkit.client import RetryPolicy

    with pytest.raises(UserError, match="jitter must be a fraction from 0 to 1"):
        RetryPolicy(jitter=1.5)
    with pytest.raises(UserError, match="backoff_initial must be a finite number"):
        RetryPolicy(backoff_initial=-0.5)


# ------------------------------------------------ streamed and non-streamed answers agree


def _as_events(*chunks: object) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


@pytest.mark.parametrize("streamed", [False, True])
async def test_no_choices_list_is_an_api_response_error_streamed_or_not(
    kind: str, streamed: bool
) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}
    reply = sse(_as_events({"id": "a", "usage": usage})) if streamed else js('{"id": "a"}')
    api = Api(kind, [reply])
    with pytest.raises(APIResponseError, match="no 'choices' list"):
        await (api.stream(USER) if streamed else api.create(USER))


@pytest.mark.parametrize("streamed", [False, True])
async def test_an_empty_choices_list_is_a_completion_without_choices(
    kind: str, streamed: bool
) -> None:
    # "choices": [] is an answer with no choices (EmptyResponseError in a run), not junk
    body = {"id": "a", "choices": []}
    api = Api(kind, [sse(_as_events(body)) if streamed else js(json.dumps(body))])
    result = await (api.stream(USER) if streamed else api.create(USER))
    completion = result[1] if streamed else result
    assert completion.choices == []


@pytest.mark.parametrize("content", [5, {"text": "hi"}, True])
@pytest.mark.parametrize("streamed", [False, True])
async def test_content_that_is_not_text_is_an_api_response_error_naming_it(
    kind: str, streamed: bool, content: object
) -> None:
    if streamed:
        delta = {"role": "assistant", "content": content}
        reply = sse(_as_events({"choices": [{"delta": delta, "finish_reason": "stop"}]}))
        where = r"choices\[\]\.delta\.content"
    else:
        message = {"role": "assistant", "content": content}
        reply = js(json.dumps({"choices": [{"message": message, "finish_reason": "stop"}]}))
        where = r"choices\[\]\.message\.content"
    api = Api(kind, [reply])
    with pytest.raises(APIResponseError, match=f"Expected a string or null for {where}, got"):
        await (api.stream(USER) if streamed else api.create(USER))
