"""Load test: many concurrent agent runs, each with a tool call, against the emulator.

Usage::

    .venv/bin/python tools/load.py                  # 1,000 runs, then 1,000 with 5 % faults
    .venv/bin/python tools/load.py --runs 200 --fault-rate 0.1

The emulator is served by uvicorn on a free loopback port in a subprocess (so its CPU is not
the agent's), unless ``--in-process``. All runs share one ``AsyncClient`` and one ``Agent``
and start at once. Every run must finish with exactly its own conversation: user, assistant
tool call, tool result, final answer, with its own city everywhere (zero lost or crossed
messages). With faults (half 429 with ``Retry-After: 0``, half 503, drawn per request) every
run must still finish, after retries, or fail with a typed ``APIError``; a global timeout
makes a hang a failure. Prints runs/s, p50/p99 latency and peak memory (RSS).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentkit.agent import Agent
from agentkit.client import AsyncClient
from agentkit.errors import AgentkitError, APIError
from agentkit.testing import FAULT_HEADER, EmulatorServer
from agentkit.tool import tool

KEY = "sk-load-test"


@dataclass
class Report:
    """What one load round measured."""

    runs: int
    ok: int = 0
    typed_errors: dict[str, int] = field(default_factory=dict)
    untyped_errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    retries: int = 0
    timed_out: bool = False

    @property
    def runs_per_second(self) -> float:
        """Finished runs per second of wall-clock time."""
        return self.runs / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the run latencies, in seconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def summary(self) -> str:
        """One line per figure."""
        return (
            f"runs={self.runs} ok={self.ok} typed_errors={self.typed_errors} "
            f"untyped_errors={len(self.untyped_errors)} lost_messages={len(self.lost)} "
            f"hang={self.timed_out}\n"
            f"  wall={self.seconds:.2f}s runs/s={self.runs_per_second:.0f} "
            f"p50={self.percentile(0.5) * 1000:.0f}ms p99={self.percentile(0.99) * 1000:.0f}ms "
            f"model_requests={self.requests} retries={self.retries}"
        )


def _expected_ok(messages: list[dict[str, Any]], city: str, seen: list[str]) -> str | None:
    roles = [m.get("role") for m in messages]
    if roles != ["user", "assistant", "tool", "assistant"]:
        return f"{city}: roles {roles}"
    call = messages[1]["tool_calls"][0]
    if city not in call["function"]["arguments"] or city not in messages[2]["content"]:
        return f"{city}: crossed tool call/result {call} {messages[2]}"
    if messages[2]["tool_call_id"] != call["id"] or city not in messages[3]["content"]:
        return f"{city}: answer does not match {messages[3]}"
    if seen != [city]:
        return f"{city}: tool ran for {seen}"
    return None


async def run_load(
    base_url: str,
    runs: int,
    *,
    fault_rate: float = 0.0,
    max_retries: int = 2,
    global_timeout: float = 300.0,
    connections: int = 100,
    gate: bool = True,
) -> Report:
    """Start ``runs`` agent runs at once against ``base_url`` and check every result."""
    headers: dict[str, str] = {}
    if fault_rate:
        half = fault_rate / 2
        headers[FAULT_HEADER] = f"429;p={half};retry-after=0, 503;p={half}"
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, pool=None), limits=limits)
    # The client's gate, sized to the pool, keeps the queue out of httpcore's pool (whose
    # rescans cost O(queued x connections), encode/httpcore#1035); --no-gate shows the cost.
    client = AsyncClient(
        KEY,
        base_url,
        http_client=http,
        max_retries=max_retries,
        default_headers=headers,
        max_concurrent_requests=connections if gate else None,
    )
    retries = 0

    async def quick_sleep(delay: float) -> None:
        # The backoff itself is not under test: keep the retries but not the seconds.
        nonlocal retries
        retries += 1
        await asyncio.sleep(min(delay, 0.01))

    client._sleep = quick_sleep
    calls: dict[str, list[str]] = {}

    @tool
    async def get_weather(city: str) -> dict[str, Any]:
        """Get the current weather of a city.

        Args:
            city: The city.
        """
        calls.setdefault(city, []).append(city)
        await asyncio.sleep(0)
        return {"city": city, "temp": 25}

    agent = Agent(tools=[get_weather], client=client)
    report = Report(runs)

    async def one(n: int) -> None:
        city = f"City{n:05d}"
        started = time.perf_counter()
        try:
            result = await agent.run(f"What is the weather in {city}?")
        except APIError as exc:
            report.typed_errors[type(exc).__name__] = (
                report.typed_errors.get(type(exc).__name__, 0) + 1
            )
            if exc.messages[:1] != [{"role": "user", "content": f"What is the weather in {city}?"}]:
                report.lost.append(f"{city}: error messages {exc.messages}")
            return
        except AgentkitError as exc:  # typed, but not an expected outcome of these faults
            report.untyped_errors.append(f"{city}: {type(exc).__name__}: {exc}")
            return
        except Exception as exc:
            report.untyped_errors.append(f"{city}: {type(exc).__name__}: {exc}")
            return
        report.latencies.append(time.perf_counter() - started)
        report.requests += result.usage.requests
        problem = _expected_ok(result.messages, city, calls.get(city, []))
        if problem:
            report.lost.append(problem)
        else:
            report.ok += 1

    started = time.perf_counter()
    tasks = [asyncio.ensure_future(one(n)) for n in range(runs)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), global_timeout)
    except asyncio.TimeoutError:
        report.timed_out = True
    report.seconds = time.perf_counter() - started
    report.retries = retries
    await client.aclose()
    await http.aclose()
    return report


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator(in_process: bool) -> Iterator[str]:
    """An emulator on loopback: a uvicorn subprocess, or a thread of this process."""
    if in_process:
        with EmulatorServer() as server:
            yield server.base_url
        return
    port = _free_port()
    code = f"from agentkit.testing import serve; serve('127.0.0.1', {port})"
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the emulator subprocess did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def main(argv: list[str] | None = None) -> int:
    """Run the load rounds; exit status 1 if any run was lost, crossed, untyped or hung."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300.0, help="global timeout (s)")
    parser.add_argument("--in-process", action="store_true", help="serve in a thread")
    parser.add_argument(
        "--no-gate",
        action="store_true",
        help="max_concurrent_requests=None: all requests queue in httpx's pool (slow with "
        "httpcore 1.0.9)",
    )
    args = parser.parse_args(argv)
    failed = False
    with emulator(args.in_process) as base_url:
        for label, rate in (("no faults", 0.0), (f"{args.fault_rate:.0%} faults", args.fault_rate)):
            report = asyncio.run(
                run_load(
                    base_url,
                    args.runs,
                    fault_rate=rate,
                    global_timeout=args.timeout,
                    connections=args.connections,
                    gate=not args.no_gate,
                )
            )
            print(f"[{label}] {report.summary()}")
            for line in (report.untyped_errors + report.lost)[:10]:
                print("   ", line)
            bad = report.untyped_errors or report.lost or report.timed_out
            if bad or (rate == 0 and report.ok != report.runs):
                failed = True
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: agent process {peak:.0f} MiB, emulator subprocess {server:.0f} MiB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
