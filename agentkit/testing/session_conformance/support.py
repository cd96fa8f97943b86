"""Shared by the conformance tests: the backend factory, the store fixture, message helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

import pytest

from agentkit._record import record
from agentkit.messages import Message
from agentkit.sessions import (
    AsyncLease,
    Lease,
    SessionStore,
)

__all__ = ["StoreFactory", "store"]


@record
class StoreFactory:
    """How the suite reaches one fresh database of a backend.

    Attributes:
        name: The backend's name (for messages).
        open: Opens a new store on the database (each call a new store, same data).
        child_open: A Python expression opening the same database in another process
            (``from agentkit.sessions import *`` is in scope), or ``None`` when the store
            cannot be shared between processes (the memory store).
        lose_lease: Makes another run take the session of a held lease over, as if the
            lease had been lost (for the database stores: as a real server would).
    """

    name: str
    open: Callable[[], SessionStore]
    child_open: str | None
    lose_lease: Callable[[SessionStore, Lease | AsyncLease], None]


@pytest.fixture
def store(session_store_factory: StoreFactory) -> Iterator[SessionStore]:
    """A store on a fresh database, closed after the test."""
    s = session_store_factory.open()
    yield s
    s.close()


def _user(text: str) -> Message:
    return {"role": "user", "content": text}


def _tool_turn(call_id: str, result: str = "ok") -> list[Message]:
    call = {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def _has_no_orphan(history: list[Message]) -> bool:
    open_ids: set[str] = set()
    for m in history:
        if m["role"] == "tool":
            if m["tool_call_id"] not in open_ids:
                return False
            open_ids.discard(m["tool_call_id"])
        else:
            if open_ids:
                return False
            open_ids = {c["id"] for c in m.get("tool_calls") or ()}
    return not open_ids


def _child(factory: StoreFactory, body: str, worker: str = "") -> subprocess.Popen[str]:
    if factory.child_open is None:
        pytest.skip(f"the {factory.name} store lives in one process")
    code = "import sys, time\nfrom agentkit.sessions import *\n"
    code += f"store = {factory.child_open}\n" + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "WORKER": worker}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
