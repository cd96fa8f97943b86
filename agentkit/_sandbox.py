"""A jinja2 sandbox that also bounds how much a template can allocate.

jinja2's ``SandboxedEnvironment`` keeps templates away from Python internals and caps
``range``, but a 30-character template such as ``{{ 'a' * 10**9 }}``,
``{{ ''|center(10**9) }}`` or ``{{ 9**9**9 }}`` still allocates gigabytes or spins the CPU.
Here every operation that can grow a value (``*``, ``**``, ``+``, ``~``, ``%``,
``str.format``, filters and methods such as ``replace``, ``join`` or ``indent``) checks
how big its result would be first, so the cost of a render stays proportional to
``MAX_SIZE``. A render as a whole may also take at most ``MAX_STEPS`` steps, a loop
iteration being one and a call twenty (``range`` in ``range`` would spin for hours), and
build at most ``MAX_BUILT`` characters or items in all (``l.append(big)`` in a loop).
The rendered text itself is bounded separately, by ``Template(max_chars=...)``.

jinja2 is imported by the caller (``agentkit.templates``) before this module, only when a
``Template`` is created.
"""

from __future__ import annotations

import contextlib
import functools
import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from string import Formatter
from typing import Any

import jinja2
import jinja2.sandbox
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.utils import generate_lorem_ipsum
from markupsafe import Markup

__all__ = ["MAX_BUILT", "MAX_SIZE", "MAX_STEPS", "BoundedSandbox"]

MAX_SIZE = 1_000_000  # characters or items one operation may produce
MAX_STEPS = 500_000  # loop iterations one render may make (~0.2 s of empty loops)
_CALL_STEPS = 20  # a call (a macro's above all) costs ~50 times a loop iteration
MAX_BUILT = 10 * MAX_SIZE  # characters or items all operations of one render may produce
_MAX_BITS = 4096 * 8  # an integer a template computes stays under ~10,000 digits
_LIPSUM_CHARS_PER_WORD = 12  # lorem ipsum words are at most 12 characters with a space
# A printf-style conversion; its groups are the width and precision, digits or "*".
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")


def _too_big(what: str) -> SecurityError:
    return SecurityError(f"{what} is over the sandbox's size limit ({MAX_SIZE:,})")


# What the render running in this thread or task has spent so far, by kind; None outside
# renders (jinja2 folds constants at compile time), where operations are sized one by one.
_budget: ContextVar[dict[str, int] | None] = ContextVar("agentkit_sandbox_budget", default=None)
_LIMITS = {
    "steps": (MAX_STEPS, "the template's steps (a loop iteration is one, a call twenty)"),
    "built": (MAX_BUILT, "what the template builds (characters or items)"),
}


@contextlib.contextmanager
def _spending(budget: dict[str, int]) -> Iterator[None]:
    token = _budget.set(budget)
    try:
        yield
    finally:
        _budget.reset(token)


def _spend(kind: str, amount: int) -> None:
    spent = _budget.get()
    if spent is not None:
        spent[kind] += amount
        limit, what = _LIMITS[kind]
        if spent[kind] > limit:
            raise SecurityError(f"{what} is over the sandbox's limit for a render ({limit:,})")


def _new_budget() -> dict[str, int]:
    return dict.fromkeys(_LIMITS, 0)


def _built(value: Any) -> Any:
    """Count ``value`` towards what this render has built, then hand it back."""
    if _sized(value):
        _spend("built", len(value))
    return value


def _check_size(size: int, what: str) -> None:
    if size > MAX_SIZE:
        raise _too_big(what)


def _check_number(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise _too_big(what)


def _sized(value: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple))


def _text_size(value: Any) -> int:
    """About ``len(str(value))``, counting no further than just past ``MAX_SIZE``.

    A list can hold a million references to one 1 MB string without allocating much, but
    turning it into text (``{{ x }}``, ``~``, ``%s``, ``join``) would build a terabyte; this
    walk costs at most ``MAX_SIZE`` steps, however deep or self-referencing ``value`` is.
    """
    total = 0
    pending = [value]
    while pending and total <= MAX_SIZE:
        item = pending.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, bool) or not isinstance(item, int):
            total += 1 + _container_size(item, pending)
        else:
            total += item.bit_length() // 3 + 1  # decimal digits, rounded up
    return total


