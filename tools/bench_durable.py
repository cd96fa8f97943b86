"""CPU per run: DurableAgent inside a DBOS workflow on SQLite against the plain agent.

    PYTHONPATH=. python tools/bench_durable.py [--runs 200]

Both run the same three-turn run (two concurrent tool calls, one more, a reply) against the
emulator in process (no network), so the difference is the checkpointing: one SQLite
write per model call and per tool call, plus the workflow's own rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _durable_support import SCENARIO
from dbos import DBOS

from agentkit import Agent, tool
from agentkit.client import AsyncClient
from agentkit.durable import DurableAgent, durable_config
from agentkit.testing import Emulator, EmulatorTransport


@tool
def check_stock(sku: str) -> dict[str, Any]:
    """Stock of an item.

    Args:
        sku: The SKU.
    """
    return {"sku": sku, "stock": 7}


@tool
def check_price(sku: str) -> dict[str, Any]:
    """Price of an item.

    Args:
        sku: The SKU.
    """
    return {"sku": sku, "price": "9.90"}


@tool
def reserve(sku: str) -> str:
    """Reserve an item.

    Args:
        sku: The SKU.
    """
    return f"reserved {sku}"


AGENT: Agent[str] | None = None
DURABLE: DurableAgent[str] | None = None


@DBOS.workflow(name="bench_durable.run")
async def durable_run(question: str) -> str:
    assert DURABLE is not None
    return (await DURABLE.run(question)).output


async def _measure(n: int, durable: bool) -> float:
    assert AGENT is not None
    for i in range(5):  # warm-up
        await (durable_run(f"order SKU9{i}") if durable else AGENT.run(f"order SKU9{i}"))
    start = time.process_time()
    for i in range(n):
        q = f"Please order SKU{i}"
        out = await durable_run(q) if durable else (await AGENT.run(q)).output
        assert out == f"Reserved SKU{i}.", out
    return (time.process_time() - start) / n


def main() -> None:
    global AGENT, DURABLE
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    args = p.parse_args()
    transport = EmulatorTransport(Emulator(scenarios=[SCENARIO]))
    client = AsyncClient(base_url="http://emulator/v1", api_key="k", transport=transport)
    AGENT = Agent("gpt-5.4-mini", tools=[check_stock, check_price, reserve], client=client)
    DURABLE = DurableAgent(AGENT, name="bench")
    db = Path(tempfile.mkdtemp()) / "dbos.sqlite"
    DBOS(config=durable_config("bench", f"sqlite:///{db}", application_version="b1",
                               log_level="WARNING"))
    DBOS.launch()
    try:
        plain = asyncio.run(_measure(args.runs, durable=False))
        durable = asyncio.run(_measure(args.runs, durable=True))
    finally:
        DBOS.destroy()
    print(f"plain agent:   {plain * 1000:7.2f} ms CPU per run")
    print(f"DurableAgent:  {durable * 1000:7.2f} ms CPU per run (SQLite)  "
          f"overhead {(durable - plain) * 1000:+.2f} ms = x{durable / plain:.1f}")


if __name__ == "__main__":
    main()
