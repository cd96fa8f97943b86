"""Usage accounting for a run, and the limits a run may be held to."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentkit.messages import CompletionUsage

__all__ = ["Usage", "UsageLimits"]


@dataclass(slots=True)
class Usage:
    """What a run consumed: tokens summed over its requests, requests and tool calls made.

    ``cost`` is the priced total when the agent has ``prices`` (``None`` without them, or
    once any response could not be priced).
    """

    requests: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    # --- cost (prices.py): None when the run has no prices or a response was unpriceable.
    # Out of the repr: printed usage stays as it was; RunResult.cost is the way to read it.
    cost: float | None = field(default=None, repr=False)

    def add_cost(self, cost: float | None) -> None:
        """Add a priced amount; ``None`` (unpriceable) makes the total unknown for good."""
        self.cost = None if cost is None or self.cost is None else self.cost + cost

    def add_response(self, usage: CompletionUsage | None) -> None:
        """Count one model request and the tokens it reported (if it reported any)."""
        self.requests += 1
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.total_tokens += usage.total_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.requests + other.requests,
            self.tool_calls + other.tool_calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            cost=_sum_costs(self, other),
        )


def _sum_costs(a: Usage, b: Usage) -> float | None:
    """Costs add up; a part that made requests without a price makes the sum unknown."""
    if (a.cost is None and a.requests) or (b.cost is None and b.requests):
        return None
    if a.cost is None and b.cost is None:
        return None
    return (a.cost or 0.0) + (b.cost or 0.0)


@dataclass(frozen=True, slots=True)
class UsageLimits:
    """Upper bounds for one run; ``None`` means unbounded.

    Attributes:
        request_limit: Most model requests.
        tool_calls_limit: Most tool calls executed.
        total_tokens_limit: Most tokens (prompt + completion) over all requests.
        cost_limit: Most cost, in the currency of the agent's ``prices`` (needs them;
            a response that cannot be priced ends the run, the budget being unknown).
    """

    request_limit: int | None = None
    tool_calls_limit: int | None = None
    total_tokens_limit: int | None = None
    cost_limit: float | None = None
