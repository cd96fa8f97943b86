"""Breaking out of ``agent.stream()`` cannot starve other runs (issue 17, item 10).

Over a real loopback server (the emulator), on a client with three request slots
(``max_concurrent_requests=3``): a stream left half-read holds a slot and an open response
until it is closed, so three of them used to block every later run for good.
"""

from __future__ import annotations

import asyncio
import time

from agentkit.agent import Agent
from agentkit.agent.streams import AgentStream
from agentkit.client import AsyncClient
from agentkit.events import RunFinished
from agentkit.testing import ScriptedModel, tool_call
from agentkit.tool import tool
from tests._reliability_support import KEY, active_connections, shared_server


def _agent() -> tuple[Agent[str], AsyncClient]:
    client = AsyncClient(KEY, shared_server().base_url, max_retries=0, max_concurrent_requests=3)
    return Agent(client=client), client


async def test_the_async_with_form_closes_each_stream_at_once() -> None:
    agent, client = _agent()
    try:
        for _ in range(3):
            async with agent.stream("Tell me a story.") as events:
                async for _event in events:
                    break  # the first event; the response is still open here
            assert active_connections(client) == []
        result = await asyncio.wait_for(agent.run("And now?"), 10)
        assert result.output
    finally:
        await client.aclose()


async def test_three_abandoned_plain_streams_are_closed_after_idle_timeout() -> None:
    agent, client = _agent()
    held: list[AgentStream] = []
    try:
        for _ in range(3):
            events = agent.stream("Tell me a story.")
            events.idle_timeout = 0.5
            async for _event in events:
                break
            held.append(events)  # kept, not dropped: nothing else would close it
        assert len(active_connections(client)) == 3
        start = time.monotonic()
        result = await asyncio.wait_for(agent.run("And now?"), 10)  # used to wait for ever
        assert result.output and time.monotonic() - start < 5
        for _ in range(50):  # the idle streams' closing tasks finish on their own
            if not active_connections(client):
                break
            await asyncio.sleep(0.05)
        assert active_connections(client) == []
    finally:
        await client.aclose()


async def test_reading_a_stream_to_its_end_needs_no_closing() -> None:
    agent, client = _agent()
    try:
        for _ in range(5):
            events = [e async for e in agent.stream("Hello")]
            assert isinstance(events[-1], RunFinished)
        assert active_connections(client) == []
    finally:
        await client.aclose()


async def test_a_stream_being_read_is_not_idle_while_a_slow_step_runs() -> None:
    # The consumer waits in `async for` while a tool runs longer than idle_timeout: the
    # stream used to close itself (UserError at the next event, and a task failing with
    # "aclose(): asynchronous generator is already running").
    @tool
    async def slow() -> str:
        """Take a while."""
        await asyncio.sleep(0.4)
        return "ok"

    failures: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: failures.append(ctx))
    model = ScriptedModel([tool_call("slow"), "done"])
    agent = Agent(tools=[slow], client=AsyncClient(api_key=KEY, transport=model))
    events = agent.stream("hi")
    events.idle_timeout = 0.1
    async with events:
        kinds = [event.type async for event in events]
    assert kinds[-1] == "run_finished" and "tool_call_result" in kinds
    assert failures == []
