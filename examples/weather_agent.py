"""A weather agent: the provider's documented ``get_weather`` tool, streamed.

Run it::

    python examples/weather_agent.py            # asks 查询北京天气
    python examples/weather_agent.py 上海天气怎么样

With ``AGENTKIT_API_KEY`` set it talks to the real model; without it, to the offline
emulator (it says so on stderr), answering from ``examples/scenarios/``. The weather data
are canned: this shows the tool-calling loop, not a forecast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from agentkit import (
    Agent,
    AsyncClient,
    Client,
    RunFinished,
    TextDelta,
    ToolCallResult,
    ToolCallStarted,
    tool,
)
from agentkit.testing import auto_client

SCENARIOS = Path(__file__).with_name("scenarios")

_WEATHER = {"北京": ("晴", 25), "上海": ("多云", 27), "广州": ("小雨", 30)}


@tool
def get_weather(city: str) -> dict[str, Any]:
    """查询天气信息

    Args:
        city: 城市名称，例如 北京
    """
    condition, temperature = _WEATHER.get(city, ("多云", 20))
    return {"city": city, "condition": condition, "temperature_c": temperature}


def build_agent(client: Client | AsyncClient | None = None) -> Agent[str]:
    """The weather agent; ``client=None`` builds one from the environment on first use."""
    return Agent(
        instructions="你是一个天气助手。需要天气信息时调用 get_weather，然后用一句中文回答。",
        tools=[get_weather],
        client=client,
    )


# For the command line: `agentkit run examples/weather_agent.py:agent "查询北京天气"`.
agent = build_agent()


def main(argv: list[str]) -> None:
    prompt = " ".join(argv) or "查询北京天气"
    weather_agent = build_agent(auto_client(scenarios=SCENARIOS))
    print(f"> {prompt}")
    for event in weather_agent.stream_sync(prompt):
        if isinstance(event, ToolCallStarted):
            print(f"[tool call] {event.name}({event.arguments})")
        elif isinstance(event, ToolCallResult):
            print(f"[tool result] {event.content}")
        elif isinstance(event, TextDelta):
            print(event.text, end="", flush=True)
        elif isinstance(event, RunFinished):
            print()
            usage = event.result.usage
            print(
                f"(requests: {usage.requests}, tool calls: {usage.tool_calls}, "
                f"tokens: {usage.total_tokens})"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
