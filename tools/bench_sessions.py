"""Store-level throughput of the session stores: 200 concurrent sessions.

Each session runs ROUNDS runs; a run takes the lease, loads the history, appends the user
message, journals a tool turn, commits it, appends the answer (4 writes, TURNS tool turns).
Prints runs/s and the latency of one committed tool turn (p50/p95) for SQLite (a file on
disk, WAL, synchronous FULL and NORMAL) and for PostgreSQL (a throwaway cluster, fsync on).

    PYTHONPATH=. python tools/bench_sessions.py [--sessions 200] [--rounds 3] [--turns 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _postgres import Cluster, find_bindir

from agentkit.sessions import PostgresStore, SessionStore, SQLiteStore


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--turns", type=int, default=2)
    a = ap.parse_args()
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
