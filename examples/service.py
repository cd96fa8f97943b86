"""A weather and refund agent as a web service: ``chat_app`` brings the API, the streams
and a page; refunds wait for a person's approval, given in a second HTTP request.

Endpoints (see ``agentkit.web.app``): ``GET /`` a chat page; ``POST /chat`` with
``{"session_id": "...", "message": "..."}`` -> the run's result; ``POST /chat/stream`` the
same as server-sent events (agentkit's events, the AI SDK's UI message stream, or AG-UI);
``GET /sessions/{id}`` the conversation so far and its pending approvals;
``POST /sessions/{id}/approve`` decisions for a run paused before a tool that needs
approval.

Run it (``pip install 'agentkit-lean[web]'``)::

    python examples/service.py                   # http://127.0.0.1:8000
    curl -N localhost:8000/chat/stream -d '{"session_id": "u1", "message": "查询北京天气"}'

Approval over HTTP: the first request stops before ``refund`` and returns the pending
call; the second approves (or rejects) it by its ``tool_call_id`` and the run goes on::

    curl localhost:8000/chat -d '{"session_id": "u2", "message": "给订单 ORD1 退款 50 元"}'
    # -> {"paused": true, "approvals": [{"tool_call_id": "call_…", "tool_name": "refund",
    #     "arguments": {"order_id": "ORD1", "amount": "50"}}], "output": null, ...}
    curl localhost:8000/sessions/u2/approve \
         -d '{"decisions": {"call_…": {"approve": true}}}'
    # -> {"paused": false, "output": "已给订单 ORD1 退款 50 元。", ...}
    # or {"decisions": {"call_…": {"approve": false, "reason": "超出退款上限"}}}

Each user's conversation (``session_id``), and a paused run, lives in a session store: run
as a script, a SQLite file (``SERVICE_DB``, default ``service-chat.db``) that keeps it
across restarts and lets several worker processes share it; use ``PostgresStore(dsn)`` for
several machines. ``create_app()`` alone keeps them in a ``MemoryStore``. The paused run
stays on the server, so the browser never holds a state it could edit. Offline (no
``AGENTKIT_API_KEY``) the agent runs on the emulator.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from weather_agent import SCENARIOS, get_weather

from agentkit import Agent, AsyncClient, Client, tool
from agentkit.sessions import MemoryStore, SessionStore, SQLiteStore
from agentkit.testing import auto_client
from agentkit.web import chat_app

# The emulator's script for "给订单 ORD1 退款 50 元" (tried before the example scenarios).
REFUND_SCENARIO = {
    "name": "refund",
    "match": {"regex": "(?P<order_id>ORD\\d+)\\s*退款\\s*(?P<amount>\\d+(?:\\.\\d+)?)\\s*元"},
    "tool_calls": [
        {
            "name": "refund",
            "arguments": {"order_id": "{{ groups.order_id }}", "amount": "{{ groups.amount }}"},
        }
    ],
    "reply": "{{ result }}",
}


@tool(needs_approval=True)
def refund(order_id: str, amount: Decimal) -> str:
    """给订单退款(需要人工批准)

    Args:
        order_id: 订单号，例如 ORD1
        amount: 退款金额(元)
    """
    # A real refund would pass ctx.tool_call_id to the payment API as its idempotency key.
    return f"已给订单 {order_id} 退款 {amount} 元。"


def build_agent(client: Client | AsyncClient | None = None) -> Agent[str]:
    """The service's agent: weather, and refunds that a person approves."""
    return Agent(
        instructions=(
            "你是一个客服助手。需要天气信息时调用 get_weather；用户要求退款时调用 refund。"
            "然后用一句中文回答。"
        ),
        tools=[get_weather, refund],
        client=client,
    )


def create_app(agent: Agent[str] | None = None, store: SessionStore | None = None) -> Any:
    """The ASGI app; by default around ``build_agent``, each user's conversation in
    ``store`` (a ``MemoryStore`` by default). ``SERVICE_TOKEN`` guards the API."""
    if agent is None:
        agent = build_agent(auto_client(scenarios=[REFUND_SCENARIO, SCENARIOS]))
    sessions = store if store is not None else MemoryStore()
    return chat_app(agent, store=sessions, api_key=os.environ.get("SERVICE_TOKEN"))


if __name__ == "__main__":
    import uvicorn

    store = SQLiteStore(os.environ.get("SERVICE_DB", "service-chat.db"))
    uvicorn.run(create_app(store=store), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
