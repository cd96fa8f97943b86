"""The two processes of the durable approval test (run as a script).

``python tests/_approval_durable_app.py run DB WORKFLOW_ID DIR [--async]`` starts the refund
workflow on a scripted model, writes ``DIR/waiting`` (the workflow's steps so far, JSON) once
the paused run waits for its decisions, then prints the workflow's result as JSON.
``... approve DB WORKFLOW_ID DIR DECISIONS_JSON`` sends decisions with
``DurableAgent.approve`` from a process of its own (another DBOS executor id, so it
recovers nothing of the first one's).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from _approval_child import tools
from dbos import DBOS, SetWorkflowID

from agentkit import Agent
from agentkit.client import AsyncClient, Client
from agentkit.durable import DurableAgent, durable_config
from agentkit.testing import ScriptedModel

REFUND = {"id": "c_refund", "name": "refund", "arguments": {"order_id": "ORD1", "amount": 50}}
LOOKUP = {"id": "c_lookup", "name": "lookup_order", "arguments": {"order_id": "ORD1"}}
MODEL = ScriptedModel([{"tool_calls": [LOOKUP, REFUND]}, "已退款 50 元。"])
ASYNC = "--async" in sys.argv
_cls = AsyncClient if ASYNC else Client
DURABLE = DurableAgent(
    Agent(tools=tools(), client=_cls("sk-durable", transport=MODEL, max_retries=0)),
    name="refund-bot",
)


def _report(result: Any) -> dict[str, Any]:
    return {"output": result.output, "messages": result.messages, "requests": len(MODEL.requests)}


@DBOS.workflow(name="refund_run")
async def refund_run(prompt: str) -> dict[str, Any]:
    return _report(await DURABLE.run(prompt))


@DBOS.workflow(name="refund_run_sync")
def refund_run_sync(prompt: str) -> dict[str, Any]:
    return _report(DURABLE.run_sync(prompt))


def _wait_for_recv(workflow_id: str, out: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        steps = DBOS.list_workflow_steps(workflow_id)
        names = [s["function_name"] for s in steps]
        # recv checkpoints its timeout as a DBOS.sleep step before it waits.
        if any(n in ("DBOS.sleep", "DBOS.recv") for n in names):
            out.write_text(json.dumps({"steps": names, "requests": len(MODEL.requests)}))
            return
        time.sleep(0.05)
    raise TimeoutError("the workflow never waited for decisions")


def main(command: str, db: str, workflow_id: str, directory: str, *rest: str) -> None:
    import _approval_child

    _approval_child.OPTIONS["log"] = str(Path(directory) / "tools.log")
    config = durable_config(
        "approval-tests",
        db,
        application_version="approval-1",
        executor_id="worker-a" if command == "run" else "approver",
        log_level="WARNING",
        notification_listener_polling_interval_sec=0.05,
    )
    DBOS(config=config)
    DBOS.launch()
    try:
        if command == "approve":
            DURABLE.approve(workflow_id, json.loads(rest[0]))
            return
        workflow: Any = refund_run if ASYNC else refund_run_sync
        with SetWorkflowID(workflow_id):
            handle = DBOS.start_workflow(workflow, "给订单 ORD1 退款 50 元")
        _wait_for_recv(workflow_id, Path(directory) / "waiting")
        result = handle.get_result()
        print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)


if __name__ == "__main__":
    main(*[a for a in sys.argv[1:] if a != "--async"])
