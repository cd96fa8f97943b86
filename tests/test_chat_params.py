"""The chat keyword arguments, typed once as ``ChatParams``: checked at runtime and by mypy."""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from mypy import api as mypy_api

from agentkit.client import AsyncClient, Client
from agentkit.errors import UserError
from agentkit.params import ChatParams

KEY = "sk-test-params"
USER = [{"role": "user", "content": "hi"}]
ANSWER = {"choices": [{"message": {"role": "assistant", "content": '{"a": 1}'}}]}


def _clients() -> tuple[Client, AsyncClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=ANSWER)

    transport = httpx.MockTransport(handle)
    return Client(KEY, transport=transport), AsyncClient(KEY, transport=transport), sent


async def test_unknown_keywords_raise_user_error_before_any_request() -> None:
    sync, asyn, sent = _clients()
    bad: dict[str, Any] = {"frequency_penalty": 1}
    calls = [
        lambda: sync.create(USER, **bad),
        lambda: sync.create(USER, stream=True, **bad),
        lambda: sync.create_json(USER, **bad),
        lambda: sync.stream(USER, **bad),
        lambda: asyn.stream(USER, **bad),
    ]
    for call in calls:
        with pytest.raises(UserError, match=r"frequency_penalty.*extra_body"):
            call()
    for make in (
        lambda: asyn.create(USER, **bad),
        lambda: asyn.create(USER, stream=True, **bad),
        lambda: asyn.create_json(USER, **bad),
    ):
        with pytest.raises(UserError, match=r"frequency_penalty.*extra_body"):
            await make()
    assert sent == []


async def test_create_json_refuses_stream() -> None:
    sync, asyn, sent = _clients()
    extra: dict[str, Any] = {"stream": True}
    with pytest.raises(UserError, match="stream="):
        sync.create_json(USER, **extra)
    with pytest.raises(UserError, match="stream="):
        await asyn.create_json(USER, **extra)
    assert sent == []


async def test_every_param_is_sent_in_a_fixed_order() -> None:
    sync, asyn, sent = _clients()
    params: ChatParams = {
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "top_p": 0.5,
        "temperature": 0.1,
        "max_completion_tokens": 7,
        "model": "m",
        "extra_body": {"seed": 3},
        "extra_headers": {"X-Test": "1"},
        "timeout": 5.0,
    }
    sync.create(USER, **params)
    await asyn.create(USER, **params)
    assert sync.create_json(USER, **params) == {"a": 1}
    assert await asyn.create_json(USER, **params) == {"a": 1}
    keys = ["model", "messages", "temperature", "top_p", "max_completion_tokens"]
    keys += ["tool_choice", "parallel_tool_calls", "seed"]
    json_keys = [*keys[:5], "response_format", *keys[5:]]
    bodies = [json.loads(r.content) for r in sent]
    assert [list(b) for b in bodies] == [keys, keys, json_keys, json_keys]
    assert all(r.headers["X-Test"] == "1" for r in sent)


def test_signatures_keep_their_keywords() -> None:
    for method in (Client.create, AsyncClient.create):
        stream = inspect.signature(method).parameters["stream"]
        assert stream.kind is inspect.Parameter.KEYWORD_ONLY and stream.default is False
    assert set(ChatParams.__optional_keys__) == {
        "model",
        "temperature",
        "top_p",
        "max_completion_tokens",
        "response_format",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "extra_body",
        "extra_headers",
        "timeout",
        "deadline",
    }


SNIPPET = """\
from typing_extensions import assert_type

from agentkit.client import AsyncChatStream, AsyncClient, ChatStream, Client
from agentkit.messages import ChatCompletion, Message

USER: list[Message] = [{"role": "user", "content": "hi"}]


def sync(c: Client) -> None:
    assert_type(c.create(USER, temperature=0.2, timeout=3.0), ChatCompletion)
    assert_type(c.create(USER, stream=True, model="m"), ChatStream)
    assert_type(c.stream(USER, tools=[], tool_choice="auto"), ChatStream)
    c.create(USER, temprature=0.2)  # E: misspelt
    c.create(USER, max_completion_tokens="10")  # E: wrong type
    c.stream(USER, top_p="high")  # E: wrong type
    c.create_json(USER, extra_headers={"a": 1})  # E: wrong type


async def asynchronous(a: AsyncClient) -> None:
    assert_type(await a.create(USER, parallel_tool_calls=True), ChatCompletion)
    assert_type(await a.create(USER, stream=True), AsyncChatStream)
    await a.create(USER, modle="m")  # E: misspelt
    await a.create_json(USER, temperature="hot")  # E: wrong type
    a.stream(USER, frequency_penalty=1)  # E: misspelt
"""


def test_mypy_flags_misspelt_and_mistyped_keywords(tmp_path: Path) -> None:
    source = tmp_path / "snippet.py"
    source.write_text(textwrap.dedent(SNIPPET), encoding="utf-8")
    stdout, stderr, _ = mypy_api.run(
        [
            "--strict",
            "--python-version=3.11",
            "--follow-imports=silent",
            f"--cache-dir={tmp_path / 'mypy_cache'}",
            "--config-file=",
            "--no-error-summary",
            str(source),
        ]
    )
    assert not stderr, stderr
    expected = {
        n
        for n, line in enumerate(SNIPPET.splitlines(), start=1)
        if line.endswith(("# E: misspelt", "# E: wrong type"))
    }
    flagged = {
        int(line.split(":")[1])
        for line in stdout.splitlines()
        if line.startswith(str(source)) and ": error:" in line
    }
    assert flagged == expected, stdout
