"""Every credential a request carried stays out of errors, logs, cassettes, reprs and tracebacks."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest
from _raw_server import RawServer, response_head

from agentkit.client import AsyncClient, Client
from agentkit.errors import AgentkitError, APIError, UserError

KEY = "sk-secret-key-abcdef-123456"
HDR = "hk-header-secret-987654"
EXTRA = "tok-extra-secret-555"
USER = [{"role": "user", "content": "hi"}]


def escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if c == "-" else c for c in text)


@pytest.mark.parametrize("key", [KEY + "\n", " " + KEY, KEY + "é", "sk-a\nb-cdef"])
def test_a_key_a_header_cannot_carry_is_refused_without_quoting_it(key: str) -> None:
    with pytest.raises(UserError) as info:
        Client(key)
    assert key.strip() not in str(info.value) and "sk-" not in str(info.value)


def test_a_header_value_a_header_cannot_carry_is_refused() -> None:
    with pytest.raises(UserError, match="X-Api-Key") as info:
        Client(KEY, default_headers={"X-Api-Key": HDR + "\n"})
    assert HDR not in str(info.value)


def _echo_everything(request: httpx.Request) -> httpx.Response:
    """A hostile server: echoes every request header in the body (JSON-escaped too) and id."""
    headers = dict(request.headers)
    text = json.dumps(headers) + escaped(json.dumps(headers))
    kind = request.url.params.get("k") or request.headers.get("x-case", "")
    rid = request.headers.get("authorization", "")
    if kind == "nonjson":
        return httpx.Response(200, text="oops " + text, headers={"x-request-id": rid})
    if kind == "nochoices":
        return httpx.Response(200, json={"echo": headers, "esc": escaped(HDR)})
    if kind == "stream":
        return httpx.Response(
            200, text=f"data: not json {text}\n\n", headers={"content-type": "text/event-stream"}
        )
    bare = rid.removeprefix("Bearer ")
    echoed = {"message": "bad key", "type": bare, "code": escaped(HDR), "param": rid}
    if kind == "codes":  # the key as error.type / error.code: attributes of the error
        return httpx.Response(401, json={"error": echoed})
    if kind == "streamcodes":
        event = json.dumps({"error": echoed})
        return httpx.Response(
            200, text=f"data: {event}\n\n", headers={"content-type": "text/event-stream"}
        )
    return httpx.Response(
        401,
        json={"error": {"message": text, "type": "authentication_error"}},
        headers={"x-request-id": rid},
    )


@pytest.mark.parametrize(
    "case", ["nonjson", "nochoices", "stream", "status", "codes", "streamcodes"]
)
def test_no_path_from_server_bytes_leaks_a_credential(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cassette = tmp_path / "c.jsonl"
    client = Client(
        KEY,
        "http://test/v1",
        transport=httpx.MockTransport(_echo_everything),
        default_headers={"X-Api-Key": HDR},
        record_to=cassette,
        max_retries=0,
        log_bodies=True,
    )
    extra = {"x-case": case, "X-Other-Token": "tok-extra-secret-555"}
    with caplog.at_level(logging.DEBUG), pytest.raises(APIError) as info:
        if case.startswith("stream"):
            with client.stream(USER, extra_headers=extra) as s:
                list(s)
        else:
            client.create(USER, extra_headers=extra)
    err: Any = info.value
    seen = " ".join(
        [
            str(err),
            repr(err),
            repr(vars(err)),  # every attribute: .body, .code, .error_type, .request_id...
            caplog.text,
            cassette.read_text(encoding="utf-8") if cassette.exists() else "",
        ]
    )
    for secret in (KEY, HDR, "tok-extra-secret-555", escaped(KEY), escaped(HDR)):
        assert secret not in seen, f"{secret!r} leaked in case {case}"


def test_a_traceback_with_locals_shows_no_header() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = Client(
        KEY,
        "http://test/v1",
        transport=httpx.MockTransport(fail),
        max_retries=0,
        default_headers={"X-Api-Key": HDR},
    )
    with pytest.raises(AgentkitError) as info:
        client.create(USER, extra_headers={"X-Other-Token": EXTRA})
    tb = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    text = "".join(tb.format())
    for secret in (KEY, HDR, EXTRA):
        assert secret not in text


def test_no_object_repr_holds_headers() -> None:
    client = Client(KEY, default_headers={"X-Api-Key": HDR})
    prep = client._prepare_chat_kwargs(USER, {}, stream=False, caller="create")
    for obj in (client, prep, prep.headers, prep.redactor):
        assert KEY not in repr(obj) and HDR not in repr(obj)


# ------------------------------------------------- echoes in httpx's and httpcore's own logs


async def _echo_in_headers(writer: asyncio.StreamWriter) -> None:
    """A 401 echoing the key in a response header and in its reason phrase."""
    body = b'{"error": {"message": "bad key", "type": "authentication_error"}}'
    writer.write(
        response_head(
            f"401 Bad {KEY}",
            content_type="application/json",
            content_length=str(len(body)),
            x_echo_authorization=f"Bearer {KEY}",
            x_echo_other=EXTRA,
        )
        + body
    )


async def _echo_in_a_bad_chunk(writer: asyncio.StreamWriter) -> None:
    """A chunked stream whose next chunk header h11 quotes in its exception: the key."""
    writer.write(response_head(content_type="text/event-stream", transfer_encoding="chunked"))
    event = b"data: {}\n\n"
    writer.write(b"%x\r\n" % len(event) + event + b"\r\n" + KEY.encode() + b"\r\n")
    await writer.drain()


@pytest.mark.parametrize("script", [_echo_in_headers, _echo_in_a_bad_chunk])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_echo_in_response_bytes_stays_out_of_httpx_and_httpcore_logs(
    kind: str, script: Any, caplog: pytest.LogCaptureFixture
) -> None:
    extra = {"X-Other-Token": EXTRA}
    with RawServer(script) as server, caplog.at_level(logging.DEBUG), pytest.raises(APIError):
        if kind == "sync":
            with (
                Client(KEY, server.url, max_retries=0) as client,
                client.stream(USER, extra_headers=extra) as s,
            ):
                list(s)
        else:

            async def go() -> None:
                async with (
                    AsyncClient(KEY, server.url, max_retries=0) as client,
                    client.stream(USER, extra_headers=extra) as s,
                ):
                    async for _ in s:
                        pass

            asyncio.run(go())
    names = {r.name for r in caplog.records}
    assert {"httpx", "httpcore.http11"} <= names  # the libraries did log the exchange
    log = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "***" in log  # the echo reached their records, masked
    assert KEY not in log and EXTRA not in log


@pytest.mark.parametrize("sync", [True, False])
def test_the_httpx_error_kept_as_cause_holds_no_key(sync: bool) -> None:
    # The cause is kept for its type and message; its request must not carry the key.
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    headers = {"x-api-key": "sk-extra-secret-999"}
    msgs = [{"role": "user", "content": "hi"}]
    with pytest.raises(APIError) as info:
        if sync:
            with Client(api_key=KEY, transport=httpx.MockTransport(refuse), max_retries=0) as c:
                c.create(msgs, extra_headers=headers)
        else:

            async def call() -> None:
                transport = httpx.MockTransport(refuse)
                async with AsyncClient(api_key=KEY, transport=transport, max_retries=0) as c:
                    await c.create(msgs, extra_headers=headers)

            asyncio.run(call())
    cause = info.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert cause.request.headers["authorization"] == "***"
    assert cause.request.headers["x-api-key"] == "***"
    assert cause.request.url.path.endswith("/chat/completions")
    assert KEY not in repr(cause.request.headers.raw)
