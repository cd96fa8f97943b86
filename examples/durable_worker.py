"""A durable agent worker: consumes a DBOS queue of agent runs; crashes lose no run.

    python examples/durable_worker.py --db sqlite:///runs.sqlite --demo 5   # try it offline
    python examples/durable_worker.py --db postgresql://user@db-host/agents  # a real worker

Start as many workers as you like on one PostgreSQL database: DBOS spreads the queue over
them. ``--demo N`` serves the emulator on loopback, enqueues N runs, prints their answers
and exits. Without ``--demo`` the model comes from the environment (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``) and the worker runs until interrupted; enqueue runs from anywhere with
``DBOSClient(...).enqueue({"queue_name": "agent-runs", "workflow_name": "answer"}, text)``.
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any

from dbos import DBOS

from agentkit import Agent, tool
from agentkit.client import Client
from agentkit.durable import DurableAgent, durable_config


@tool
def get_weather(city: str) -> dict[str, Any]:
    """Get the current weather of a city.

    Args:
        city: The city.
    """
    return {"city": city, "condition": "sunny", "temp_c": 25}


DURABLE: DurableAgent[str] | None = None


@DBOS.workflow(name="answer")
async def answer(question: str) -> str:
    """One agent run: each model call and tool call is a checkpointed step."""
    assert DURABLE is not None
    result = await DURABLE.run(question)
    return result.output


def main() -> None:
    global DURABLE
    p = argparse.ArgumentParser(description="A durable agent worker")
    p.add_argument("--db", default="sqlite:///durable_worker.sqlite")
    p.add_argument("--executor", default=os.environ.get("HOSTNAME", "worker-1"))
    p.add_argument("--demo", type=int, default=0, help="serve the emulator, run N questions")
    args = p.parse_args()
    client = None
    if args.demo:
        from agentkit.testing import EmulatorServer

        server = EmulatorServer(host="127.0.0.1", port=0).start()
        client = Client(base_url=server.base_url, api_key="sk-demo")
    agent = Agent(instructions="Answer briefly.", tools=[get_weather], client=client)
    DURABLE = DurableAgent(agent, name="weather-bot")
    # One version per deploy: DBOS recovers and dequeues only workflows of its version.
    DBOS(config=durable_config("weather", args.db, application_version="2026-05-01",
                               executor_id=args.executor))
    DBOS.launch()
    queue = DBOS.register_queue("agent-runs", worker_concurrency=8)
    try:
        if args.demo:
            handles = [queue.enqueue(answer, f"What is the weather in Paris? ({i})")
                       for i in range(args.demo)]
            for h in handles:
                print(h.get_workflow_id(), "->", h.get_result())
        else:
            threading.Event().wait()  # DBOS's threads consume the queue
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
