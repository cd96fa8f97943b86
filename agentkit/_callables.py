"""What kind of callable a function is, seen through ``functools.partial`` and a callable
object's ``__call__`` (tools, approval checks and instructions functions all ask)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["is_async", "is_kind"]


def is_async(func: Callable[..., Any]) -> bool:
    """``async def`` functions, and partials and callable objects wrapping one."""
    return is_kind(func, inspect.iscoroutinefunction)


def is_kind(func: Callable[..., Any], test: Callable[[Any], bool]) -> bool:
    """``test`` of the function itself, through partials and a callable object's ``__call__``."""
    while isinstance(func, functools.partial):
        func = func.func
    if test(func):
        return True
    return not inspect.isroutine(func) and test(type(func).__call__)
