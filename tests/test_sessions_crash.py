"""Crash tests: a process running an agent on a SQLite session dies with ``os._exit`` at
the worst moments; a new process continues the session with a new prompt, and the
emulator's strict validation, served on loopback, accepts the stored history as it is."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _agent_support import assert_valid_history
from _session_agents import child, roles
from test_sessions_conformance import _sqlite

from agentkit._history import INTERRUPTED
from agentkit.emulator import EmulatorServer
from agentkit.sessions import SQLiteStore

# Each child asks for two calls: `first` returns, `second` runs after it (one at a time).
_CHILD = """
from agentkit import Agent, Hooks, tool
from agentkit.client import Client
from agentkit.testing import ScriptedModel

point = os.environ["POINT"]

@tool
def first(city: str) -> str:
    '''The first lookup.

    Args:
        city: The city.
    '''
    return "first done"

@tool
def second(city: str) -> str:
    '''The second lookup.

    Args:
        city: The city.
    '''
    if point == "tool":
        # Die once the first call's result is in the journal (the journal is written as
        # each outcome is collected, which may be after this call has started).
        import sqlite3
        db = sqlite3.connect(os.environ["DB"])
        for _ in range(1000):
            row = db.execute("SELECT journal FROM agentkit_sessions WHERE id = 's'").fetchone()
            if row and row[0] and "first done" in row[0]:
                os._exit(1)
            time.sleep(0.01)
    return "second done"

class Die(Hooks):
    def on_response(self, response):
        if point == "answer" and response.choices[0].message.tool_calls:
            os._exit(1)

if point == "commit":
    from agentkit.sessions import sqlite as backend_module
    real_write = backend_module._SQLiteBackend.write

    def write(self, held, op):
        if op.rows and op.journal is None:  # commit_turn: die inside its transaction
            real_tx = self._tx

            @contextlib.contextmanager
            def tx(begin="BEGIN IMMEDIATE"):
                with real_tx(begin) as conn:
                    yield conn
                    os._exit(1)  # the rows are written, COMMIT never runs

            self._tx = tx
        return real_write(self, held, op)

    backend_module._SQLiteBackend.write = write

model = ScriptedModel([
    {"tool_calls": [{"name": "first", "arguments": {"city": "北京"}, "id": "c1"},
                    {"name": "second", "arguments": {"city": "上海"}, "id": "c2"}]},
    "all done",
])
agent = Agent(tools=[first, second], tool_concurrency=1, hooks=Die(),
              client=Client(api_key="sk-test", transport=model))
agent.run_sync("查询北京和上海的天气", session=store.session("s"))
print("finished")
"""


_PROMPT = {"role": "user", "content": "查询北京和上海的天气"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """The emulator on a loopback port (it rejects a history with an unanswered call)."""
    with EmulatorServer(quirks="openai") as s:
        yield s


def _crash(path: Path, point: str) -> None:
    proc = child(_sqlite(path), "import contextlib\n" + _CHILD, POINT=point, DB=str(path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "finished" not in out, (proc.returncode, out, err)


def _continue(path: Path, base_url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    code = f"""
import json
from agentkit import Agent, tool
from agentkit.client import Client
from agentkit.sessions import SQLiteStore

@tool
def get_weather(city: str) -> str:
    '''查询城市天气。

    Args:
        city: 城市
    '''
    return city + ": 晴"

store = SQLiteStore({str(path)!r})
agent = Agent(tools=[get_weather], client=Client(api_key="k", base_url={base_url!r},
              max_retries=0))
result = agent.run_sync("查询广州天气", session=store.session("s"))
print(json.dumps({{"messages": result.messages, "output": result.output}}))
"""
    import json
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    store = SQLiteStore(path)
    try:
        return store.session("s").messages(), out
    finally:
        store.close()


@pytest.mark.parametrize("point", ["answer", "tool", "commit"])
def test_a_killed_run_leaves_a_session_the_next_process_continues(
    tmp_path: Path, server: EmulatorServer, point: str
) -> None:
    path = tmp_path / "chat.db"
    _crash(path, point)
    store = SQLiteStore(path)
    try:
        # The dead run left its prompt, and no row of the turn it was in (a commit killed
        # inside its transaction wrote nothing); the journal holds what had finished.
        assert store.session("s").messages() == [_PROMPT]
        with store.session("s").lease() as lease:  # free at once: the holder is gone
            lease.load()
            journal = lease.journal()
        finished = {"answer": None, "tool": ["c1"], "commit": ["c1", "c2"]}[point]
        if finished is None:
            assert journal is None
        else:
            assert journal is not None
            assert [m["tool_call_id"] for m in journal[1]] == finished
    finally:
        store.close()
    stored, out = _continue(path, server.base_url)
    assert stored == out["messages"]
    assert_valid_history(stored)
    assert stored[0] == _PROMPT
    assert [m["content"] for m in stored if m["role"] == "user"] == [
        "查询北京和上海的天气",
        "查询广州天气",
    ]
    assert "广州" in out["output"]
    if point == "answer":
        # It died before any tool ran: nothing of the unanswered turn was stored.
        assert roles(stored[:2]) == ["user", "user"]
        return
    # The journaled turn is kept: what ran is in the history, the call that never
    # finished is answered as interrupted, so it is not run again behind the user's back.
    results = {m["tool_call_id"]: m["content"] for m in stored[2:4]}
    assert roles(stored[:5]) == ["user", "assistant", "tool", "tool", "user"]
    assert results["c1"] == "first done"
    assert results["c2"] == ("second done" if point == "commit" else INTERRUPTED)
    store = SQLiteStore(path)
    try:
        with store.session("s").lease() as lease:
            lease.load()
            assert lease.journal() is None  # folded in and cleared with the new prompt
    finally:
        store.close()
