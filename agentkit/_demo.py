"""The weather agent behind ``agentkit demo``: the provider's documented ``get_weather``.

It lives in the package (``examples/`` is not installed) and reports canned demo data, not
a real forecast, so the demo runs the same everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentkit.agent import Agent
from agentkit.client import AsyncClient, Client
from agentkit.tool import tool

__all__ = ["DEMO_PROMPT", "DEMO_SCENARIO", "DEMO_SCENARIO_FILE", "build_agent", "get_weather"]

DEMO_PROMPT = "查询北京天气"

_DEMO_WEATHER: dict[str, tuple[str, int]] = {
    "北京": ("晴", 25),
    "上海": ("多云", 27),
    "广州": ("小雨", 30),
    "深圳": ("阵雨", 29),
}

# The emulator's answer for weather questions: call get_weather, then phrase its result. It
# is a packaged data file, so `agentkit emulator` serves the same exchange over HTTP.
DEMO_SCENARIO_FILE = Path(__file__).parent / "emulator" / "data" / "examples" / "demo_weather.json"
DEMO_SCENARIO: dict[str, Any] = json.loads(DEMO_SCENARIO_FILE.read_text(encoding="utf-8"))


@tool
def get_weather(city: str) -> dict[str, Any]:
    """查询天气信息

    Args:
        city: 城市名称，例如 北京
    """
    condition, temperature = _DEMO_WEATHER.get(city, ("多云", 20))
    return {
        "city": city,
        "condition": condition,
        "temperature_c": temperature,
        "source": "agentkit 演示数据",
    }


def build_agent(client: Client | AsyncClient | None = None) -> Agent[str]:
    """The demo's weather agent on ``client``."""
    return Agent(
        instructions="你是一个天气助手。需要天气信息时调用 get_weather，然后用一句中文回答。",
        tools=[get_weather],
        client=client,
    )
