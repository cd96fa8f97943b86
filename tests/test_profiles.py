"""Server profiles: the wire shape each one sends, and runs against each server family."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agentkit import AsyncClient, Client
from agentkit.client.request import apply_profile, chat_body
from agentkit.errors import UserError
from agentkit.profiles import DEFAULT_PROFILE, PROFILES, resolve_profile

PNG = "data:image/png;base64,iVBORw0KGgo="
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {}, "strict": True}}


def body(**extra: Any) -> dict[str, Any]:
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "x"}, {"type": "image", "image": PNG}],
        },
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"},
    ]
    return {"model": "m", "messages": messages, **extra}


@pytest.mark.parametrize(
    ("name", "content"),
    [("gpt-5.4-mini", "omit"), ("openai", "omit"), ("llama.cpp", ""), ("vllm", "omit")],
)
def test_assistant_tool_call_content(name: str, content: Any) -> None:
    out = apply_profile(body(), PROFILES[name])
    assistant = out["messages"][1]
    if content == "omit":
        assert "content" not in assistant
    else:
        assert assistant["content"] == content
    null = apply_profile(body(), dataclasses.replace(DEFAULT_PROFILE, assistant_content="null"))
    assert null["messages"][1]["content"] is None


def test_assistant_text_beside_tool_calls_is_kept() -> None:
    b = body()
    b["messages"][1] = {"role": "assistant", "content": "Let me look.", "tool_calls": [CALL]}
    assert apply_profile(b, PROFILES["llama.cpp"])["messages"][1]["content"] == "Let me look."


@pytest.mark.parametrize("name", list(PROFILES))
def test_image_parts_follow_the_profile(name: str) -> None:
    profile = PROFILES[name]
    part = apply_profile(body(), profile)["messages"][0]["content"][1]
    if profile.image_part == "image":
        assert part == {"type": "image", "image": PNG}
    else:
        assert part == {"type": "image_url", "image_url": {"url": PNG}}
    back = dataclasses.replace(profile, image_part="image")
    openai_part = {"type": "image_url", "image_url": {"url": PNG}}
    b = body()
    b["messages"][0]["content"][1] = openai_part
    assert apply_profile(b, back)["messages"][0]["content"][1] == {"type": "image", "image": PNG}


def test_the_body_given_is_not_changed() -> None:
    b = body(max_completion_tokens=5, stream=True)
    before = repr(b)
    apply_profile(b, PROFILES["llama.cpp"])
    assert repr(b) == before


@pytest.mark.parametrize("name", list(PROFILES))
def test_token_limit_name(name: str) -> None:
    out = apply_profile(body(max_completion_tokens=7), PROFILES[name])
    key = PROFILES[name].token_limit
    assert out[key] == 7
    assert {"max_completion_tokens", "max_tokens"} - {key} & set(out) == set()


@pytest.mark.parametrize("name", list(PROFILES))
def test_stream_usage_is_asked_for_streams_only(name: str) -> None:
    profile = PROFILES[name]
    assert profile.stream_usage  # every built-in family reports usage when asked
    assert apply_profile(body(stream=True), profile)["stream_options"] == {"include_usage": True}
    assert "stream_options" not in apply_profile(body(), profile)
    off = dataclasses.replace(profile, stream_usage=False)
    assert "stream_options" not in apply_profile(body(stream=True), off)
    mine = apply_profile(body(stream=True, stream_options={"include_usage": False}), profile)
    assert mine["stream_options"] == {"include_usage": False}  # the caller's own wins


@pytest.mark.parametrize(
    ("name", "choice", "sent"),
    [
        ("gpt-5.4-mini", "required", "required"),
        ("llama.cpp", "required", "auto"),
        ("llama.cpp", {"type": "function", "function": {"name": "f"}}, "named"),
        ("ollama", "required", "auto"),
        ("ollama", {"type": "function", "function": {"name": "f"}}, "auto"),
        ("ollama", "none", "none"),
    ],
)
def test_tool_choice_fallback(name: str, choice: Any, sent: str) -> None:
    out = apply_profile(body(tool_choice=choice), PROFILES[name])
    assert out["tool_choice"] == (choice if sent == "named" else sent)
    dropped = dataclasses.replace(PROFILES[name], tool_choice_fallback=None)
    if sent not in ("named", choice):
        assert "tool_choice" not in apply_profile(body(tool_choice=choice), dropped)


def test_fields_a_profile_refuses() -> None:
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}
    b = body(parallel_tool_calls=True, response_format=schema, tools=[TOOL])
    kept = apply_profile(b, PROFILES["openai"])
    assert kept["parallel_tool_calls"] is True and kept["response_format"] == schema
    assert kept["tools"][0]["function"]["strict"] is True
    llama = apply_profile(b, PROFILES["llama.cpp"])
    assert "parallel_tool_calls" not in llama
    assert "strict" not in llama["tools"][0]["function"]
    no_schema = apply_profile(b, dataclasses.replace(DEFAULT_PROFILE, json_schema=False))
    assert no_schema["response_format"] == {"type": "json_object"}


def test_extra_body_wins_over_the_profile() -> None:
    out = chat_body(
        [{"role": "user", "content": "x"}],
        model="m",
        stream=True,
        kwargs={"extra_body": {"stream_options": {"include_usage": False}}},
        profile=DEFAULT_PROFILE,
    )
    assert out["stream_options"] == {"include_usage": False}


# -- choosing a profile ------------------------------------------------------------------------


def test_resolve_by_name_object_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTKIT_PROFILE", raising=False)
    assert resolve_profile(None) is DEFAULT_PROFILE
    assert resolve_profile("vllm") is PROFILES["vllm"]
    mine = dataclasses.replace(PROFILES["vllm"], name="mine", token_limit="max_tokens")
    assert resolve_profile(mine) is mine
    monkeypatch.setenv("AGENTKIT_PROFILE", "ollama")
    assert resolve_profile(None) is PROFILES["ollama"]
    assert Client(api_key="k").profile is PROFILES["ollama"]
    monkeypatch.setenv("AGENTKIT_PROFILE", "nope")
    with pytest.raises(UserError, match=r"AGENTKIT_PROFILE.*known: gpt-5\.4-mini"):
        Client(api_key="k")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"assistant_content": "none"}, "assistant_content"),
        ({"tool_choices": frozenset({"sometimes"})}, "unknown tool_choices"),
        ({"tool_choices": frozenset({"none"}), "tool_choice_fallback": "auto"}, "fallback"),
        ({"image_part": "png"}, "image_part"),
        ({"token_limit": "max_output_tokens"}, "token_limit"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_profiles_are_refused(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(UserError, match=match):
        dataclasses.replace(DEFAULT_PROFILE, **changes)
    with pytest.raises(UserError, match="Unknown server profile 'llamacpp'"):
        Client(api_key="k", profile="llamacpp")
    with pytest.raises(UserError, match="profile must be"):
        Client(api_key="k", profile=3)  # type: ignore[arg-type]


def test_profiles_are_frozen_and_documented() -> None:
    for profile in PROFILES.values():
        assert profile.description
        with pytest.raises(dataclasses.FrozenInstanceError):
            profile.name = "x"  # type: ignore[misc]
    import agentkit.profiles

    doc = agentkit.profiles.__doc__ or ""
    assert all(f"``{name}``" in doc for name in PROFILES)


def test_client_image_part_and_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTKIT_PROFILE", raising=False)
    png = bytes.fromhex("89504e470d0a1a0a") + b"\0" * 16
    openai = Client(api_key="k", profile="openai")
    assert openai.image_part == "image_url"
    assert openai.user_message("x", [png])["content"][1]["type"] == "image_url"
    explicit = Client(api_key="k", profile="openai", image_part="image")
    assert explicit.image_part == "image" and explicit.profile.image_part == "image"
    assert Client(api_key="k").image_part == "image"
    assert openai.to_async().profile is openai.profile
    assert AsyncClient(api_key="k", profile="vllm").to_sync().profile.name == "vllm"
    assert "profile='openai'" in repr(openai)
