"""Load test of chat_app: N concurrent streaming clients over uvicorn on loopback.

    python tools/web_load.py --clients 200               # a SQLiteStore in a temp file
    python tools/web_load.py --clients 200 --store memory

Serves the weather agent (offline emulator) with ``chat_app`` on a free loopback port, opens
N streams at once, each on its own session, and reports errors, wall time, streams/s and
the latency to the first frame and to the end (p50/p95/max). Afterwards every session must
hold its whole conversation (user, tool call, tool result, answer) in the store.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "examples")]

from _web_support import Served  # noqa: E402
from weather_agent import SCENARIOS, build_agent  # noqa: E402

from agentkit.sessions import MemoryStore, SQLiteStore  # noqa: E402
from agentkit.testing import auto_async_client  # noqa: E402
from agentkit.web import chat_app  # noqa: E402


async def one(client: httpx.AsyncClient, n: int) -> tuple[float, float]:
    start = time.perf_counter()
    first = 0.0
    body = {"session_id": f"load-{n}", "message": "查询北京天气"}
    async with client.stream("POST", "/chat/stream", json=body) as r:
        r.raise_for_status()
        text = ""
        async for chunk in r.aiter_text():
            first = first or time.perf_counter() - start
            text += chunk
    if "run_finished" not in text or "北京今天晴" not in text:
        raise RuntimeError(f"stream {n} ended without its answer")
    return first, time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def check_stored(store: Any, clients: int) -> list[str]:
    """The sessions whose stored history is not the whole weather turn."""
    want = ["user", "assistant", "tool", "assistant"]
    return [
        f"load-{n}"
        for n in range(clients)
        if [m["role"] for m in store.session(f"load-{n}").messages()] != want
    ]


async def main(clients: int, store_kind: str) -> int:
    agent = build_agent(auto_async_client(scenarios=SCENARIOS, quiet=True))
    folder = tempfile.TemporaryDirectory()
    store: Any = MemoryStore() if store_kind == "memory" else SQLiteStore(f"{folder.name}/l.db")
    with Served(chat_app(agent, store)) as served:
        limits = httpx.Limits(max_connections=clients + 10)
        async with httpx.AsyncClient(base_url=served.url, limits=limits, timeout=120) as client:
            start = time.perf_counter()
            results = await asyncio.gather(
                *(one(client, n) for n in range(clients)), return_exceptions=True
            )
            wall = time.perf_counter() - start
    ok = [r for r in results if isinstance(r, tuple)]
    errors = [r for r in results if not isinstance(r, tuple)]
    bad = check_stored(store, clients)
    store.close()
    folder.cleanup()
    firsts, totals = [f for f, _ in ok], [t for _, t in ok]
    print(
        f"store {store_kind}  clients {clients}  ok {len(ok)}  errors {len(errors)}  "
        f"wall {wall:.2f}s  streams/s {len(ok) / wall:.1f}  bad histories {len(bad)}"
    )
    if ok:
        print(
            f"first frame ms p50 {pct(firsts, 0.5):.0f} p95 {pct(firsts, 0.95):.0f}  "
            f"end ms p50 {pct(totals, 0.5):.0f} p95 {pct(totals, 0.95):.0f} "
            f"max {max(totals) * 1000:.0f} (mean {statistics.mean(totals) * 1000:.0f})"
        )
    for e in errors[:5]:
        print("error:", type(e).__name__, e)
    for name in bad[:5]:
        print("incomplete history:", name)
    return 1 if errors or bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    options = parser.parse_args()
    sys.exit(asyncio.run(main(options.clients, options.store)))
