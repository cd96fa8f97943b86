"""The client and the emulator against the provider's wire format: edge cases of the
exchange (cassettes, Retry-After, error bodies, base URLs), sync and async alike."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _raw_server import RawServer, response_head

from agentkit import AsyncClient, Client
from agentkit.emulator import Emulator, EmulatorServer, EmulatorTransport, serve
from agentkit.errors import (
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UserError,
)

KEY = "sk-wire-0123456789-SECRET"
USER = [{"role": "user", "content": "你好"}]
STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def answer(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl_1",
        "object": "chat.completion",
        "model": "gpt-5.4-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def create(kind: str, sleeps: list[float] | None = None, **options: Any) -> Any:
    """``create(USER)`` through a ``Client`` or an ``AsyncClient`` built with ``options``;
    retry waits are appended to ``sleeps`` instead of slept."""
    options.setdefault("api_key", KEY)
    options.setdefault("base_url", "http://provider/v1")
    waits = sleeps if sleeps is not None else []
    if kind == "sync":
        with Client(**options) as client:
            client._sleep = waits.append
            return client.create(USER)

    async def sleep(delay: float) -> None:
        waits.append(delay)

    async with AsyncClient(**options) as async_client:
        async_client._sleep = sleep
        return await async_client.create(USER)


# --------------------------------------------------------------------------- cassettes


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
async def test_a_cassette_replays_an_answer_holding_a_unicode_line_separator(
    kind: str, tmp_path: Path, char: str
) -> None:
    # The recorder writes JSON with ensure_ascii=False, so these stay raw inside a line;
    # str.splitlines() cut the line there and the cassette would not load.
    text = f"one{char}two"
    cassette = tmp_path / "run.jsonl"
    live = httpx.MockTransport(lambda request: httpx.Response(200, json=answer(text)))
    recorded = await create(kind, transport=live, record_to=cassette)
    assert recorded.message.content == text
    replayed = await create(kind, transport=EmulatorTransport(cassette=cassette))
    assert replayed.message.content == text


# --------------------------------------------------------------------------- Retry-After


@pytest.fixture
def shanghai_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone is UTC+8, as for most of the provider's users."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "form",
    ["%a %b %d %H:%M:%S %Y", "%a, %d %b %Y %H:%M:%S -0000", "%A, %d-%b-%y %H:%M:%S GMT"],
    ids=["asctime", "minus-zero", "rfc850"],
)
async def test_retry_after_as_an_http_date_is_utc_whatever_the_local_zone(
    kind: str, shanghai_time: None, form: str
) -> None:
    # RFC 9110 makes recipients accept all three HTTP-date forms, all in UTC. The asctime
    # one carries no zone: it was read as local time, 8 hours off, and the retry went at once.
    when = time.strftime(form, time.gmtime(time.time() + 6))
    replies = [
        httpx.Response(429, headers={"retry-after": when}, json={"error": {"type": "rate"}}),
        httpx.Response(200, json=answer("ok")),
    ]
    sleeps: list[float] = []
    transport = httpx.MockTransport(lambda request: replies.pop(0))
    await create(kind, sleeps, transport=transport)
    assert len(sleeps) == 1 and 4 <= sleeps[0] <= 6


# --------------------------------------------------------------------------- credentials


def echoing_stream() -> httpx.MockTransport:
    """An error object echoing the key before any chunk, then a good stream."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            echo = request.headers["authorization"].split()[1]
            event: dict[str, Any] = {
                "error": {"message": f"overloaded ({echo})", "type": "server_error"}
            }
        else:
            event = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}
        body = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n"
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return httpx.MockTransport(handle)


async def stream_text(kind: str, transport: httpx.MockTransport, **params: Any) -> str:
    """The streamed answer's text, through either client; ``params`` go to ``stream()``."""
    options: dict[str, Any] = {"api_key": KEY, "base_url": "http://provider/v1"}
    if kind == "sync":
        with Client(transport=transport, **options) as client:
            client._sleep = lambda delay: None
            with client.stream(USER, **params) as stream:
                return str(stream.get_final_completion().message.content)

    async def sleep(delay: float) -> None:
        pass

    async with AsyncClient(transport=transport, **options) as async_client:
        async_client._sleep = sleep
        async with async_client.stream(USER, **params) as stream:
            return str((await stream.get_final_completion()).message.content)


async def test_a_key_echoed_in_a_stream_error_stays_out_of_the_retry_log_line(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="agentkit"):
        text = await stream_text(kind, echoing_stream())
    assert text == "hi"
    [line] = [r.getMessage() for r in caplog.records if r.name == "agentkit.client"]
    assert "Retrying" in line and "overloaded (***)" in line and KEY not in line


