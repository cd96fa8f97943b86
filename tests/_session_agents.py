"""Agents on sessions for the tests: a scripted model that calls a tool once per prompt,
the three store factories, and a child process that runs an agent on a shared database."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agentkit import Agent, tool
from agentkit.client import Client
from agentkit.sessions import SessionStore
from agentkit.testing import ScriptedModel
from agentkit.testing.session_conformance import StoreFactory


@tool
def get_weather(city: str) -> str:
    """The weather of a city.

    Args:
        city: The city.
    """
    return f"{city}: 晴 25°C"


def weather_script(body: dict[str, Any]) -> Any:
    """Answer a user's message with one ``get_weather`` call, a tool result with text."""
    messages = body["messages"]
    last = messages[-1]
    if last["role"] == "tool":
        return f"答: {last['content']}"
    turn = sum(1 for m in messages if m["role"] == "user")
    return {"tool_calls": [{"name": "get_weather", "arguments": {"city": "北京"},
                            "id": f"call_{turn}_{len(messages)}"}]}  # fmt: skip


def weather_agent(model: ScriptedModel | None = None, **options: Any) -> Agent[str]:
    """An agent with ``get_weather`` on ``model`` (by default a fresh weather script)."""
    client = Client(api_key="sk-test", transport=model or ScriptedModel(weather_script))
    tools = options.pop("tools", [get_weather])
    return Agent(instructions="你是天气助手", tools=tools, client=client, **options)


def lose(factory: StoreFactory, store: SessionStore, session_id: str) -> None:
    """Another run takes the session over, as if this one's lease was lost."""
    factory.lose_lease(store, SimpleNamespace(session_id=session_id))  # type: ignore[arg-type]


def child(factory: StoreFactory, body: str, **env: str) -> subprocess.Popen[str]:
    """A Python process with ``store`` open on the factory's database and the helpers of
    this module imported; ``body`` runs there."""
    if factory.child_open is None:
        pytest.skip(f"the {factory.name} store lives in one process")
    here = str(Path(__file__).resolve().parent)
    code = (
        "import os, sys, time\nfrom agentkit.sessions import *\n"
        "from _session_agents import *\n"
        f"store = {factory.child_open}\n" + textwrap.dedent(body)
    )
    path = os.pathsep.join([here, *sys.path])
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env, "PYTHONPATH": path},
    )


def roles(messages: list[dict[str, Any]]) -> list[str]:
    """The roles of ``messages`` in order."""
    return [m["role"] for m in messages]


__all__ = [
    "child",
    "get_weather",
    "lose",
    "roles",
    "weather_agent",
    "weather_script",
]
