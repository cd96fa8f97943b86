"""The emulator moved to agentkit.emulator; every old import path keeps working."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import agentkit.emulator as emulator
import agentkit.testing as testing
from agentkit import _demo
from agentkit.emulator import EmulatorServer, EmulatorTransport
from agentkit.emulator.auto import auto_client

# the public names of agentkit.testing as the README of the previous release documented them
OLD_NAMES = [
    "FAULT_HEADER",
    "FAULT_KINDS",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "Fault",
    "FaultSpecError",
    "Reply",
    "ReplyTransport",
    "Scenario",
    "ScriptedModel",
    "ScriptedResponse",
    "auto_async_client",
    "auto_client",
    "builtin_scenarios",
    "load_scenarios",
    "parse_faults",
    "serve",
    "tool_call",
]
OLD_MODULES = {
    "agentkit.testing.emulator": ["Emulator", "FAULT_HEADER"],
    "agentkit.testing.server": ["EmulatorServer", "serve"],
    "agentkit.testing.transport": ["EmulatorTransport", "ReplyTransport"],
    "agentkit.testing._auto": ["auto_client", "auto_async_client", "EMULATOR_BASE_URL"],
}


@pytest.mark.parametrize("name", OLD_NAMES)
def test_old_name_still_imports_from_agentkit_testing(name: str) -> None:
    value = getattr(testing, name)
    assert name in testing.__all__
    if hasattr(emulator, name):
        assert value is getattr(emulator, name)  # the same object, not a copy


@pytest.mark.parametrize("module", sorted(OLD_MODULES))
def test_old_module_paths_still_import(module: str) -> None:
    loaded = importlib.import_module(module)
    for name in OLD_MODULES[module]:
        assert getattr(loaded, name) is getattr(emulator, name)


def test_every_public_name_is_listed_and_documented() -> None:
    assert sorted(emulator.__all__) == sorted(set(emulator.__all__))
    for name in emulator.__all__:
        value = getattr(emulator, name)
        if callable(value):
            assert value.__doc__ and value.__doc__.strip(), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = emulator.nope  # type: ignore[attr-defined]


def test_importing_the_packages_is_free() -> None:
    code = (
        "import sys, agentkit.emulator, agentkit.testing; "
        "print(','.join(m for m in ('jinja2', 'uvicorn', 'agentkit.emulator.core') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_demo_answers_the_same_in_process_and_over_http() -> None:
    from agentkit import Client
    from agentkit.emulator.scenarios import example_scenarios

    assert [s.name for s in example_scenarios()] == [_demo.DEMO_SCENARIO["name"]]
    in_process = auto_client(quiet=True, use_emulator=True, scenarios=[_demo.DEMO_SCENARIO])
    # what `agentkit emulator` serves: the packaged and example scenarios
    from agentkit.emulator import Emulator, builtin_scenarios

    served = Emulator(scenarios=[*builtin_scenarios(), *example_scenarios()])
    with EmulatorServer(served) as server:
        over_http = Client(api_key="k", base_url=server.base_url)
        outputs = []
        for client in (in_process, over_http):
            with client:
                result = _demo.build_agent(client).run_sync("查询上海天气")
            outputs.append(result.output)
            calls = [m for m in result.messages if m.get("tool_calls")]
            assert json.loads(calls[0]["tool_calls"][0]["function"]["arguments"]) == {
                "city": "上海"
            }
    assert outputs[0] == outputs[1] == "上海今天多云，气温 27°C（agentkit 演示数据）。"


def test_demo_scenario_needs_its_tool() -> None:
    transport = EmulatorTransport(scenarios=[_demo.DEMO_SCENARIO])
    import httpx

    with httpx.Client(
        transport=transport, base_url="http://e/v1", headers={"Authorization": "Bearer k"}
    ) as http:
        body = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "北京天气"}]}
        answer = http.post("/chat/completions", json=body).json()
    assert "模拟器" in answer["choices"][0]["message"]["content"]  # the generic reply


def test_cli_emulator_takes_quirks_and_the_demo_scenario(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentkit.cli import main

    served: list[emulator.Emulator] = []
    monkeypatch.setattr(emulator, "serve", lambda *a, emulator, **k: served.append(emulator))
    assert main(["emulator", "--quirks", "llama.cpp", "--port", "8123"]) == 0
    assert served[0].quirks.name == "llama.cpp"
    assert served[0].record_requests is False
    assert _demo.DEMO_SCENARIO["name"] in [s.name for s in served[0].scenarios]
    assert main(["emulator", "--quirks", "lmstudio"]) == 2
    assert "known: agentkit, provider-examples, openai, llama.cpp" in capsys.readouterr().err
