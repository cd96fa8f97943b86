"""Session benchmarks: the CPU a session adds to an agent run, and throughput.

1. ``overhead``: the same agent run (one tool turn, offline ``ScriptedModel``, sync)
   repeated on a growing conversation, once with ``history=`` carried by the caller and once
   with ``session=`` on SQLite (a file on disk, WAL); CPU time per run (``process_time``),
   and the session's extra cost in percent (the target: at most 10 %). The two kinds of
   measure alternate, each after a full collection, the first of the process left out.
2. ``agents``: agent runs/s with 200 concurrent sessions (async runs, offline model) on
   SQLite and on PostgreSQL (a throwaway cluster).
3. Store level, as before:

Each session runs ROUNDS runs; a run takes the lease, loads the history, appends the user
message, journals a tool turn, commits it, appends the answer (4 writes, TURNS tool turns).
Prints runs/s and the latency of one committed tool turn (p50/p95) for SQLite (a file on
disk, WAL, synchronous FULL and NORMAL) and for PostgreSQL (a throwaway cluster, fsync on).

    PYTHONPATH=. python tools/bench_sessions.py [--sessions 200] [--rounds 3] [--turns 2]
        [--runs 300] [--only overhead|agents|stores]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _postgres import Cluster, find_bindir
from _session_agents import weather_agent, weather_script

from agentkit.sessions import PostgresStore, SessionStore, SQLiteStore
from agentkit.testing import ScriptedModel


def _turn(i: str) -> list[dict[str, object]]:
    call = {"id": i, "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    return [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": i, "content": '{"city":"北京","temperature_c":25}'},
    ]


async def _session(store: SessionStore, n: int, rounds: int, turns: int, lat: list[float]) -> None:
    s = store.session(f"bench-{n}")
    for r in range(rounds):
        async with s.alease() as lease:
            await lease.load()
            await lease.append([{"role": "user", "content": f"查询北京天气 {r}"}])
            for t in range(turns):
                start = time.perf_counter()
                msgs = _turn(f"c{n}-{r}-{t}")
                await lease.begin_turn(msgs[0])
                await lease.commit_turn(msgs)
                lat.append(time.perf_counter() - start)
            await lease.append([{"role": "assistant", "content": "晴，25°C"}])


async def _bench(store: SessionStore, sessions: int, rounds: int, turns: int) -> str:
    lat: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_session(store, n, rounds, turns, lat) for n in range(sessions)))
    took = time.perf_counter() - start
    await store.aclose()
    q = statistics.quantiles(lat, n=20)
    return (f"{sessions * rounds / took:8.0f} runs/s  turn p50 {q[9] * 1000:6.1f} ms  "
            f"p95 {q[18] * 1000:6.1f} ms  ({took:.1f} s)")


def _cpu_per_run(runs: int, session: object | None) -> float:
    agent = weather_agent(ScriptedModel(weather_script))
    history: list[dict[str, object]] = []
    for _ in range(5):  # warm up imports and caches, outside the measure
        agent.run_sync("查询北京天气", history=[])
    gc.collect()  # every measure starts from the same collector state
    start = time.process_time()
    for i in range(runs):
        if session is None:
            history = agent.run_sync(f"查询北京天气 {i}", history=history).messages
        else:
            agent.run_sync(f"查询北京天气 {i}", session=session)  # type: ignore[arg-type]
    return (time.process_time() - start) / runs


def overhead(runs: int, sync: str) -> None:
    """CPU per run with ``history=`` and with ``session=`` (SQLite on disk, WAL)."""
    print(f"overhead: {runs} sync runs of one tool turn each on one growing conversation, "
          f"SQLite synchronous={sync}")
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "overhead.db", synchronous=sync)  # type: ignore[arg-type]
        # The first measure in a process runs faster than the ones after it (whichever
        # they are): it is left out, and the two kinds take turns.
        _cpu_per_run(runs, None)
        plains, sessions = [], []
        for k in range(3):
            plains.append(_cpu_per_run(runs, None))
            sessions.append(_cpu_per_run(runs, store.session(f"o{k}")))
        plain, sess = min(plains), min(sessions)
        store.close()
    extra = (sess - plain) / plain * 100
    print(f"  history=  {plain * 1e3:7.3f} ms CPU/run\n  session=  {sess * 1e3:7.3f} ms "
          f"CPU/run  ({extra:+.1f} %, target <= +10 %)")


async def _agents(store: SessionStore, sessions: int, rounds: int) -> str:
    agent = weather_agent(ScriptedModel(weather_script))

    async def one(n: int) -> None:
        for r in range(rounds):
            await agent.run(f"查询北京天气 {r}", session=store.session(f"a{n}"))

    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(sessions)))
    took = time.perf_counter() - start
    await store.aclose()
    return f"{sessions * rounds / took:8.0f} agent runs/s  ({took:.1f} s)"


def agents(sessions: int, rounds: int) -> None:
    """Agent runs/s, ``sessions`` at once, on SQLite and PostgreSQL."""
    print(f"agents: {sessions} concurrent sessions x {rounds} runs (one tool turn each)")
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "agents.db")
        print("  sqlite     " + asyncio.run(_agents(store, sessions, rounds)))
    bindir = find_bindir()
    if bindir is None:
        print("  postgres: not installed, skipped")
        return
    cluster = Cluster(bindir, fsync=True).start()
    try:
        print("  postgres   " + asyncio.run(_agents(PostgresStore(cluster.dsn), sessions, rounds)))
    finally:
        cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--turns", type=int, default=2)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--only", choices=["overhead", "agents", "stores"])
    a = ap.parse_args()
    if a.only in (None, "overhead"):
        for sync in ("FULL", "NORMAL"):
            overhead(a.runs, sync)
    if a.only in (None, "agents"):
        agents(a.sessions, a.rounds)
    if a.only not in (None, "stores"):
        return
    print(f"{a.sessions} concurrent sessions x {a.rounds} runs x {a.turns} tool turns")
    with tempfile.TemporaryDirectory() as tmp:
        for sync in ("FULL", "NORMAL"):
            store = SQLiteStore(Path(tmp) / f"bench-{sync}.db", synchronous=sync)  # type: ignore[arg-type]
            print(f"sqlite {sync:6}  " + asyncio.run(_bench(store, a.sessions, a.rounds, a.turns)))
    bindir = find_bindir()
    if bindir is None:
        print("postgres: not installed, skipped")
        return
    cluster = Cluster(bindir, fsync=True).start()
    try:
        store = PostgresStore(cluster.dsn)
        print("postgres       " + asyncio.run(_bench(store, a.sessions, a.rounds, a.turns)))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
