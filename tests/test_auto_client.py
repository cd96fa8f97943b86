"""``auto_client``: the real API when a key is set, else the in-process emulator (announced)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agentkit import AsyncClient, Client, UserError
from agentkit.testing import auto_async_client, auto_client
from agentkit.testing._auto import EMULATOR_BASE_URL, OFFLINE_NOTICE


def test_without_a_key_it_uses_the_emulator_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = auto_client()
    assert isinstance(client, Client)
    assert client.base_url == EMULATOR_BASE_URL
    assert capsys.readouterr().err == OFFLINE_NOTICE + "\n"
    with client:
        assert [m.id for m in client.list_models()] == ["gpt-5.4-mini"]
        answer = client.create([{"role": "user", "content": "你好"}])
    assert "模拟器" in (answer.message.content or "")  # the built-in scenario, honest about it


def test_quiet_and_custom_stream(capsys: pytest.CaptureFixture[str]) -> None:
    auto_client(quiet=True).close()
    sink = io.StringIO()
    auto_client(stream=sink).close()
    assert capsys.readouterr().err == ""
    assert sink.getvalue() == OFFLINE_NOTICE + "\n"


def test_with_a_key_it_uses_the_real_api(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_API_KEY", "sk-real")
    monkeypatch.setenv("AGENTKIT_BASE_URL", "https://example.invalid/v1")
    client = auto_client(model="m-1")
    assert client.base_url == "https://example.invalid/v1"
    assert client.model == "m-1"
    assert capsys.readouterr().err == ""
    assert "sk-real" not in repr(client)
    client.close()
    explicit = auto_client(base_url="https://other.invalid/v1")
    assert explicit.base_url == "https://other.invalid/v1"
    explicit.close()


def test_forcing_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="AGENTKIT_API_KEY"):
        auto_client(use_emulator=False)
    real = auto_client(use_emulator=False, api_key="sk-explicit")
    assert real.base_url != EMULATOR_BASE_URL
    real.close()
    monkeypatch.setenv("AGENTKIT_API_KEY", "sk-real")
    forced = auto_client(use_emulator=True, quiet=True)
    assert forced.base_url == EMULATOR_BASE_URL
    forced.close()


def test_scenarios_come_before_the_builtin_ones(tmp_path: Path) -> None:
    (tmp_path / "hello.json").write_text(
        '{"match": {"regex": "^你好$"}, "reply": "scripted hello"}', encoding="utf-8"
    )
    with auto_client(scenarios=tmp_path, quiet=True) as client:
        answer = client.create([{"role": "user", "content": "你好"}])
    assert answer.message.content == "scripted hello"
    with pytest.raises(UserError, match="does not exist"):
        auto_client(scenarios=tmp_path / "missing.json", quiet=True)


def test_emulator_options_pass_through() -> None:
    with auto_client(quiet=True, models=("model-a", "model-b")) as client:
        assert [m.id for m in client.list_models()] == ["model-a", "model-b"]


async def test_async_twin() -> None:
    client = auto_async_client(quiet=True)
    assert isinstance(client, AsyncClient)
    async with client:
        models = await client.list_models()
    assert [m.id for m in models] == ["gpt-5.4-mini"]
