"""Usage accounting for a run, and the limits a run may be held to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from agentkit._checks import check_amount, check_count
from agentkit._record import record
from agentkit.errors import UserError
from agentkit.messages import CompletionUsage

__all__ = ["Usage", "UsageLimits"]


@record(slots=True)
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
    cached_tokens: int = 0
    """Prompt tokens the server served from its cache (included in ``prompt_tokens``)."""
    reasoning_tokens: int = 0
    """Completion tokens spent on reasoning (included in ``completion_tokens``)."""

    def to_dict(self) -> dict[str, int | float]:
        """The counts (and ``cost``, when priced) as a JSON-ready dict;
        ``Usage(**usage.to_dict())`` rebuilds it."""
        out: dict[str, int | float] = {
            "requests": self.requests,
            "tool_calls": self.tool_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cached_tokens": self.cached_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }
        if self.cost is not None:  # absent when unpriced: dicts written before read the same
            out["cost"] = self.cost
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Rebuild a ``Usage`` from ``to_dict()``'s output (missing counts are 0).

        Raises:
            UserError: Not a mapping, a count is not a non-negative int, or a key is unknown.
        """
        if not isinstance(data, Mapping):
            raise UserError(
                f"Usage.from_dict: expected an object of token counts, got {type(data).__name__}"
            )
        counts = {k: v for k, v in data.items() if k != "cost"}
        unknown = set(counts) - set(_FIELDS)
        if unknown:
            raise UserError(f"Usage.from_dict: unknown keys {sorted(unknown)}")
        for key, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UserError(f"Usage.from_dict: {key!r} must be an int >= 0, got {value!r}")
        usage = cls(**counts)
        usage.cost = check_amount("Usage.from_dict: 'cost'", data.get("cost"), none=True)
        return usage

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
            self.cached_tokens += usage.cached_tokens
            self.reasoning_tokens += usage.reasoning_tokens

    def __add__(self, other: Usage) -> Usage:
        """The sum of two usages, field by field (neither is changed)."""
        if not isinstance(other, Usage):
            return NotImplemented
        total = Usage(*(getattr(self, f) + getattr(other, f) for f in _FIELDS))
        total.cost = _sum_costs(self, other)
        return total

    def __iadd__(self, other: Usage) -> Usage:
        """Add ``other`` into this usage, field by field."""
        if not isinstance(other, Usage):
            return NotImplemented
        cost = _sum_costs(self, other)
        for name in _FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost = cost
        return self


_FIELDS = (
    "requests",
    "tool_calls",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


def _sum_costs(a: Usage, b: Usage) -> float | None:
    """Costs add up; a part that made requests without a price makes the sum unknown."""
    if (a.cost is None and a.requests) or (b.cost is None and b.requests):
        return None
    if a.cost is None and b.cost is None:
        return None
    return (a.cost or 0.0) + (b.cost or 0.0)


@record(frozen=True, slots=True)
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

    def __post_init__(self) -> None:
        # Checked here, not when a run meets the limit: a str would fail mid-run, after a
        # request was already sent.
        for name in ("request_limit", "tool_calls_limit", "total_tokens_limit"):
            check_count(f"UsageLimits({name}=...)", getattr(self, name), minimum=0, none=True)
        check_amount("UsageLimits(cost_limit=...)", self.cost_limit, none=True)
