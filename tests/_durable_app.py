"""The worker process of the durable crash and scale-out tests (run as a script).

``python tests/_durable_app.py --db URL --emulator URL --state DIR [--kill MODE] run ID Q``
runs one workflow and prints its result as JSON (or, killed, exits with status 1 at the
point ``--kill`` names); relaunched without ``--kill``, DBOS recovers the workflow.
``... worker`` consumes the ``agent-runs`` queue until ``DIR/stop`` exists.

Kill points (each fires once: a marker file in ``DIR`` records that it fired):
``after_model`` after the first model answer was checkpointed, ``in_tool`` inside
``check_stock``, ``between_turns`` after the first tool turn's results were checkpointed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID

from agentkit import Agent, tool
from agentkit.client import AsyncClient
from agentkit.durable import DurableAgent, durable_config
from agentkit.events import Hooks
from agentkit.messages import ChatCompletion, ToolCall

STATE = Path(".")
KILL: str | None = None
DURABLE: DurableAgent[str] | None = None
QUEUE = "agent-runs"


def _log(name: str, sku: str) -> None:
    with (STATE / "tools.log").open("a") as f:
        f.write(f"{name} {sku} {os.getpid()}\n")


def _kill_once(point: str) -> None:
    marker = STATE / f"killed-{point}"
    if point == KILL and not marker.exists():
        marker.write_text("1")
        os._exit(1)


@tool
def check_stock(sku: str) -> dict[str, Any]:
    """How many units of an item are in stock.

    Args:
        sku: The item's SKU.
    """
    _log("check_stock", sku)
    time.sleep(0.05)
    _kill_once("in_tool")
    return {"sku": sku, "stock": 7}


@tool
async def check_price(sku: str) -> dict[str, Any]:
    """The price of an item.

    Args:
        sku: The item's SKU.
    """
    _log("check_price", sku)
    return {"sku": sku, "price": "9.90"}


@tool
def reserve(sku: str) -> str:
    """Reserve one unit of an item.

    Args:
        sku: The item's SKU.
    """
    _log("reserve", sku)
    return f"reserved {sku}"


class KillHooks(Hooks):
    """Kills the process at the hook-visible kill points."""

    def on_response(self, response: ChatCompletion) -> None:
        _kill_once("after_model")

    def on_tool_result(self, call: ToolCall, content: str, is_error: bool) -> None:
        if call.name == "check_price":  # the last result of the first tool turn
            _kill_once("between_turns")


@DBOS.workflow(name="order_run")
async def order_run(question: str) -> dict[str, Any]:
    assert DURABLE is not None
    result = await DURABLE.run(question)
    return {"output": result.output, "messages": result.messages}


@DBOS.workflow(name="order_run_sync")
def order_run_sync(question: str) -> dict[str, Any]:
    assert DURABLE is not None
    result = DURABLE.run_sync(question)
    return {"output": result.output, "messages": result.messages}


def main() -> None:
    global STATE, KILL, DURABLE
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--emulator", required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--kill")
    p.add_argument("--executor", default="worker-1")
    p.add_argument("--sync", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("workflow_id")
    run.add_argument("question")
    sub.add_parser("worker")
    args = p.parse_args()
    STATE, KILL = Path(args.state), args.kill
    client = AsyncClient(base_url=args.emulator, api_key="sk-durable-test", max_retries=0)
    agent = Agent(
        "gpt-5.4-mini", tools=[check_stock, check_price, reserve], client=client, hooks=KillHooks()
    )
    DURABLE = DurableAgent(agent, name="order-bot")
    DBOS(
        config=durable_config(
            "durable-tests",
            args.db,
            application_version="tests-1",
            executor_id=args.executor,
            log_level="WARNING",
            notification_listener_polling_interval_sec=0.05,
        )
    )
    DBOS.launch()
    if args.command == "worker":
        DBOS.register_queue(QUEUE, worker_concurrency=2, polling_interval_sec=0.05)
    try:
        if args.command == "run":
            workflow = order_run_sync if args.sync else order_run
            with SetWorkflowID(args.workflow_id):
                handle = DBOS.start_workflow(workflow, args.question)
            print(json.dumps(handle.get_result()), flush=True)
        else:
            (STATE / f"ready-{args.executor}").write_text("1")
            while not (STATE / "stop").exists():
                time.sleep(0.05)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)
    sys.exit(0)


if __name__ == "__main__":
    main()
