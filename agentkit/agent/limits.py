"""A run's limits: deadline, tool calls, tokens and cost (a ``RunState`` part)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from agentkit.agent._state_base import StateBase
from agentkit.errors import RunTimeoutError, UsageLimitExceeded, UserError
from agentkit.messages import ChatCompletion
from agentkit.prices import Prices, response_cost

__all__ = ["Limits"]


class Limits(StateBase):
    """The checks that end a run when one of its limits is reached."""

    __slots__ = ()

    def remaining(self) -> float | None:
        """Seconds left before the run's deadline (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        """Raise ``RunTimeoutError`` when the run's deadline has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise RunTimeoutError(
                f"The run exceeded its time limit of {self.spec.run_timeout} s",
                messages=self.snapshot(),
            )

    def _count_tool_calls(self, to_run: int) -> None:
        limits = self.spec.usage_limits
        if (
            limits is not None
            and limits.tool_calls_limit is not None
            and self.usage.tool_calls + to_run > limits.tool_calls_limit
        ):
            raise UsageLimitExceeded(
                f"Running {to_run} more tool call(s) would exceed the tool call limit of "
                f"{limits.tool_calls_limit}",
                messages=self.snapshot(),
            )
        self.usage.tool_calls += to_run

    def _check_tokens(self, *, before_request: bool = False) -> None:
        """After a response: over the limit ends the run. Before a request: so does
        reaching it, as for ``cost_limit`` (any request would use tokens beyond it)."""
        limits = self.spec.usage_limits
        if limits is None or limits.total_tokens_limit is None:
            return
        used, limit = self.usage.total_tokens, limits.total_tokens_limit
        if used > limit or (before_request and used >= limit):
            raise UsageLimitExceeded(
                f"The run used {used} tokens, {'over' if used > limit else 'reaching'} its "
                f"limit of {limit}",
                messages=self.snapshot(),
            )

    # ------------------------------------------------------------------ cost (prices.py)

    def set_prices(self, prices: Prices | Mapping[str, Prices] | None) -> None:
        """Price this run's responses (``usage.cost`` starts at 0, or for a resumed run at
        its paused run's cost, as its tokens do: ``None`` when those were not priced)."""
        self.prices = prices
        if prices is not None and not self.usage.requests:
            self.usage.cost = 0.0
        limits = self.spec.usage_limits
        if limits is not None and limits.cost_limit is not None and prices is None:
            raise UserError("UsageLimits(cost_limit=...) needs prices: Agent(..., prices=...)")

    def _check_budget(self, *, before_request: bool = True) -> None:
        limits, cost = self.spec.usage_limits, self.usage.cost
        if limits is None or limits.cost_limit is None:
            return
        if cost is None:  # a response (maybe a sub-agent's) had no price: budget unknown
            raise UsageLimitExceeded(
                "A response could not be priced (no usage reported, or no price for its "
                f"model), so the cost limit of {limits.cost_limit} cannot be kept",
                messages=self.snapshot(),
            )
        if cost > limits.cost_limit or (before_request and cost >= limits.cost_limit):
            raise UsageLimitExceeded(
                f"The run cost {cost:.6g}, reaching its limit of {limits.cost_limit}",
                messages=self.snapshot(),
            )

    def _charge(self, completion: ChatCompletion) -> None:
        if self.prices is None:
            return
        model = self._kwargs.get("model")
        self.usage.add_cost(response_cost(self.prices, completion.usage, completion.model, model))
        self._check_budget(before_request=False)
