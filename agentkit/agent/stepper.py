"""``Stepper``: the send/throw loop every driver of a flow shares, written once.

A driver iterates a ``Stepper`` to get the flow's effects, performs each one inside
``performing()`` and sets ``outcome``; the stepper sends that outcome (or throws back the
exception the effect raised) to get the next effect, and keeps the flow's return value in
``result``. Leaving the ``with`` block closes the flow. Nothing here decides anything.

Example (a driver)::

    with Stepper(flow) as steps:
        for effect in steps:
            with steps.performing():
                steps.outcome = perform(effect)
    return steps.result
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from agentkit.agent.effects import Effect
from agentkit.agent.flow import Flow

__all__ = ["Stepper"]


class Stepper:
    """Steps a flow: each effect's outcome (or exception) goes back to get the next one.

    Attributes:
        outcome: The outcome of the effect being performed (``None`` until set).
        error: The exception that effect raised, or ``None``.
        result: The flow's return value, once it has returned.
    """

    __slots__ = ("_flow", "error", "outcome", "result")

    def __init__(self, flow: Flow) -> None:
        self._flow = flow
        self.outcome: Any = None
        self.error: BaseException | None = None
        self.result: Any = None

    def __iter__(self) -> Stepper:
        return self

    def __next__(self) -> Effect:
        outcome, error = self.outcome, self.error
        self.outcome = self.error = None
        try:
            return self._flow.send(outcome) if error is None else self._flow.throw(error)
        except StopIteration as stop:
            self.result = stop.value
            raise StopIteration from None

    def performing(self) -> _Performing:
        """A context in which an exception becomes the current effect's ``error``.

        ``GeneratorExit`` is let through: it means the driver itself is being closed.
        """
        return _Performing(self)

    def close(self) -> None:
        """Close the flow (its ``finally`` blocks run)."""
        self._flow.close()

    def __enter__(self) -> Stepper:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Performing:
    __slots__ = ("_steps",)

    def __init__(self, steps: Stepper) -> None:
        self._steps = steps

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None or isinstance(exc, GeneratorExit):
            return False
        self._steps.error = exc
        return True
