"""Micro-benchmark: SSE decoding of run-together events (``data: {...}data: {...}`` on one line).

Reports MB/s for lines of 0.1 to 10 MiB; linear decoding keeps the rate flat.

    .venv/bin/python tools/bench_sse.py
"""

from __future__ import annotations

import time

from agentkit.client.sse import SSEDecoder

EVENT = b'{"choices":[{"index":0,"delta":{"content":"hello"}}]}'


def rate(mib: float) -> tuple[int, float]:
    """Events decoded and MB/s for one run-together line of about ``mib`` MiB."""
    count = max(1, int(mib * 2**20 / (len(EVENT) + 6)))
    line = b"data: " + b"data: ".join([EVENT] * count) + b"\n\n"
    start = time.perf_counter()
    payloads = SSEDecoder().feed(line)
    took = time.perf_counter() - start
    assert len(payloads) == count
    return count, len(line) / 1e6 / took


def main() -> None:
    """Print one row per line size."""
    print(f"{'line MiB':>9} {'events':>9} {'MB/s':>8}")
    for mib in (0.1, 0.5, 1, 2, 5, 10):
        count, mbps = rate(mib)
        print(f"{mib:>9} {count:>9} {mbps:>8.1f}")


if __name__ == "__main__":
    main()
