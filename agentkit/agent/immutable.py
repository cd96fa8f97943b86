"""``Immutable``: refuse attribute assignment once an object is built.

An agent is shared between concurrent runs, and the run reads what it needs when it is
built; an assignment such as ``agent.max_turns = 3`` would be silently ignored, so it is
an error instead.
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import ImmutableAgentError

__all__ = ["Immutable"]


class Immutable:
    """A base whose attributes cannot be set or deleted after ``_freeze()``.

    Internal code that builds a modified copy (``copy.copy`` then ``_set``) is unaffected.
    """

    _frozen: bool = False

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if self._frozen:
            raise ImmutableAgentError(_refusal(self, name, "assigned"))
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._frozen:
            raise ImmutableAgentError(_refusal(self, name, "deleted"))
        object.__delattr__(self, name)


def _refusal(obj: object, name: str, done: str) -> str:
    kind = type(obj).__name__
    return (
        f"{kind}.{name} cannot be {done}: a {kind} is immutable once built (it is shared "
        f"by concurrent runs). Build a new {kind}(...) with the setting you want, use "
        "agent.with_client(client) for another client, or pass per-run settings "
        "(model_settings=, usage_limits=, output_type=, deps=) to the run"
    )