def _container_size(item: Any, pending: list[Any]) -> int:
    if isinstance(item, Mapping):
        pending.extend(item.keys())
        pending.extend(item.values())
        return 2 * len(item)
    if isinstance(item, (list, tuple, set, frozenset)):
        pending.extend(item)
        return 2 * len(item)  # a separator per item
    return 0  # a number, None, a caller's object: its own business


def _check_text(value: Any, what: str) -> None:
    if not isinstance(value, str):
        _check_size(_text_size(value), what)


# ------------------------------------------------------------ operators and %-formatting


def _percent_size(fmt: str, values: Any) -> int:
    """How long ``fmt % values`` can be: its text, its widths and the values it shows."""
    specs = _PRINTF_SPEC.findall(fmt)
    args = values if isinstance(values, tuple) else (values,)
    widths = sum(int(n) for spec in specs for n in spec if n.isdigit())
    if any("*" in spec for spec in specs):  # a width taken from the values
        widths += sum(abs(a) for a in args if isinstance(a, int) and not isinstance(a, bool))
    if isinstance(values, Mapping):  # "%(a)s%(a)s": a value can show up in every spec
        shown = len(specs) * max((_text_size(v) for v in values.values()), default=0)
    else:
        shown = sum(_text_size(a) for a in args)
    return len(fmt) + widths + shown


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
    elif operator == "+" and _sized(left) and _sized(right):
        _check_size(len(left) + len(right), "a concatenation")
    elif operator == "%" and isinstance(left, str):
        _check_size(_percent_size(left, right), "a %-formatted string")


# ------------------------------------------------------ filters and methods that amplify


def _replace_size(s: Any, old: Any, new: Any, count: Any = None) -> int:
    s, old, new = str(s), str(old), str(new)
    found = len(s) + 1 if old == "" else s.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(s) + found * max(0, len(new) - len(old))


def _indent_size(s: Any, width: Any = 4, first: Any = False, blank: Any = False) -> int:
    text = str(s)
    prefix = width if isinstance(width, int) else len(str(width))
    return len(text) + (text.count("\n") + 1) * max(0, prefix)


def _expandtabs_size(s: str, tabsize: Any = 8) -> int:
    return len(s) + s.count("\t") * (tabsize if isinstance(tabsize, int) else 0)


def _wordwrap_size(
    s: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> int:
    text = str(s)
    # A line ends at most once per half its width (a word that did not fit) or newline.
    per_line = max(1, width if isinstance(width, int) else 1)
    lines = 2 * len(text) // per_line + text.count("\n") + 1
    return len(text) + lines * len(str(wrapstring) if wrapstring is not None else "\n")


def _join_size(separator: Any, items: list[Any]) -> int:
    return len(str(separator)) * len(items) + sum(_text_size(i) for i in items)


def _format_filter_size(value: Any, *args: Any, **kwargs: Any) -> int:
    return _percent_size(str(value), kwargs or args)


# The filters whose result can be much bigger than their arguments, with the size it would
# be; ``center``, ``truncate``... are bounded by the check on every number passed.
_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "replace": _replace_size,
    "indent": _indent_size,
    "wordwrap": _wordwrap_size,
    "format": _format_filter_size,
}
# Filters that look at a list's items without turning the list into text; every other
# filter given a list or dict first checks how long its text would be (``string``,
# ``tojson``, ``upper``...).
_STRUCTURAL_FILTERS = frozenset(
    {"attr", "batch", "count", "d", "default", "dictsort", "first", "groupby", "items"}
    | {"join", "last", "length", "list", "map", "max", "min", "random", "reject"}
    | {"rejectattr", "reverse", "select", "selectattr", "slice", "sort", "sum", "unique"}
)
_STR_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "replace": _replace_size,
    "expandtabs": _expandtabs_size,
}