async def test_a_key_echoed_in_a_stream_error_stays_out_of_a_deadline_errors_cause(
    kind: str,
) -> None:
    # The retry would wait past the deadline: the error raised says so, and its __cause__
    # is the stream's error object, which must be masked too.
    with pytest.raises(APITimeoutError) as caught:
        await stream_text(kind, echoing_stream(), deadline=time.monotonic() + 0.2)
    cause = caught.value.__cause__
    assert isinstance(cause, APIStatusError)
    assert KEY not in str(caught.value) and KEY not in str(cause)
    assert "overloaded (***)" in str(cause)


# --------------------------------------------------------------------------- parity


async def test_a_stream_answered_with_json_lacking_choices_fails_both_ways(kind: str) -> None:
    # A server that ignores stream: true answers a whole JSON body; one without "choices"
    # is no completion. The async stream returned an empty completion where sync raised.
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json={"id": "x", "object": "chat.completion"})
    )
    with pytest.raises(APIResponseError, match="no 'choices' list"):
        await stream_text(kind, transport)


async def test_an_empty_200_is_the_same_error_in_process_and_over_http(kind: str) -> None:
    # Served, the body has "content-length: 0": a complete body that is not JSON. In
    # process it had no length, so the client took it for a cut connection and retried.
    emulator = Emulator(faults="empty=200")
    with pytest.raises(APIResponseError, match="not JSON") as caught:
        await create(kind, transport=EmulatorTransport(emulator))
    assert caught.value.retries == 0 and emulator.request_count == 1
    served = Emulator(faults="empty=200")
    with EmulatorServer(served) as server, pytest.raises(APIResponseError, match="not JSON"):
        await create(kind, base_url=server.base_url)
    assert served.request_count == 1


# --------------------------------------------------------------------------- the emulator


@pytest.mark.parametrize(
    ("status", "error_type", "code", "message", "cls"),
    [
        (400, "invalid_request_error", "invalid_request", "Invalid request.", BadRequestError),
        (401, "authentication_error", "invalid_api_key", "Invalid API key.", AuthenticationError),
        (429, "rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded.", RateLimitError),
        (403, "permission_error", None, None, PermissionDeniedError),
        (404, "invalid_request_error", "not_found", None, NotFoundError),
        (418, "invalid_request_error", None, None, BadRequestError),  # by its type
    ],
)
async def test_a_status_fault_answers_the_documented_error_body_of_that_status(
    kind: str,
    status: int,
    error_type: str,
    code: str | None,
    message: str | None,
    cls: type[APIStatusError],
) -> None:
    # A 401 fault answered {"type": "server_error", "message": "Emulated server error."}:
    # code written against it would not meet the provider's documented 401 body.
    emulator = Emulator(faults=f"status={status}")
    with pytest.raises(APIStatusError) as caught:
        await create(kind, transport=EmulatorTransport(emulator), max_retries=0)
    err = caught.value
    assert type(err) is cls and err.status_code == status
    assert (err.error_type, err.code) == (error_type, code)
    if message is not None:
        assert isinstance(err.body, dict) and err.body["error"]["message"] == message


# --------------------------------------------------------------------------- base URLs

GATEWAY = "http://gateway/openai/v1/?api-version=2024-10-21&key=qs-secret-4242"


async def test_a_base_url_query_stays_after_the_endpoint_path(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The path was appended to the whole string: the request went to /openai/v1 with the
    # query "...&key=qs-secret-4242/chat/completions", and httpx's log line quoted the key.
    urls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json=answer("ok"))

    cassette = tmp_path / "run.jsonl"
    with caplog.at_level(logging.INFO):
        reply = await create(
            kind, base_url=GATEWAY, transport=httpx.MockTransport(handle), record_to=cassette
        )
    assert reply.message.content == "ok"
    assert urls == [
        "http://gateway/openai/v1/chat/completions?api-version=2024-10-21&key=qs-secret-4242"
    ]
    logged = [r.getMessage() for r in caplog.records]
    assert any("chat/completions?api-version=2024-10-21&key=***" in line for line in logged)
    assert not any("qs-secret" in line for line in logged)
    assert "qs-secret" not in cassette.read_text()
    client = Client(api_key=KEY, base_url=GATEWAY)
    assert "qs-secret" not in repr(client) and client.base_url == GATEWAY.replace("/?", "?")
    client.close()


