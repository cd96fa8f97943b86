"""A second process of the approval tests (run as a script; prints one JSON line).

``python tests/_approval_child.py COMMAND JSON`` where ``JSON`` holds the options:

- ``pause``: run the refund prompt on a SQLite session (``db``, ``session``) and stop at
  the approval; prints the requests.
- ``resume``: resume a run: from ``state`` (a ``PausedRun`` JSON text, verified with
  ``secret`` when given) or from the session; ``decisions`` in their JSON form.
- ``crash``: run a turn whose ``kill`` tool calls ``os._exit(1)`` halfway.
- ``recover``: ``resume_sync(session=...)`` after a crash, with ``decisions`` if any.

With ``"async": true`` it resumes with ``await agent.resume(...)`` on an ``AsyncClient``.

The model is a ScriptedModel (``script``: its responses) or the emulator served at
``emulator`` (a base URL). Every tool run is appended to ``log`` as ``name pid``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from decimal import Decimal
from typing import Any

from agentkit import Agent, PausedRun, tool
from agentkit.client import AsyncClient, Client
from agentkit.sessions import SQLiteStore
from agentkit.testing import ScriptedModel

OPTIONS: dict[str, Any] = {}


def _log(name: str) -> None:
    with open(OPTIONS["log"], "a", encoding="utf-8") as f:
        f.write(f"{name} {os.getpid()}\n")


def _maybe_die(name: str) -> None:
    if OPTIONS.get("kill") == name:
        time.sleep(0.3)  # the other calls of the turn finish and are journaled first
        os._exit(1)


@tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """查询订单。

    Args:
        order_id: 订单号
    """
    _log("lookup_order")
    _maybe_die("lookup_order")
    return {"order_id": order_id, "paid": "50.00"}


def refund(order_id: str, amount: Decimal) -> str:
    """给订单退款。

    Args:
        order_id: 订单号, 例如 ORD1
        amount: 金额(元)
    """
    _log("refund")
    _maybe_die("refund")
    return f"refunded {amount} to {order_id}"


def tools(needs_approval: bool = True, idempotent: bool = True) -> list[Any]:
    """The refund bot's tools (the same in every process: the same fingerprint)."""
    wrapped = tool(needs_approval=needs_approval, idempotent=idempotent)(refund)
    return [lookup_order, wrapped]


def _agent() -> tuple[Agent[str], ScriptedModel | None]:
    cls = AsyncClient if OPTIONS.get("async") else Client
    model = None
    if "emulator" in OPTIONS:
        client = cls("sk-child", OPTIONS["emulator"], max_retries=0)
    else:
        model = ScriptedModel(OPTIONS.get("script", []))
        client = cls("sk-child", transport=model, max_retries=0)
    found = tools(OPTIONS.get("needs_approval", True), OPTIONS.get("idempotent", True))
    return Agent(tools=found, client=client), model


def _report(result: Any, model: ScriptedModel | None, session: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "paused": result.paused,
        "output": result.output,
        "approvals": [r.to_dict() for r in result.approvals],
        "messages": result.messages,
        "notes": result.notes,
    }
    if model is not None:
        out["requests"] = model.requests
    if session is not None:
        out["stored"] = session.messages()
        out["pause"] = session.pause()
    return out


def main(command: str) -> dict[str, Any]:
    agent, model = _agent()
    session = None
    if "db" in OPTIONS:
        session = SQLiteStore(OPTIONS["db"]).session(OPTIONS["session"])
    if command in ("pause", "crash"):
        result = agent.run_sync(OPTIONS["prompt"], session=session)
        return _report(result, model, session)
    decisions = OPTIONS.get("decisions")
    paused = None
    if command == "resume" and "state" in OPTIONS:
        paused = PausedRun.from_json(OPTIONS["state"], secret=OPTIONS.get("secret"))
        session = None
    if OPTIONS.get("async"):
        result = asyncio.run(agent.resume(paused, decisions, session=session))
    else:
        result = agent.resume_sync(paused, decisions, session=session)
    return _report(result, model, session)


if __name__ == "__main__":
    OPTIONS.update(json.loads(sys.argv[2]))
    print(json.dumps(main(sys.argv[1]), ensure_ascii=False))