def _check_estimate(size: Callable[..., int], name: str, *args: Any, **kwargs: Any) -> None:
    try:
        estimate = size(*args, **kwargs)
    except TypeError:
        return  # arguments the real function refuses itself, with a better message
    _check_size(estimate, f"the result of {name}()")


def _guard_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        _check_number(value, "a number passed to a call or filter")


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # Filters marked pass_context / pass_eval_context / pass_environment get that first.
    skip = 1 if hasattr(func, "jinja_pass_arg") else 0
    size = _FILTER_SIZES.get(name)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _guard_arguments(args, kwargs)
        if len(args) > skip and name not in _STRUCTURAL_FILTERS:
            _check_text(args[skip], f"the value passed to {name}()")
        if size is not None:
            _check_estimate(size, name, *args[skip:], **kwargs)
        return _built(func(*args, **kwargs))

    return guarded


def _guarded_join(func: Callable[..., Any]) -> Callable[..., Any]:
    """The ``join`` filter, sized on its items (listed first: they may be a generator)."""

    @functools.wraps(func)
    def join(
        eval_ctx: jinja2.nodes.EvalContext, value: Any, d: Any = "", attribute: Any = None
    ) -> Any:
        items = list(value)
        if attribute is not None:
            getter = make_attrgetter(eval_ctx.environment, attribute)
            items = [getter(item) for item in items]
        _check_size(_join_size(d, items), "the result of join()")
        return func(eval_ctx, items, d)

    return join


def _guarded_sum(func: Callable[..., Any]) -> Callable[..., Any]:
    """The ``sum`` filter, in one pass when it concatenates lists or tuples.

    ``sum(start=[])`` copies what it has built once per item, so 100,000 one-item lists
    (``range(100000)|batch(1)``) take seconds of CPU that no step budget sees.
    """

    @functools.wraps(func)
    def total(
        environment: jinja2.Environment, iterable: Any, attribute: Any = None, start: Any = 0
    ) -> Any:
        if not isinstance(start, (list, tuple)):
            return func(environment, iterable, attribute, start)
        items = list(iterable)
        if attribute is not None:
            getter = make_attrgetter(environment, attribute)
            items = [getter(item) for item in items]
        kind = list if isinstance(start, list) else tuple
        for item in items:
            if not isinstance(item, kind):
                raise TypeError(
                    f'can only concatenate {kind.__name__} (not "{type(item).__name__}") '
                    f"to {kind.__name__}"
                )
        size = len(start) + sum(len(item) for item in items)
        _check_size(size, "the result of sum()")
        joined = list(start)
        for item in items:
            joined.extend(item)
        return joined if kind is list else tuple(joined)

    return total


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """jinja2's ``lipsum()``, refused when it would write more than ``MAX_SIZE``."""
    words = _LIPSUM_CHARS_PER_WORD * n * (max if isinstance(max, int) else 0)
    _check_size(words, "the text lipsum() would write")
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


# ------------------------------------------------------------------------- str.format


class _BoundedFormatting(Formatter):
    """Sizes each field of a ``str.format`` once its spec is known, nested ``{}`` included."""

    _written = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._written = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        for number in re.findall(r"\d+", format_spec):
            _check_number(int(number), "a format width or precision")
        _check_text(value, "a formatted value")
        text = super().format_field(value, format_spec)
        self._written += len(text)
        _check_size(self._written, "a formatted string")
        return _built(text)


class _BoundedFormatter(_BoundedFormatting, jinja2.sandbox.SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_BoundedFormatting, jinja2.sandbox.SandboxedEscapeFormatter):
    pass


