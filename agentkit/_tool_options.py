"""Checks of a tool's options and function, made when the tool is built: a bad value
raises a ``UserError`` there, not at every call."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from agentkit._callables import is_async, is_kind
from agentkit.errors import UserError

__all__ = ["check_approval", "check_flags", "check_not_generator", "check_options"]


def check_options(max_retries: int, timeout: float | None) -> None:
    """Refuse a ``max_retries`` that is no int >= 0 and a ``timeout`` that is no number > 0."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise UserError(f"max_retries must be an int >= 0, got {max_retries!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise UserError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")


def check_flags(description: object, **flags: object) -> None:
    """Refuse a ``description`` that is no str, and flags that are not bools."""
    # Checked here: a string would pass as true ("no" too), and a description that is not
    # a string would be sent as is, for the server to refuse every request.
    if description is not None and not isinstance(description, str):
        raise UserError(f"description must be a str or None, got {type(description).__name__}")
    for option, value in flags.items():
        if not isinstance(value, bool):
            raise UserError(f"{option} must be True or False, got {value!r}")


def check_approval(needs_approval: object) -> None:
    """Refuse a ``needs_approval`` that is neither a bool nor a plain callable."""
    if not (isinstance(needs_approval, bool) or callable(needs_approval)):
        raise UserError(
            "needs_approval must be True, False or a callable (ctx, arguments) -> bool, "
            f"got {needs_approval!r}"
        )
    if callable(needs_approval) and is_async(needs_approval):
        # It is called, not awaited: the coroutine it returns would count as "yes" for
        # every call, whatever it decides.
        raise UserError(
            "needs_approval must be a plain (not async) callable (ctx, arguments) -> bool, "
            f"got the async {getattr(needs_approval, '__name__', needs_approval)!r}"
        )


def check_not_generator(func: Callable[..., Any], name: str | None) -> None:
    """Refuse a generator function (sync or async) as a tool's function."""
    # A generator's body runs only when its result is serialized: on the caller's thread
    # (the event loop, in async runs) and past the tool's timeout; an async generator's
    # result cannot be serialized at all.
    if is_kind(func, inspect.isgeneratorfunction) or is_kind(func, inspect.isasyncgenfunction):
        shown = name or getattr(func, "__qualname__", None) or type(func).__name__
        raise UserError(
            f"Cannot make a tool of {shown!r}: it is a generator function (it uses `yield`); "
            "a tool returns its whole result: collect the items and return a list"
        )
