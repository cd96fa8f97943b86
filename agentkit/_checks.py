"""Checks of the numbers users pass as options (counts, seconds), written once.

Each returns the value when it is what the option takes and raises ``UserError`` naming
the option otherwise. Booleans are refused everywhere (``True`` is an ``int`` to Python,
never a count or a duration anyone meant), and so are NaN and infinity.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard

from agentkit.errors import UserError

__all__ = ["check_amount", "check_count", "check_seconds"]


def check_count(name: str, value: object, *, minimum: int = 1, none: bool = False) -> Any:
    """``value`` as an int >= ``minimum`` (or ``None`` with ``none``), else ``UserError``."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        more = " or None" if none else ""
        raise UserError(f"{name} must be an int >= {minimum}{more}, not {value!r}")
    return int(value)


def check_seconds(name: str, value: object, *, zero: bool = False, none: bool = False) -> Any:
    """``value`` as a finite number of seconds > 0 (>= 0 with ``zero``; or ``None`` with
    ``none``), else ``UserError``."""
    if value is None and none:
        return None
    if _finite(value) and (value >= 0 if zero else value > 0):
        return float(value)
    bound = ">= 0" if zero else "> 0"
    more = " or None" if none else ""
    raise UserError(f"{name} must be a finite number of seconds {bound}{more}, not {value!r}")


def check_amount(name: str, value: object, *, none: bool = False) -> Any:
    """``value`` as a finite number >= 0 (a cost, a budget; or ``None`` with ``none``),
    else ``UserError``."""
    if value is None and none:
        return None
    if _finite(value) and value >= 0:
        return float(value)
    more = " or None" if none else ""
    raise UserError(f"{name} must be a finite number >= 0{more}, not {value!r}")


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
