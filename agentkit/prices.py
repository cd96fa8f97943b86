"""What model requests cost, from prices you give: pure arithmetic, no I/O, no price list.

agentkit ships no prices (they change, and differ per contract): you pass yours, either
one ``Prices`` for every model or a mapping from model name to ``Prices``. A response that
cannot be priced (no usage reported, or a model missing from the mapping) makes the total
unknown (``None``), never an under-count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from agentkit._record import record
from agentkit.errors import UserError
from agentkit.messages import CompletionUsage

__all__ = ["PriceTable", "Prices", "check_prices", "response_cost", "token_details"]


@record(frozen=True, slots=True)
class Prices:
    """The prices of one model, per million tokens (in any currency, used consistently).

    Attributes:
        input_per_mtok: Price of a million prompt tokens.
        output_per_mtok: Price of a million completion tokens (reasoning tokens included:
            providers count them as completion tokens).
        cached_input_per_mtok: Price of a million prompt tokens served from the
            provider's cache; ``None``: the same as ``input_per_mtok``.
    """

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None

    def __post_init__(self) -> None:
        for name in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
            value = getattr(self, name)
            if value is None and name == "cached_input_per_mtok":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise UserError(f"Prices.{name} must be a finite number >= 0, got {value!r}")

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """The cost of these token counts (``cached_tokens`` are part of ``prompt_tokens``)."""
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_price = self.cached_input_per_mtok
        if cached_price is None:
            cached_price = self.input_per_mtok
        total = (
            (prompt_tokens - cached) * self.input_per_mtok
            + cached * cached_price
            + completion_tokens * self.output_per_mtok
        )
        return total / 1_000_000


PriceTable: TypeAlias = "Prices | Mapping[str, Prices]"
"""What ``Agent(prices=...)`` takes: one ``Prices`` for every model, or one per model name."""


def check_prices(prices: object) -> Prices | Mapping[str, Prices] | None:
    """``prices`` if it is a valid ``PriceTable`` (or ``None``); ``UserError`` otherwise."""
    if prices is None or isinstance(prices, Prices):
        return prices
    if isinstance(prices, Mapping):
        for model, p in prices.items():
            if not isinstance(model, str) or not isinstance(p, Prices):
                raise UserError(
                    "prices must map model names (str) to agentkit.Prices, got "
                    f"{model!r}: {type(p).__name__}"
                )
        return dict(prices)
    raise UserError(f"prices must be a Prices or a mapping of them, got {type(prices).__name__}")


def _detail(usage: CompletionUsage, attribute: str, details: str) -> int | None:
    value = getattr(usage, attribute, None)
    # CompletionUsage counts an unreported detail as 0; a reported 0 means the same.
    if isinstance(value, int) and not isinstance(value, bool) and value:
        return value
    extra: Any = getattr(usage, "extra", None) or {}
    block = extra.get(details) if isinstance(extra, dict) else None
    raw = block.get(attribute) if isinstance(block, dict) else None
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def token_details(usage: CompletionUsage | None) -> tuple[int | None, int | None]:
    """The cached prompt tokens and reasoning tokens a response reported (``None``: not
    reported), from ``prompt_tokens_details`` / ``completion_tokens_details``."""
    if usage is None:
        return None, None
    return (
        _detail(usage, "cached_tokens", "prompt_tokens_details"),
        _detail(usage, "reasoning_tokens", "completion_tokens_details"),
    )


def response_cost(
    prices: Prices | Mapping[str, Prices],
    usage: CompletionUsage | None,
    *models: str | None,
) -> float | None:
    """The cost of one response, or ``None`` when it cannot be priced.

    ``models`` are the names to look up in a mapping, in order (the response's model,
    then the requested one); a single ``Prices`` applies to any model.
    """
    if usage is None:
        return None
    if isinstance(prices, Prices):
        chosen: Prices | None = prices
    else:
        chosen = next((prices[m] for m in models if m is not None and m in prices), None)
    if chosen is None:
        return None
    cached, _ = token_details(usage)
    return chosen.cost(usage.prompt_tokens, usage.completion_tokens, cached or 0)
