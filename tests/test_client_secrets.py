"""Every credential a request carried stays out of errors, logs, cassettes, reprs and tracebacks."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit.client import Client
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
