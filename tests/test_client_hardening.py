"""The client's deadline, size limit, cut bodies, nested JSON and event-loop reuse.

Behaviour that depends on sockets is tested over real loopback servers: the scripted
``RawServer`` (bytes and pauses of our choosing) and agentkit's emulator served by uvicorn.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _raw_server import RawServer, response_head
from _reliability_support import shared_server

from agentkit.client import AsyncClient, Client
from agentkit.client.async_ import _drop_pool
from agentkit.client.sse import SSEDecoder
from agentkit.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    UserError,
)

KEY = "sk-hardening-0123456789"
USER = [{"role": "user", "content": "hi"}]
COMPLETION = json.dumps(
    {
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ]
    }
).encode()


def nested() -> str:
    """JSON nested deeper than the interpreter can decode (3 KB at the default limit)."""
    depth = max(3000, 2 * sys.getrecursionlimit())
    return "[" * depth + "]" * depth


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def call(kind: str, url: str, method: str, /, **kwargs: Any) -> Any:
    """Call ``method`` (``create``, ``stream``, ``create_json``) on a fresh client of ``kind``.

    ``stream`` consumes the stream and returns the final completion.
    """
    opts = {
        k: kwargs.pop(k) for k in ("max_retries", "timeout", "max_response_bytes") if k in kwargs
    }
    if kind == "sync":
        with Client(KEY, url, **opts) as client:
            if method == "stream":
                with client.stream(USER, **kwargs) as s:
                    return s.get_final_completion()
            return getattr(client, method)(USER, **kwargs)

    async def go() -> Any:
        async with AsyncClient(KEY, url, **opts) as client:
            if method == "stream":
                async with client.stream(USER, **kwargs) as s:
                    return await s.get_final_completion()
            return await getattr(client, method)(USER, **kwargs)

    return asyncio.run(go())


def timed(fn: Callable[[], Any]) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        fn()
    except Exception as exc:
        return exc, time.monotonic() - start
    return None, time.monotonic() - start


# --------------------------------------------------------------------------- the deadline


async def _drip(writer: asyncio.StreamWriter) -> None:
    writer.write(
        response_head(content_type="application/json", content_length=str(len(COMPLETION)))
    )
    for byte in COMPLETION:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)


async def _keepalive(writer: asyncio.StreamWriter) -> None:
    writer.write(response_head(content_type="text/event-stream"))
    for _ in range(200):
        writer.write(b": keep-alive\n\n")
        await writer.drain()
        await asyncio.sleep(0.05)


async def _slow_answer(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3)
    writer.write(
        response_head(content_type="application/json", content_length=str(len(COMPLETION)))
    )
    writer.write(COMPLETION)


@pytest.mark.parametrize(
    ("script", "method"),
    [(_drip, "create"), (_keepalive, "stream"), (_slow_answer, "create"), (_slow_answer, "stream")],
)
def test_the_deadline_cuts_an_attempt_in_flight(kind: str, script: Any, method: str) -> None:
    # timeout is per network operation: each byte (or comment) arrives well within it.
    with RawServer(script) as server:
        deadline = time.monotonic() + 0.5
        exc, _ = timed(lambda: call(kind, server.url, method, timeout=2.0, deadline=deadline))
        late = time.monotonic() - deadline
    assert isinstance(exc, APITimeoutError), exc
    assert late < 0.15, f"raised {late:.3f} s after the deadline"


async def _retry_after(writer: asyncio.StreamWriter) -> None:
    body = b'{"error": {"message": "busy", "type": "server_error"}}'
    writer.write(
        response_head(
            "503 Busy",
            content_type="application/json",
            retry_after="1.5",
            content_length=str(len(body)),
        )
        + body
    )


def test_a_retry_that_would_wait_past_the_deadline_is_not_attempted(kind: str) -> None:
    with RawServer(_retry_after) as server:
        deadline = time.monotonic() + 1.0
        exc, took = timed(
            lambda: call(kind, server.url, "create", max_retries=2, deadline=deadline)
        )
        assert isinstance(exc, APITimeoutError), exc
        assert took < 0.5, "slept into the deadline instead of giving up"
        assert len(server.requests) == 1
    # truthful: the deadline has not passed; the wait asked for would pass it
    assert str(exc).startswith("The request was not retried: the server asked to wait 1.5 s")
    assert "s left before its deadline (last failure: HTTP 503 (server_error): busy)" in str(exc)
    assert isinstance(exc.__cause__, APIStatusError) and exc.__cause__.status_code == 503


def test_a_deadline_already_passed_sends_nothing(kind: str) -> None:
    with RawServer(_retry_after) as server:
        exc, _ = timed(lambda: call(kind, server.url, "create", deadline=time.monotonic() - 1))
        assert isinstance(exc, APITimeoutError)
        assert server.requests == []


def test_bad_deadline_is_a_user_error() -> None:
    with pytest.raises(UserError, match="deadline"):
        Client(KEY).create(USER, deadline="soon")  # type: ignore[typeddict-item]


# --------------------------------------------------------------------------- cut bodies


async def _cut_stream(writer: asyncio.StreamWriter) -> None:
    # Close-delimited (no length, not chunked): the cut looks like the end of the body.
    call_chunk = {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "delete_all", "arguments": '{"really": true}'},
                        }
                    ],
                },
            }
        ]
    }
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
    writer.write(b"data: " + json.dumps(call_chunk).encode() + b"\n\n")
    await writer.drain()
    await asyncio.sleep(0.05)


def test_a_close_delimited_stream_cut_without_finish_reason_is_incomplete(kind: str) -> None:
    with RawServer(_cut_stream) as server:
        exc, _ = timed(lambda: call(kind, server.url, "stream", max_retries=0))
    assert isinstance(exc, APIConnectionError) and not isinstance(exc, APITimeoutError)
    assert "incomplete" in str(exc) or "broke" in str(exc)


async def _http10_half(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n")
    writer.write(COMPLETION[: len(COMPLETION) // 2])


async def _whole(writer: asyncio.StreamWriter) -> None:
    writer.write(
        response_head(content_type="application/json", content_length=str(len(COMPLETION)))
    )
    writer.write(COMPLETION)


def test_an_http10_json_body_cut_in_half_is_retried(kind: str) -> None:
    with RawServer(_http10_half, _whole) as server:
        reply = call(kind, server.url, "create", max_retries=1)
        assert reply.message.content == "ok" and len(server.requests) == 2


# --------------------------------------------------------------------------- size limit


def _serve(body: bytes, **headers: str) -> Any:
    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(response_head(content_length=str(len(body)), **headers) + body)

    return script


def test_a_gzip_bomb_stops_at_max_response_bytes(kind: str) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * 2**20) + b"]", 9)  # 64 MiB decoded, ~64 KB sent
    with RawServer(_serve(bomb, content_type="application/json", content_encoding="gzip")) as s:
        exc, _ = timed(lambda: call(kind, s.url, "create", max_response_bytes=2**20))
    assert isinstance(exc, APIResponseError) and "max_response_bytes" in str(exc)


def test_a_stream_larger_than_the_limit_is_refused(kind: str) -> None:
    line = b"data: " + b'{"choices": [], "x": "' + b"a" * 300_000 + b'"}\n\n'
    with RawServer(_serve(line * 4, content_type="text/event-stream")) as s:
        exc, _ = timed(lambda: call(kind, s.url, "stream", max_response_bytes=2**20))
    assert isinstance(exc, APIResponseError) and "max_response_bytes" in str(exc)


def test_max_response_bytes_is_checked() -> None:
    with pytest.raises(UserError, match="max_response_bytes"):
        Client(KEY, max_response_bytes=0)


# --------------------------------------------------------------------------- nested JSON


@pytest.mark.parametrize("status", ["200 OK", "400 Bad Request", "500 Oops"])
@pytest.mark.parametrize("method", ["create", "create_json"])
def test_deeply_nested_bodies_give_typed_errors(kind: str, status: str, method: str) -> None:
    body = nested().encode()
    with RawServer(_serve(body, content_type="application/json")) as s:

        def go() -> None:
            # each script repeats: a 500 is retried, then typed
            call(kind, s.url, method, max_retries=0)

        exc, _ = timed(go)
    assert isinstance(exc, APIError), repr(exc)  # typed: APIResponseError / APIStatusError
    assert "RecursionError" not in repr(exc)


def test_deeply_nested_json_content_and_stream_events_are_typed(kind: str) -> None:
    content = json.dumps({"choices": [{"message": {"content": nested()}, "finish_reason": "stop"}]})
    with RawServer(_serve(content.encode(), content_type="application/json")) as s:
        exc, _ = timed(lambda: call(kind, s.url, "create_json", max_retries=0))
    assert isinstance(exc, APIResponseError), exc
    event = b"data: " + nested().encode() + b"\n\n"
    with RawServer(_serve(event, content_type="text/event-stream")) as s:
        exc, _ = timed(lambda: call(kind, s.url, "stream", max_retries=0))
    assert isinstance(exc, APIResponseError), exc


def test_the_sse_decoder_survives_nested_run_together_events() -> None:
    out = SSEDecoder().feed(b"data: " + nested().encode() + b"data: {}\n\n")
    assert out  # one payload (not split: the first value cannot be decoded), no RecursionError


def test_run_together_events_decode_in_linear_time() -> None:
    event = b'{"choices":[{"index":0,"delta":{"content":"x"}}]}'

    def rate(n: int) -> float:
        line = b"data: " + b"data: ".join([event] * n) + b"\n\n"
        start = time.perf_counter()
        payloads = SSEDecoder().feed(line)
        took = time.perf_counter() - start
        assert len(payloads) == n
        return took / n

    small, big = rate(2_000), rate(40_000)  # ~100 KB and ~2 MB lines
    assert big < small * 4, f"per-event cost grew {big / small:.1f}x"


# --------------------------------------------------------------------------- event loops


def test_an_async_client_survives_a_second_asyncio_run() -> None:
    server = shared_server()
    client = AsyncClient(KEY, server.base_url)

    async def once() -> str | None:
        return (await client.create(USER)).message.content

    first = asyncio.run(once())
    second = asyncio.run(once())  # the first loop (and its pool) is gone
    third = asyncio.run(once())
    assert first and second and third
    asyncio.run(client.aclose())


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_foreign_http_client_from_a_dead_loop_is_a_typed_error() -> None:
    # The test strands its own httpx pool on a dead loop on purpose: its sockets are
    # reclaimed by the collector below, inside this test's warning filters.
    server = shared_server()
    url = server.base_url
    holder: dict[str, Any] = {}

    async def first() -> None:
        holder["http"] = httpx.AsyncClient()
        holder["client"] = AsyncClient(KEY, url, http_client=holder["http"])
        await holder["client"].create(USER)

    asyncio.run(first())

    async def second() -> None:
        await holder["client"].create(USER)

    with pytest.raises(UserError, match="event loop that is now closed"):
        asyncio.run(second())
    _drop_pool(holder["http"])
    holder.clear()
    gc.collect()
