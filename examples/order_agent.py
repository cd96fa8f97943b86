"""Structured output: an agent that answers with a validated ``Order`` (JSON mode).

Run it::

    python examples/order_agent.py
    python examples/order_agent.py "订单 ORD20260605002 金额 15 元，已发货"

The agent asks the model for JSON matching ``Order``'s schema, validates the answer with
pydantic and sends a compact error back if it does not fit. Offline (no
``AGENTKIT_API_KEY``) the emulator answers from ``examples/scenarios/order.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agentkit import Agent, AsyncClient, Client
from agentkit.testing import auto_client

SCENARIOS = Path(__file__).with_name("scenarios")


class Order(BaseModel):
    """An order mentioned in a message."""

    order_id: str = Field(description="The order number, e.g. ORD20260604001")
    amount: float = Field(description="The amount in yuan")
    status: Literal["pending", "paid", "shipped", "cancelled"]


def build_agent(client: Client | AsyncClient | None = None) -> Agent[Order]:
    """An agent whose ``RunResult.output`` is an ``Order``."""
    return Agent(
        instructions="从用户的消息中提取订单信息。",
        output_type=Order,
        client=client,
    )


def main(argv: list[str]) -> None:
    text = " ".join(argv) or "请帮我记录：订单 ORD20260604001，金额 99.9 元，已支付。"
    result = build_agent(auto_client(scenarios=SCENARIOS)).run_sync(text)
    order = result.output
    print(order.model_dump_json(indent=2))
    print(f"{order.order_id}: {order.amount:.2f} 元, {order.status}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
