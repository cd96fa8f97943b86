"""The weather agent as a web service: ``chat_app`` brings the API, the streams and a page.

Endpoints (see ``agentkit.web.app``): ``GET /`` a chat page; ``POST /chat`` with
``{"session_id": "...", "message": "..."}`` -> the run's result; ``POST /chat/stream`` the
same as server-sent events (agentkit's events, the AI SDK's UI message stream, or AG-UI);
``GET /sessions/{id}`` the conversation so far; ``POST /sessions/{id}/approve`` decisions
for a run paused before a tool that needs approval.

Run it (``pip install 'agentkit-lean[web]'``)::

    python examples/service.py                   # http://127.0.0.1:8000
    curl -N localhost:8000/chat/stream -d '{"session_id": "u1", "message": "查询北京天气"}'

Each user's conversation (``session_id``) lives in a session store: run as a script, a
SQLite file (``SERVICE_DB``, default ``service-chat.db``) that keeps it across restarts and
lets several worker processes share it; use ``PostgresStore(dsn)`` for several machines.
``create_app()`` alone keeps them in a ``MemoryStore``. Offline (no ``AGENTKIT_API_KEY``)
the agent runs on the emulator.
"""

from __future__ import annotations

import os
from typing import Any

from weather_agent import SCENARIOS, build_agent

from agentkit import Agent
from agentkit.sessions import MemoryStore, SessionStore, SQLiteStore
from agentkit.testing import auto_client
from agentkit.web import chat_app


def create_app(agent: Agent[str] | None = None, store: SessionStore | None = None) -> Any:
    """The ASGI app; by default around the weather agent, each user's conversation in
    ``store`` (a ``MemoryStore`` by default). ``SERVICE_TOKEN`` guards the API."""
    shared = agent if agent is not None else build_agent(auto_client(scenarios=SCENARIOS))
    sessions = store if store is not None else MemoryStore()
    return chat_app(shared, store=sessions, api_key=os.environ.get("SERVICE_TOKEN"))


if __name__ == "__main__":
    import uvicorn

    store = SQLiteStore(os.environ.get("SERVICE_DB", "service-chat.db"))
    uvicorn.run(create_app(store=store), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
