"""Measure what ``@tool`` costs: decorating a 5-parameter tool, and ``Tool.call`` overhead.

Run: ``.venv/bin/python tools/bench_tools.py``. Targets: decoration under 2 ms, call overhead
on valid arguments under 30 µs above calling the function directly.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field

from agentkit.tool import Tool, tool

ARGUMENTS = '{"city": "北京", "days": 3, "unit": "f", "hourly": true, "tags": ["rain", "wind"]}'
KWARGS = {"city": "北京", "days": 3, "unit": "f", "hourly": True, "tags": ["rain", "wind"]}


def forecast(
    city: str,
    days: Annotated[int, Field(ge=1, le=14)],
    unit: Literal["c", "f"] = "c",
    hourly: bool = False,
    tags: list[str] | None = None,
) -> str:
    """Get the weather forecast for a city.

    Args:
        city: The city, e.g. "Beijing".
        days: How many days ahead.
        unit: Temperature unit.
        hourly: Hour-by-hour instead of daily.
        tags: Phenomena to include.
    """
    return city


async def forecast_async(
    city: str,
    days: Annotated[int, Field(ge=1, le=14)],
    unit: Literal["c", "f"] = "c",
    hourly: bool = False,
    tags: list[str] | None = None,
) -> str:
    """Get the weather forecast for a city."""
    return city


def per_call(fn: Callable[[], object], number: int) -> float:
    """Best of 7 repeats of ``number`` calls, in seconds per call."""
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def main() -> None:
    tool(forecast)  # warm up: imports docstring-parser, pydantic's schema machinery
    decorate = [per_call(lambda: tool(forecast), 1) for _ in range(50)]
    decorate_strict = [per_call(lambda: tool(strict=True)(forecast), 1) for _ in range(50)]

    wrapped = tool(forecast)
    direct = per_call(lambda: forecast(**KWARGS), 20000)  # type: ignore[arg-type]
    call_sync = per_call(lambda: wrapped.call_sync(ARGUMENTS), 20000)
    call_sync_dict = per_call(lambda: wrapped.call_sync(KWARGS), 20000)
    validate = per_call(lambda: wrapped.validate_arguments(ARGUMENTS), 20000)

    async_tool = tool(forecast_async)

    async def async_loop(n: int, use_tool: bool) -> float:
        start = time.perf_counter()
        for _ in range(n):
            if use_tool:
                await async_tool.call(ARGUMENTS)
            else:
                await forecast_async(**KWARGS)  # type: ignore[arg-type]
        return (time.perf_counter() - start) / n

    timed = tool(timeout=10)(forecast)  # a timeout: its own daemon thread per call

    async def threaded_loop(sync_tool: Tool[..., str]) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(500):
                await sync_tool.call(ARGUMENTS)
            times.append((time.perf_counter() - start) / 500)
        return min(times)

    async def bench_async() -> tuple[float, float, float, float]:
        direct_async = min([await async_loop(20000, False) for _ in range(5)])
        via_call = min([await async_loop(20000, True) for _ in range(5)])
        return direct_async, via_call, await threaded_loop(wrapped), await threaded_loop(timed)

    direct_async, via_call, threaded, own_thread = asyncio.run(bench_async())

    us = 1e6
    ms = 1e3
    print(f"decorate 5-parameter tool:        median {statistics.median(decorate) * ms:.3f} ms")
    print(
        f"decorate it with strict=True:     median {statistics.median(decorate_strict) * ms:.3f} ms"
    )
    print(f"direct call of the function:      {direct * us:.2f} µs")
    print(f"validate_arguments (JSON text):   {validate * us:.2f} µs")
    print(f"call_sync overhead (JSON text):   {(call_sync - direct) * us:.2f} µs")
    print(f"call_sync overhead (dict):        {(call_sync_dict - direct) * us:.2f} µs")
    print(f"async call overhead, async tool:  {(via_call - direct_async) * us:.2f} µs")
    print(f"async call overhead, sync tool:   {(threaded - direct) * us:.2f} µs (worker thread)")
    print(
        f"  ... with a timeout:             {(own_thread - direct) * us:.2f} µs (own daemon thread)"
    )


if __name__ == "__main__":
    main()