def test_a_base_url_with_credentials_or_a_fragment_is_a_user_error() -> None:
    # httpx sends user:password@ as Basic auth instead of the Bearer key: the key was lost.
    with pytest.raises(UserError, match="user:password@") as caught:
        Client(api_key=KEY, base_url="https://proxy-user:pw-secret-77@gateway/v1")
    assert "pw-secret" not in str(caught.value)
    with pytest.raises(UserError, match="fragment"):
        Client(api_key=KEY, base_url="https://gateway/v1#top")


async def test_a_web_page_answering_a_stream_is_quoted_and_not_retried(kind: str) -> None:
    # A base_url missing its /v1 often gets a site's HTML page with a 200. create() said
    # "not JSON", quoting it; a stream said "ended after 0 chunks ... incomplete", an
    # APIConnectionError retried max_retries times.
    emulator = Emulator(faults="html=200")
    with pytest.raises(APIResponseError, match="not JSON: '<html>") as whole:
        await create(kind, transport=EmulatorTransport(emulator))
    with pytest.raises(APIResponseError, match="not server-sent events: '<html>") as streamed:
        await stream_text(kind, EmulatorTransport(emulator))
    assert whole.value.retries == streamed.value.retries == 0
    assert emulator.request_count == 2
    assert isinstance(streamed.value.body, str) and "Bad Gateway" in streamed.value.body


@pytest.mark.parametrize(
    "body", [b": keep-alive\n\n", b"dat", b"\xef\xbb\xbfevent: ping\n", b"\n\n"]
)
async def test_an_event_stream_cut_short_is_still_an_incomplete_stream(
    kind: str, body: bytes
) -> None:
    replies = [
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body),
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=STREAM),
    ]
    assert await stream_text(kind, httpx.MockTransport(lambda r: replies.pop(0))) == "hi"


# --------------------------------------------------------------------------- error bodies


async def test_an_error_object_in_a_200_answer_does_not_claim_to_be_in_a_stream(
    kind: str,
) -> None:
    # Some gateways answer HTTP 200 with {"error": ...}. create() (no stream at all) said
    # "Error in stream (rate_limit_error, ...)".
    error = {"error": {"message": "Rate limit exceeded.", "type": "rate_limit_error"}}
    replies = [httpx.Response(200, json=error), httpx.Response(200, json=answer("ok"))]
    sleeps: list[float] = []
    reply = await create(kind, sleeps, transport=httpx.MockTransport(lambda r: replies.pop(0)))
    assert reply.message.content == "ok" and len(sleeps) == 1  # retried, by its type
    with pytest.raises(RateLimitError) as caught:
        await create(
            kind,
            transport=httpx.MockTransport(lambda r: httpx.Response(200, json=error)),
            max_retries=0,
        )
    assert (
        str(caught.value)
        == "HTTP 200 with an error object (rate_limit_error): Rate limit exceeded."
    )
    assert caught.value.status_code is None


def test_an_emulator_and_emulator_options_together_are_a_user_error() -> None:
    # EmulatorServer(emulator, faults="429") served the emulator without the fault, and
    # EmulatorTransport raised a bare TypeError for the same mistake.
    emulator = Emulator()
    with pytest.raises(UserError, match=r"EmulatorServer: .*\(faults\)"):
        EmulatorServer(emulator, faults="429")
    with pytest.raises(UserError, match=r"EmulatorTransport: .*\(faults\)"):
        EmulatorTransport(emulator, faults="429")
    with pytest.raises(UserError, match=r"serve\(\): .*\(quirks\)"):
        serve(emulator=emulator, quirks="openai")


@pytest.mark.parametrize("base", ["https://openrouter.ai/api/v1", "https://gw/openai/v1/"])
async def test_a_cassette_recorded_under_another_base_path_replays(
    kind: str, tmp_path: Path, base: str
) -> None:
    # The recorder writes the request's whole path (/api/v1/chat/completions); replay
    # looked it up as /v1/chat/completions, so every request missed with a 400.
    cassette = tmp_path / "run.jsonl"
    live = httpx.MockTransport(lambda request: httpx.Response(200, json=answer("recorded")))
    await create(kind, transport=live, base_url=base, record_to=cassette)
    replayed = await create(kind, transport=EmulatorTransport(cassette=cassette))
    assert replayed.message.content == "recorded"


