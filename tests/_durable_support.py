"""Shared helpers of the durable tests: a recording emulator, worker processes, checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentkit.testing import Emulator, EmulatorServer

# The emulator's script for "order SKU<n>": two concurrent calls, one more, then a reply.
SCENARIO = {
    "name": "order",
    "match": {"regex": "order (?P<sku>SKU\\d+)"},
    "rounds": [
        [
            {"name": "check_stock", "arguments": {"sku": "{{ groups.sku }}"}},
            {"name": "check_price", "arguments": {"sku": "{{ groups.sku }}"}},
        ],
        [{"name": "reserve", "arguments": {"sku": "{{ groups.sku }}"}}],
    ],
    "reply": "Reserved {{ groups.sku }}.",
}

APP = Path(__file__).with_name("_durable_app.py")
ROOT = Path(__file__).resolve().parent.parent


class RecordingEmulator(Emulator):
    """The emulator, keeping every chat request body it was sent (from any process)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.chats: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Any:
        if path.rstrip("/").endswith("/chat/completions"):
            with self._lock:
                self.chats.append(json.loads(body))
        return super().handle(method, path, headers, body)

    def requests_for(self, sku: str) -> list[str]:
        """The message lists (as canonical JSON) of the requests about ``sku``."""
        with self._lock:
            return [
                json.dumps(c["messages"], sort_keys=True)
                for c in self.chats
                if sku in json.dumps(c["messages"][:2])
            ]


def serve() -> tuple[RecordingEmulator, EmulatorServer]:
    emulator = RecordingEmulator(scenarios=[SCENARIO])
    return emulator, EmulatorServer(emulator, host="127.0.0.1", port=0).start()


def worker_cmd(db: str, base_url: str, state: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(APP),
        "--db",
        db,
        "--emulator",
        base_url,
        "--state",
        str(state),
        *extra,
    ]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), e.get("PYTHONPATH", "")])
    e["DBOS__CLOUD"] = "false"
    return e


def run_worker(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env())


def tool_runs(state: Path) -> Counter[tuple[str, str]]:
    """How often each (tool, sku) ran, from the tools' own log."""
    log = state / "tools.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter((line.split()[0], line.split()[1]) for line in lines)


def history_problem(messages: list[dict[str, Any]]) -> str | None:
    """What makes ``messages`` an invalid chat history, or ``None``: every tool call is
    answered by a tool message right after its assistant message, in order, and no tool
    message answers nothing."""
    i = 0
    while i < len(messages):
        m = messages[i]
        i += 1
        if m.get("role") == "tool":
            return f"message {i - 1} is a tool result without a call"
        calls = [tc["id"] for tc in m.get("tool_calls") or ()]
        answers = [r.get("tool_call_id") for r in messages[i : i + len(calls)]]
        if answers != calls:
            return f"the calls {calls} of message {i - 1} are answered by {answers}"
        i += len(calls)
    if messages and messages[-1].get("role") != "assistant":
        return "the history does not end with the assistant's answer"
    return None
