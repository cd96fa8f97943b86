"""``agentkit check`` against the emulator served on loopback, in every quirk mode."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentkit import Agent, Client, tool
from agentkit.check import check_server
from agentkit.cli import main
from agentkit.emulator import QUIRK_PRESETS, Emulator
from agentkit.emulator.server import EmulatorServer

AUTO_NONE = frozenset({"auto", "none"})
EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "agentkit": ("gpt-5.4-mini", {}),
    "provider-examples": ("gpt-5.4-mini", {"stream_usage": False}),
    "openai": ("openai", {}),
    "llama.cpp": ("llama.cpp", {}),
    "vllm": ("vllm", {}),
    "ollama": ("ollama", {}),
    "litellm": ("litellm", {}),
    "text-tool-calls": (
        "gpt-5.4-mini",
        {"tool_choices": AUTO_NONE, "recover_text_tool_calls": True},
    ),
    "ignores-tool-choice": ("gpt-5.4-mini", {"tool_choices": AUTO_NONE}),
    "always-usage": ("gpt-5.4-mini", {}),
}


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    with EmulatorServer(Emulator(quirks=request.param)) as server:
        yield server.base_url


def test_every_quirk_mode_is_covered() -> None:
    assert set(EXPECTED) == set(QUIRK_PRESETS)


@pytest.mark.parametrize("served", list(EXPECTED), indirect=True)
def test_check_names_the_profile_and_it_runs_an_agent(served: str, request: Any) -> None:
    quirks = request.node.callspec.params["served"]
    report = check_server(served)
    name, changes = EXPECTED[quirks]
    assert (report.profile.name, report.changes) == (name, changes)
    assert report.usable
    assert report.model == "gpt-5.4-mini"
    # with the profile named, nothing that failed matters any more
    assert [p.name for p in report.probes if not p.ok and report.matters(p)] == []
    # the profile it names really runs a tool-calling agent there, streamed too
    with Client(api_key="k", base_url=served, profile=report.effective_profile) as client:
        agent = Agent(tools=[get_weather], client=client)
        assert "sunny in Paris" in agent.run_sync("What is the weather in Paris?").output
        events = list(agent.stream_sync("What is the weather in Paris?"))
        result = events[-1].result  # type: ignore[attr-defined]
        assert "sunny in Paris" in result.output
        assert (result.usage.total_tokens > 0) == (quirks != "provider-examples")


@pytest.mark.parametrize("served", ["llama.cpp"], indirect=True)
def test_the_servers_answer_is_shown_for_what_fails(served: str) -> None:
    report = check_server(served)
    by = {p.name: p for p in report.probes}
    omit = by["after a tool call: no content key"]
    assert not omit.ok and "HTTP 500" in omit.detail and "has no attribute 'content'" in omit.detail
    assert by['after a tool call: content ""'].ok
    assert by["tool_choice required"].value == "refused"
    assert by["max_tokens"].ok and not by["max_completion_tokens"].ok
    table = report.table()
    assert 'profile: Client(base_url=..., profile="llama.cpp")' in table
    assert "can run agentkit agents: yes" in table


@pytest.mark.parametrize("served", ["ollama"], indirect=True)
def test_cli_table_and_json(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--base-url", served]) == 0
    out = capsys.readouterr().out
    assert "tool_choice required" in out and 'profile="ollama"' in out
    assert main(["--base-url", served, "check", "--json", "--model", "gpt-5.4-mini"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == "ollama" and data["usable"] is True
    named = {p["name"]: p for p in data["probes"]}
    assert named["tool_choice named"]["value"] == "ignored"
    assert named["tool_choice named"]["matters"] is False  # the ollama profile never sends it


@pytest.mark.parametrize("served", ["text-tool-calls"], indirect=True)
def test_changes_are_printed_as_code(served: str) -> None:
    table = check_server(served).table()
    assert (
        'dataclasses.replace(PROFILES["gpt-5.4-mini"], '
        "tool_choices=frozenset({'auto', 'none'}), recover_text_tool_calls=True)"
    ) in table


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_unreachable_server_cannot_run_agents(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    assert main(["check", "--base-url", url]) == 1
    out = capsys.readouterr().out
    assert "NO  models list" in out and "can run agentkit agents: NO" in out


def test_check_needs_a_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "--base-url" in capsys.readouterr().err


def test_a_server_failing_chats_cannot_run_agents_and_the_key_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-check-secret-123"
    monkeypatch.setenv("AGENTKIT_API_KEY", secret)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "m"}]})
        said = f"bad key {request.headers['authorization']}"  # a server echoing the key
        return httpx.Response(500, json={"error": {"message": said}})

    report = check_server("http://x/v1", transport=httpx.MockTransport(handler))
    assert not report.usable
    assert report.model == "m"
    shown = report.table() + json.dumps(report.to_dict())
    assert secret not in shown and "bad key Bearer ***" in shown


def test_a_base_url_query_goes_after_each_endpoint_and_its_key_is_never_shown() -> None:
    from agentkit.emulator import EmulatorTransport

    seen: list[str] = []
    inner = EmulatorTransport()

    class Logged(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return inner.handle_request(request)

    base = "https://gateway.example/v1?api-version=2025-01&key=gw-secret-123"
    report = check_server(base, transport=Logged())
    assert report.usable and report.profile.name == "gpt-5.4-mini"
    assert seen[0] == "https://gateway.example/v1/models?api-version=2025-01&key=gw-secret-123"
    assert all("/v1/chat/completions?api-version" in url for url in seen[1:]), seen
    assert "gw-secret-123" not in report.table() + repr(report) + json.dumps(report.to_dict())
    assert "api-version=2025-01" in report.base_url
