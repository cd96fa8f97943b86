"""One ``asyncio.run(agent.run(...))`` per request, against a real loopback server, with the
process's open descriptors and resident memory measured (shared by the CI test and
``tools/soak_asyncio_run.py``)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable
from dataclasses import dataclass

from agentkit.agent import Agent
from agentkit.client import Client


def open_fds() -> int:
    """Descriptors this process holds open (Linux ``/proc``)."""
    return len(os.listdir("/proc/self/fd"))


def rss_mib() -> float:
    """Resident memory of this process, in MiB (Linux ``/proc``)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Sample:
    """The figures after ``runs`` calls."""

    runs: int
    fds: int
    rss_mib: float


def soak(
    base_url: str, key: str, runs: int, *, every: int = 100, report: Callable[[Sample], None]
) -> list[Sample]:
    """``runs`` calls of ``asyncio.run(agent.run(...))`` on one agent built around a sync
    ``Client`` (so the agent keeps an async twin per event loop, the path that leaked)."""
    samples: list[Sample] = []
    with Client(key, base_url, max_retries=0, timeout=10) as client:
        agent = Agent(client=client)
        for n in range(1, runs + 1):
            result = asyncio.run(agent.run("hi"))
            assert result.output
            if n % every == 0:
                gc.collect()
                sample = Sample(n, open_fds(), rss_mib())
                samples.append(sample)
                report(sample)
    return samples