# ---------------------------------------------------------------------- the environment


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to size the parts before joining them, and loops to count items."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        """Loop over ``environment.bounded_iter(items)``, which counts every iteration."""
        counted = nodes.EnvironmentAttribute("bounded_iter", lineno=node.iter.lineno)
        node.iter = nodes.Call(counted, [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """Like jinja2's, with the parts passed through ``environment.checked_parts``."""
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.checked_parts((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


class _BudgetedTemplate(jinja2.Template):
    """A template whose every render spends a fresh budget of steps and built items."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        """jinja2's ``render`` within a budget."""
        with _spending(_new_budget()):
            return super().render(*args, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        """jinja2's ``generate`` within a budget."""
        budget = _new_budget()
        pieces = super().generate(*args, **kwargs)
        while True:
            # Only while this render runs: renders interleaved in one thread keep apart.
            token = _budget.set(budget)  # not _spending(): this runs for every piece
            try:
                piece = next(pieces, None)
            finally:
                _budget.reset(token)
            if piece is None:
                return
            yield piece


class BoundedSandbox(jinja2.sandbox.SandboxedEnvironment):
    """jinja2's sandbox, with every operation that can grow a value sized first."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _BoundedCodeGenerator
    template_class = _BudgetedTemplate

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Filters are plain functions called directly by compiled templates; wrapping them
        # is the only way to see their arguments (``center(10**9)``, ``indent``...).
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters["join"] = _guarded_join(self.filters["join"])
        self.filters["sum"] = _guarded_sum(self.filters["sum"])
        self.globals["lipsum"] = _bounded_lipsum
        # ``{{ x }}`` turns x into text; a list of references to one big string is cheap
        # to build but not to print.
        self.finalize = self._checked_output

    @staticmethod
    def _checked_output(value: Any) -> Any:
        _check_text(value, "a value to print")
        return value

    @staticmethod
    def checked_parts(parts: tuple[Any, ...]) -> tuple[Any, ...]:
        """Refuse ``a ~ b ~ ...`` if the joined text would be over ``MAX_SIZE``."""
        size = sum(_text_size(part) for part in parts)
        _check_size(size, "a concatenation")
        _spend("built", size)
        return parts

    @staticmethod
    def bounded_iter(items: Iterable[Any]) -> Iterator[Any]:
        """What every ``{% for %}`` loops over: ``items``, each one counted as a step."""
        for item in items:
            _spend("steps", 1)
            yield item

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        """Check the operands, then apply the operator."""
        _check_binop(operator, left, right)
        return _built(super().call_binop(context, operator, left, right))

    def call(
        __self,  # jinja2's own signature: keeps `self` out of the call's kwargs
        __context: jinja2.runtime.Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Check the arguments (``'x'.ljust(10**9)``, ``s.replace('', big)``), then call."""
        _spend("steps", _CALL_STEPS)
        _guard_arguments(args, kwargs)
        if isinstance(__obj, jinja2.runtime.LoopContext) and args:
            # loop(children) in a recursive loop: iterations to count like the first level
            args = (__self.bounded_iter(args[0]), *args[1:])
        subject = getattr(__obj, "__self__", None)
        if isinstance(subject, str) and isinstance(__obj, types.BuiltinMethodType):
            name = __obj.__name__
            if name == "join" and len(args) == 1 and not kwargs:
                items = list(args[0])
                _check_size(_join_size(subject, items), "the result of join()")
                args = (items,)
            elif name in _STR_METHOD_SIZES:
                _check_estimate(_STR_METHOD_SIZES[name], name, subject, *args, **kwargs)
        # Arguments count too: l.append(big) or l.extend(l) in a loop grows l unseen.
        _spend("built", sum(len(a) for a in (*args, *kwargs.values()) if _sized(a)))
        return _built(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """jinja2's, with a formatter that sizes every field (``'{:{}}'.format(1, w)``)."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        f_self = value.__self__
        formatter: _BoundedFormatting
        if isinstance(f_self, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=f_self.escape)
        else:
            formatter = _BoundedFormatter(self)

        def bounded(*args: Any, **kwargs: Any) -> str:
            positional, named = args, kwargs
            if value.__name__ == "format_map":
                if kwargs or len(args) != 1:
                    return wrapped(*args, **kwargs)  # jinja2's own TypeError
                positional, named = (), args[0]
            text: str = type(f_self)(formatter.vformat(f_self, positional, named))
            return text

        return functools.update_wrapper(bounded, value)
