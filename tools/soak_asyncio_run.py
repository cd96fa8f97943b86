"""Soak: 10,000 calls of ``asyncio.run(agent.run(...))``, one per request, against the
emulator on loopback; prints open descriptors and resident memory every 1,000 calls (every
tenth of the runs when there are fewer than 10,000).

Flat columns mean no socket and no pool outlives its event loop (issue 17, item 2).

    .venv/bin/python tools/soak_asyncio_run.py [runs]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentkit.testing import EmulatorServer
from tests._loop_soak import Sample, soak


def main(runs: int) -> None:
    """Run the soak and print a row every 1,000 calls (or tenth of ``runs``)."""
    every = min(1_000, max(1, runs // 10))
    start = time.perf_counter()
    print(f"{'runs':>7} {'fds':>5} {'RSS MiB':>8} {'s':>6}")

    def report(s: Sample) -> None:
        print(f"{s.runs:>7} {s.fds:>5} {s.rss_mib:>8.1f} {time.perf_counter() - start:>6.1f}")

    # record_requests=False: the emulator's copy of every body would read as agentkit's growth
    server = EmulatorServer(host="127.0.0.1", port=0, record_requests=False).start()
    try:
        samples = soak(server.base_url, "sk-soak", runs, every=every, report=report)
    finally:
        server.stop()
    first, last = samples[0], samples[-1]
    print(f"growth after the first {every:,}: {last.fds - first.fds} fds, "
          f"{last.rss_mib - first.rss_mib:.1f} MiB")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
