"""Security: the key never leaks, templates cannot escape, models cannot inject arguments.

The key is searched for in every place it could leak to: ``repr`` of the objects holding
it, ``str``/``repr``/``.body``/``.messages`` of every error a run can raise, the DEBUG log
of whole runs (retries and failures included), a cassette recorded by ``record_to``, and
the log of the emulator (served on loopback at DEBUG, checking the very key).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit.agent import Agent
from agentkit.client import AsyncClient, Client
from agentkit.context import RunContext
from agentkit.errors import AgentkitError, ToolArgumentsError, UserError
from agentkit.images import to_data_url
from agentkit.templates import Template
from agentkit.testing import FAULT_HEADER, EmulatorServer
from agentkit.tool import tool
from tests._reliability_support import KEY, PROMPT, Weather

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

SCENARIOS = [
    {
        "name": "injection",
        "match": "inject",
        "tool_calls": [
            {
                "name": "lookup",
                "arguments": {"city": "Paris", "ctx": {"deps": "evil"}, "admin": True},
            }
        ],
        "reply": "done",
    },
    {
        "name": "context",
        "match": "context please",
        "tool_calls": [{"name": "whoami", "arguments": {"ctx": {"deps": "evil"}}}],
        "reply": "done",
    },
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # Its own server: it accepts only KEY, logs at DEBUG, and knows two injection scenarios.
    with EmulatorServer(api_keys=[KEY], scenarios=SCENARIOS, log_level="debug") as running:
        yield running


def _leaks(text: str) -> bool:
    return KEY in text or KEY[8:] in text  # the whole key, or its secret part


def _error_texts(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(exc.args)]
    for name in ("body", "message", "messages", "content"):
        parts.append(repr(getattr(exc, name, None)))
    cause = exc.__cause__
    if cause is not None:
        parts += [str(cause), repr(cause)]
    return "\n".join(parts)


FAULTS = [
    "429;retry-after=0",
    "500",
    "503;retry-after-ms=1",
    "html",
    "empty",
    "non-json",
    "drop",
    "length",
    "empty-choices",
    # a server that echoes the key in its error message (OpenAI does for invalid keys)
    f"status=400;message=Incorrect API key provided: {KEY}",
    f"status=401;message=key {KEY} is not valid",
]


def _run_everything(server: EmulatorServer, cassette: Path | None = None) -> list[str]:
    """Run whole agents through many faults; return every text an error carried."""
    texts: list[str] = []
    weather = Weather()
    for spec in [None, *FAULTS]:
        headers = {FAULT_HEADER: spec} if spec else {}
        for streamed in (False, True):
            with Client(
                KEY,
                server.base_url,
                max_retries=1,
                default_headers=headers,
                record_to=cassette,
                timeout=5,
            ) as client:
                client._sleep = lambda _delay: None
                texts.append(repr(client))
                agent = Agent(tools=[weather.tool()], client=client)
                texts.append(repr(agent))
                try:
                    if streamed:
                        result = list(agent.stream_sync(PROMPT))[-1].result  # type: ignore[union-attr]
                    else:
                        result = agent.run_sync(PROMPT)
                    texts.append(repr(result))
                except AgentkitError as exc:
                    assert spec is not None, exc
                    texts.append(_error_texts(exc))
    # a wrong key: the 401 must not echo the configured (right) key either
    with Client("sk-wrong", server.base_url, max_retries=0) as wrong:
        with pytest.raises(AgentkitError) as info:
            Agent(client=wrong).run_sync(PROMPT)
        texts.append(_error_texts(info.value))
    return texts


def test_the_key_never_leaks(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: agentkit, httpx, uvicorn (the emulator)
    cassette = tmp_path / "cassette.jsonl"
    texts = _run_everything(server, cassette)
    echoed = [t for t in texts if "Incorrect API key provided" in t]
    assert echoed and all("***" in t for t in echoed)  # the echo was there, masked
    for text in texts:
        assert not _leaks(text), text
    # the DEBUG log of all of it, emulator included
    assert any(r.name.startswith("agentkit") for r in caplog.records)
    assert any(r.name.startswith(("uvicorn", "httpx", "httpcore")) for r in caplog.records)
    log = caplog.text + "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert "Authorization" in log or "authorization" in log or "request" in log
    assert not _leaks(log)
    # the cassette: every exchange recorded, none with the key
    recorded = cassette.read_text(encoding="utf-8")
    assert len(recorded.splitlines()) > 10
    assert not _leaks(recorded)
    for line in recorded.splitlines():
        assert "authorization" not in json.dumps(json.loads(line)["request"]).lower()


def test_reprs_hold_no_key(server: EmulatorServer) -> None:
    with Client(KEY, server.base_url) as client:
        twin = client.to_async()
        for obj in (client, twin, Agent(client=client), Agent(client=twin)):
            assert not _leaks(repr(obj)) and not _leaks(str(obj))


async def test_async_errors_and_logs_hold_no_key(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spec = f"status=400;message=bad key {KEY}"
    async with AsyncClient(
        KEY, server.base_url, max_retries=0, default_headers={FAULT_HEADER: spec}
    ) as client:
        with pytest.raises(AgentkitError) as info:
            await Agent(client=client).run(PROMPT)
    assert "***" in str(info.value)
    assert not _leaks(_error_texts(info.value)) and not _leaks(caplog.text)


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ self._TemplateReference__context }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ x.__class__ }}",
    ],
)
def test_sandboxed_templates_cannot_reach_python_internals(attack: str) -> None:
    template = Template(attack, sandboxed=True)
    with pytest.raises(UserError) as info:
        out = template.render({"x": "text"})
        pytest.fail(f"rendered {out!r}")  # pragma: no cover
    assert not isinstance(info.value, AssertionError)


def test_a_sandboxed_template_still_renders_data() -> None:
    template = Template("You help {{ user.name }} with {{ topics | join(', ') }}.", sandboxed=True)
    assert template.render({"user": {"name": "Ada"}, "topics": ["a", "b"]}) == (
        "You help Ada with a, b."
    )


@pytest.mark.parametrize("sandboxed", [True, False])
def test_a_missing_variable_is_an_error(sandboxed: bool) -> None:
    template = Template("Hello {{ name }}, today is {{ day }}.", sandboxed=sandboxed)
    with pytest.raises(UserError, match="day"):
        template.render({"name": "Ada"})
    with pytest.raises(UserError):
        Template("{{ user.missing_attribute }}", sandboxed=sandboxed).render({"user": {}})


def test_an_agent_with_a_bad_template_sends_nothing(server: EmulatorServer) -> None:
    before = server.emulator.request_count
    with Client(KEY, server.base_url) as client:
        agent = Agent(instructions=Template("{{ ''.__class__ }}", sandboxed=True), client=client)
        with pytest.raises(UserError):
            agent.run_sync(PROMPT, variables={})
        agent2 = Agent(instructions=Template("Hi {{ who }}"), client=client)
        with pytest.raises(UserError, match="who"):
            agent2.run_sync(PROMPT, variables={})
    assert server.emulator.request_count == before


# ---------------------------------------------------------------- tool arguments

_received: list[dict[str, Any]] = []


@tool
def lookup(city: str) -> str:
    """Look up a city.

    Args:
        city: The city.
    """
    _received.append({"city": city})
    return city


@tool
def whoami(ctx: RunContext[str]) -> str:
    """Say who is calling."""
    _received.append({"deps": ctx.deps})
    return str(ctx.deps)


def test_extra_arguments_and_context_are_rejected_directly() -> None:
    with pytest.raises(ToolArgumentsError, match="admin: unexpected argument"):
        lookup.validate_arguments({"city": "Paris", "admin": True})
    with pytest.raises(ToolArgumentsError, match="ctx"):
        lookup.validate_arguments('{"city": "Paris", "ctx": {}}')
    with pytest.raises(ToolArgumentsError, match="ctx"):
        whoami.validate_arguments({"ctx": {"deps": "evil"}})
    assert "ctx" not in json.dumps(whoami.to_openai())
    assert whoami.validate_arguments({}) == {}


def test_a_model_cannot_inject_arguments_or_the_context(server: EmulatorServer) -> None:
    _received.clear()
    with Client(KEY, server.base_url) as client:
        agent = Agent(tools=[lookup, whoami], client=client)
        result = agent.run_sync("inject something", deps="the real deps")
        assert _received == []  # the call with extra fields never ran
        tool_msg = result.messages[2]
        assert "unexpected argument" in tool_msg["content"] and "admin" in tool_msg["content"]
        result = agent.run_sync("context please", deps="the real deps")
        assert "unexpected argument" in result.messages[2]["content"]
        assert _received == []
    # the real context reaches the tool only from the agent
    ctx: RunContext[str] = RunContext("the real deps")
    assert whoami.call_sync("{}", ctx) == "the real deps"


# ---------------------------------------------------------------- images


def test_images_over_the_size_limit_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(PNG + b"\x00" * 2048)
    with pytest.raises(UserError, match="over the limit"):
        to_data_url(big, max_bytes=1024)
    with pytest.raises(UserError, match="over the limit"):
        to_data_url(big.read_bytes(), max_bytes=1024)
    with Client(KEY, "http://127.0.0.1:9/v1", max_image_bytes=1024) as client:
        with pytest.raises(UserError, match="over the limit"):
            client.user_message("look", [big])
        assert client.user_message("look", [PNG])["content"][1]["type"] == "image"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"%PDF-1.7\n",
        b"\x89PNX\r\n\x1a\n" + b"\x00" * 8,
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
    ],
)
def test_non_image_bytes_are_refused(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a PNG, JPEG, GIF or WebP"):
        to_data_url(data)
    path = tmp_path / "fake.png"  # the name does not make it an image
    path.write_bytes(data)
    with pytest.raises(UserError):
        to_data_url(path)
    with Client(KEY, "http://127.0.0.1:9/v1") as client, pytest.raises(UserError):
        client.user_message("look", [data])