async def test_an_error_event_in_vllms_shape_ends_the_stream_with_its_error(kind: str) -> None:
    # vLLM (and FastChat) send {"object": "error", "message": ...} inside a stream whose
    # 200 was already sent. It parsed as a chunk with no choices, and the stream "ended"
    # at [DONE]: the truncated "Hel" came back as the whole answer.
    hel = {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    error = {
        "object": "error",
        "message": "This model's maximum context length is 4096 tokens.",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    body = f"data: {json.dumps(hel)}\n\ndata: {json.dumps(error)}\n\ndata: [DONE]\n\n"
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    )
    with pytest.raises(BadRequestError, match="maximum context length") as caught:
        await stream_text(kind, transport)
    assert caught.value.status_code is None and caught.value.code == "400"


async def test_an_error_event_carries_the_streams_request_id(kind: str) -> None:
    # What the provider's support asks for; a status error had it, a stream's error not.
    hel = {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    error = {"error": {"message": "The server had an error.", "type": "server_error"}}
    body = f"data: {json.dumps(hel)}\n\ndata: {json.dumps(error)}\n\n"
    headers = {"content-type": "text/event-stream", "x-request-id": "req_7f3a"}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, headers=headers, content=body))
    with pytest.raises(APIStatusError) as caught:
        await stream_text(kind, transport)
    assert caught.value.request_id == "req_7f3a"


async def test_a_key_in_the_base_url_path_stays_out_of_the_cassette_and_logs(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cassette = tmp_path / "run.jsonl"
    live = httpx.MockTransport(lambda request: httpx.Response(200, json=answer("ok")))
    with caplog.at_level(logging.DEBUG, logger="agentkit"):
        await create(kind, transport=live, base_url=f"http://gw/k/{KEY}/v1", record_to=cassette)
    recorded = cassette.read_text()
    assert KEY not in recorded and '"path":"/k/***/v1/chat/completions"' in recorded
    logged = [r.getMessage() for r in caplog.records if r.name == "agentkit.client"]
    assert logged and all(KEY not in line for line in logged)
    assert "Request POST /k/***/v1/chat/completions" in logged[0]


async def test_record_to_goes_through_the_environments_proxy(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # record_to= gave httpx a transport, which turns off HTTP(S)_PROXY: behind a proxy,
    # recording a session failed to connect where the same client without it worked.
    body = json.dumps(answer("via proxy")).encode()

    async def proxy(writer: asyncio.StreamWriter) -> None:
        head = response_head(content_type="application/json", content_length=str(len(body)))
        writer.write(head + body)

    cassette = tmp_path / "run.jsonl"
    with RawServer(proxy) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
        base = "http://api.example.invalid/v1"  # never resolves: only the proxy answers
        reply = await create(kind, base_url=base, record_to=cassette, max_retries=0)
    assert reply.message.content == "via proxy"
    assert server.requests[0].startswith(b"POST http://api.example.invalid/v1/chat/completions")
    assert "via proxy" in cassette.read_text()


async def test_a_raw_deflate_answer_is_recorded_decoded(kind: str, tmp_path: Path) -> None:
    # httpx decodes "deflate" sent without its zlib header (as some servers send it); the
    # recorder only tried zlib's format and wrote the compressed bytes as the answer text.
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = packer.compress(json.dumps(answer("deflated")).encode()) + packer.flush()

    async def server(writer: asyncio.StreamWriter) -> None:
        head = response_head(
            content_type="application/json",
            content_encoding="deflate",
            content_length=str(len(body)),
        )
        writer.write(head + body)

    cassette = tmp_path / "run.jsonl"
    with RawServer(server) as raw:
        reply = await create(kind, base_url=raw.url, record_to=cassette)
    assert reply.message.content == "deflated"
    replayed = await create(kind, transport=EmulatorTransport(cassette=cassette))
    assert replayed.message.content == "deflated"


async def test_a_gbk_error_page_is_quoted_readably(kind: str, tmp_path: Path) -> None:
    # A Chinese CDN's or WAF's error page in GBK was decoded as UTF-8: the message quoted
    # replacement characters, in the error and in the cassette.
    page = "<h1>502 网关错误:上游服务不可用</h1>"
    headers = {"content-type": "text/html; charset=GBK"}
    transport = httpx.MockTransport(
        lambda r: httpx.Response(502, headers=headers, content=page.encode("gbk"))
    )
    cassette = tmp_path / "run.jsonl"
    with pytest.raises(InternalServerError) as caught:
        await create(kind, transport=transport, max_retries=0, record_to=cassette)
    assert page in str(caught.value) and caught.value.body == page
    assert page in json.loads(cassette.read_text())["response"]["text"]


async def test_utf8_json_mislabelled_latin1_is_still_read_as_utf8(kind: str) -> None:
    error = {"error": {"message": "请求过于频繁", "type": "rate_limit_error"}}
    headers = {"content-type": "application/json; charset=ISO-8859-1"}
    body = json.dumps(error, ensure_ascii=False).encode()
    transport = httpx.MockTransport(lambda r: httpx.Response(429, headers=headers, content=body))
    with pytest.raises(RateLimitError, match="请求过于频繁"):
        await create(kind, transport=transport, max_retries=0)
