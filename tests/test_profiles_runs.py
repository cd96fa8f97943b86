"""Runs through each profile against the emulator reproducing its server family, four ways."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent, AsyncClient, Client, UsageLimitExceeded, UsageLimits, tool
from agentkit.emulator import EmulatorTransport
from agentkit.errors import InternalServerError, ToolChoiceIgnoredError
from agentkit.events import TextDelta
from agentkit.profiles import PROFILES, Profile
from tests._agent_support import MODES, run_mode

# each emulator quirk mode and the profile agentkit check recommends for it
PAIRS: list[tuple[str, str | Profile]] = [
    ("agentkit", "gpt-5.4-mini"),
    ("provider-examples", "gpt-5.4-mini"),
    ("openai", "openai"),
    ("llama.cpp", "llama.cpp"),
    ("vllm", "vllm"),
    ("ollama", "ollama"),
    ("litellm", "litellm"),
    ("text-tool-calls", Profile("text-calls", recover_text_tool_calls=True)),
    ("ignores-tool-choice", "gpt-5.4-mini"),
    ("always-usage", "gpt-5.4-mini"),
]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


def _client(quirks: str, profile: str | Profile | None, mode: str) -> tuple[Any, EmulatorTransport]:
    transport = EmulatorTransport(quirks=quirks)
    kind = Client if mode.startswith("sync") else AsyncClient
    return kind(api_key="k", transport=transport, profile=profile, max_retries=0), transport


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("quirks", "profile"), PAIRS, ids=[p[0] for p in PAIRS])
async def test_a_tool_run_with_an_image_works_on_each_family(
    quirks: str, profile: str | Profile, mode: str
) -> None:
    client, transport = _client(quirks, profile, mode)
    agent = Agent(tools=[get_weather], client=client)
    prompt = client.user_message("What is the weather in Paris?", [PNG])
    result, events = await run_mode(agent, mode, prompt)
    assert "sunny in Paris" in result.output
    sent = transport.requests[-1]
    assert sent["messages"][1]["role"] == "assistant"  # the tool turn went back in wire form
    image = sent["messages"][0]["content"][1]
    assert image["type"] == client.profile.image_part
    streamed = mode.endswith("stream")
    if streamed:
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == result.output
    # usage: a streamed run reports it wherever the server sends it when asked
    if quirks == "provider-examples":
        assert result.usage.total_tokens == 0  # the documented examples carry no usage
    else:
        assert result.usage.total_tokens > 0
        assert result.usage.requests == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("quirks", "profile"), PAIRS[:7], ids=[p[0] for p in PAIRS[:7]])
async def test_the_token_limit_counts_on_each_family(quirks: str, profile: str, mode: str) -> None:
    client, transport = _client(quirks, profile, mode)
    agent = Agent(client=client, model_settings={"max_completion_tokens": 2})
    result, _ = await run_mode(agent, mode, "Write a long story about the sea, please.")
    assert any("cut off" in n for n in result.notes)
    assert PROFILES[profile].token_limit in transport.requests[-1]


@pytest.mark.parametrize("mode", ["async_stream", "sync_stream"])
@pytest.mark.parametrize(
    ("quirks", "profile"),
    [p for p in PAIRS if p[0] != "provider-examples"],
    ids=[p[0] for p in PAIRS if p[0] != "provider-examples"],
)
async def test_token_usage_limits_trigger_on_streams(
    quirks: str, profile: str | Profile, mode: str
) -> None:
    client, transport = _client(quirks, profile, mode)
    agent = Agent(
        tools=[get_weather], client=client, usage_limits=UsageLimits(total_tokens_limit=5)
    )
    with pytest.raises(UsageLimitExceeded, match="tokens"):
        await run_mode(agent, mode, "What is the weather in Paris?")
    assert transport.requests[0]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("mode", MODES)
async def test_without_its_profile_llama_cpp_refuses_the_tool_turn(mode: str) -> None:
    client, _ = _client("llama.cpp", "gpt-5.4-mini", mode)
    agent = Agent(tools=[get_weather], client=client)
    with pytest.raises(InternalServerError, match="has no attribute 'content'"):
        await run_mode(agent, mode, "What is the weather in Paris?")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("quirks", ["ignores-tool-choice", "ollama"])
async def test_an_ignored_forced_choice_is_an_error_not_a_success(quirks: str, mode: str) -> None:
    client, transport = _client(quirks, "ollama" if quirks == "ollama" else None, mode)
    agent = Agent(tools=[get_weather], client=client, model_settings={"tool_choice": "required"})
    with pytest.raises(ToolChoiceIgnoredError):
        await run_mode(agent, mode, "Tell me a joke.")
    assert len(transport.requests) == 2
    # the ollama profile does not send a choice the server ignores; the agent still insists
    wire = {r.get("tool_choice") for r in transport.requests}
    assert wire == ({"auto"} if quirks == "ollama" else {"required"})


@pytest.mark.parametrize("mode", MODES)
async def test_llama_cpp_profile_keeps_a_forced_call_working(mode: str) -> None:
    # "required" is a 500 on llama.cpp: the profile sends "auto", and the model calls
    client, transport = _client("llama.cpp", "llama.cpp", mode)
    agent = Agent(tools=[get_weather], client=client, model_settings={"tool_choice": "required"})
    result, _ = await run_mode(agent, mode, "What is the weather in Paris?")
    assert "sunny in Paris" in result.output
    assert transport.requests[0]["tool_choice"] == "auto"
