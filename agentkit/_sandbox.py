"""A jinja2 sandbox that also bounds how much a template can allocate.

jinja2's ``SandboxedEnvironment`` keeps templates away from Python internals and caps
``range``, but a 30-character template such as ``{{ 'a' * 10**9 }}``,
``{{ ''|center(10**9) }}`` or ``{{ 9**9**9 }}`` still allocates gigabytes or spins the CPU.
Here every arithmetic operator that can grow a value, every call and every filter checks
its operands first, so the cost of a render stays proportional to ``MAX_SIZE``. The
rendered text itself is bounded separately, by ``Template(max_chars=...)``.

jinja2 is imported by the caller (``agentkit.templates``) before this module, only when a
``Template`` is created.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2.exceptions import SecurityError

__all__ = ["MAX_SIZE", "BoundedSandbox"]

MAX_SIZE = 1_000_000  # characters or items one operation may produce
_MAX_BITS = 4096 * 8  # an integer a template computes stays under ~10,000 digits
# A printf-style width or precision, e.g. the 999999999 of "%999999999d".
_PRINTF_NUMBER = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d*))?")
# A str.format width or precision, e.g. "{:999999999}" or "{0:.999999999f}".
_FORMAT_NUMBER = re.compile(r"\{[^{}]*:[^{}\d]*(\d+)(?:\.(\d+))?[^{}]*\}")


def _too_big(what: str) -> SecurityError:
    return SecurityError(f"{what} is over the sandbox's size limit ({MAX_SIZE:,})")


def _check_number(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise _too_big(what)


def _check_format_string(text: Any) -> None:
    if not isinstance(text, str):
        return
    for pattern in (_PRINTF_NUMBER, _FORMAT_NUMBER):
        for match in pattern.finditer(text):
            for number in match.groups():
                if number and int(number) > MAX_SIZE:
                    raise _too_big("a format width or precision")


def _sized(value: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple))


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if _sized(seq) and isinstance(times, int) and len(seq) * times > MAX_SIZE:
                raise _too_big("a repeated sequence")
        ints = isinstance(left, int) and isinstance(right, int)
        if ints and left.bit_length() + right.bit_length() > _MAX_BITS:
            raise _too_big("a product")
    elif operator == "**":
        ints = isinstance(left, int) and isinstance(right, int)
        if ints and abs(left) > 1 and right > 0 and left.bit_length() * right > _MAX_BITS:
            raise _too_big("a power")
    elif operator == "%" and isinstance(left, str):
        _check_format_string(left)


def _guard_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _check_number(value, "a number passed to a call or filter")
        _check_format_string(value)


def _guarded_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _guard_arguments(args, kwargs)
        return func(*args, **kwargs)

    return guarded


class BoundedSandbox(jinja2.sandbox.SandboxedEnvironment):
    """jinja2's sandbox with operand checks on ``*``, ``**``, ``%``, calls and filters."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Filters are plain functions called directly by compiled templates; wrapping them
        # is the only way to see their arguments (``center(10**9)``, ``indent``...).
        self.filters = {name: _guarded_filter(f) for name, f in self.filters.items()}

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """Check the operands, then apply the operator."""
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(
        __self,  # jinja2's own signature: keeps `self` out of the call's kwargs
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Check the arguments (``'x'.ljust(10**9)``, ``'{:999999999}'.format(1)``), then call."""
        _guard_arguments(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Check a ``str.format`` template's widths when the method is looked up."""
        _check_format_string(getattr(value, "__self__", None))
        return super().wrap_str_format(value)
