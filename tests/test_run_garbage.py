"""A finished run frees its state at once: no reference cycle keeps it for the collector.

Long-lived services run many agents in one process; a run whose state sits in cyclic
garbage holds its whole history until a full collection, which may be rare.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest
from _session_agents import get_weather, weather_agent, weather_script

from agentkit import Agent
from agentkit.agent.state import RunState
from agentkit.client import AsyncClient
from agentkit.events import RunFinished
from agentkit.testing import ScriptedModel


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _states(garbage: list[object]) -> list[object]:
    gc.collect()
    return [o for o in garbage if isinstance(o, RunState)]


def _async_weather_agent() -> Agent[str]:
    client = AsyncClient(api_key="sk-test", transport=ScriptedModel(weather_script))
    return Agent(tools=[get_weather], client=client)


def _run_sync() -> None:
    assert weather_agent().run_sync("查询北京天气").output.startswith("答")


def _stream_sync() -> None:
    with weather_agent().stream_sync("查询北京天气") as events:
        assert any(isinstance(e, RunFinished) for e in events)


def _run_async() -> None:
    async def main() -> None:
        result = await _async_weather_agent().run("查询北京天气")
        assert result.output.startswith("答")

    asyncio.run(main())


def _stream_async() -> None:
    async def main() -> None:
        async with _async_weather_agent().stream("查询北京天气") as events:
            assert [e async for e in events if isinstance(e, RunFinished)]

    asyncio.run(main())


@pytest.mark.parametrize("run", [_run_sync, _stream_sync, _run_async, _stream_async])
def test_a_finished_run_leaves_no_state_in_cyclic_garbage(
    saved_garbage: list[object], run: Callable[[], None]
) -> None:
    run()
    assert _states(saved_garbage) == []
