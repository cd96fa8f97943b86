"""Read what a callable offers a tool: its name, parameters, type hints and docstring.

A callable object is read through its ``__call__``; a ``functools.partial`` through its
function, minus the arguments it binds. Parameters a tool cannot take (``*args``,
``**kwargs``, positional-only, unannotated, a misplaced run context) are rejected here.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from agentkit._record import record
from agentkit.errors import UserError
from agentkit.schema.type_fixes import modern_typed_dicts

__all__ = [
    "TOOL_NAME",
    "Target",
    "check_parameters",
    "is_context",
    "read_signature",
    "tool_name_and_place",
]

# What OpenAI-compatible servers accept as a tool (function) name. Use ``fullmatch``: a
# ``$`` would also accept a name ending in a newline, which servers refuse.
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@record(frozen=True, slots=True)
class Target:
    """What a callable's schema is read from: the function behind a partial, a callable
    object's ``__call__``, and the keyword arguments a partial already binds."""

    hints_of: Any
    name: str | None
    qualname: str
    kind: str
    doc: str | None
    bound: frozenset[str]

    @staticmethod
    def of(func: Callable[..., Any]) -> Target:
        """Read ``func``: a partial through its function, an object through ``__call__``."""
        if isinstance(func, functools.partial):
            inner = Target.of(func.func)
            bound = inner.bound | frozenset(func.keywords)
            return Target(inner.hints_of, inner.name, inner.qualname, "partial of " + inner.kind,
                           inner.doc, bound)  # fmt: skip
        if inspect.isroutine(func) or inspect.isclass(func):
            qualname = getattr(func, "__qualname__", None) or repr(func)
            return Target(func, getattr(func, "__name__", None), qualname, "function",
                           inspect.getdoc(func), frozenset())  # fmt: skip
        cls = type(func)
        call = cls.__call__
        # The doc of `__call__` says what a call does; the class's doc is the fallback.
        doc = inspect.getdoc(call) if call is not None and call.__doc__ else inspect.getdoc(cls)
        return Target(call, cls.__name__, f"{cls.__qualname__} instance", "callable object",
                       doc, frozenset())  # fmt: skip


def read_signature(
    func: Callable[..., Any], target: Target, where: str
) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    """The parameters the caller does not bind, and the resolved type hints of ``target``.

    Raises:
        UserError: The signature or a type hint cannot be read.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise UserError(f"Cannot read the signature of {where}: {exc}") from exc
    try:
        hints = typing.get_type_hints(target.hints_of, include_extras=True)
    except NameError as exc:
        raise UserError(
            f"Cannot resolve the type hints of {where}: {exc}; the names its annotations "
            "use must be importable from its module (define them at module level, not "
            "inside a function or under `if TYPE_CHECKING:`)"
        ) from exc
    except Exception as exc:  # TypeError...: an annotation that is not a type
        raise UserError(f"Cannot resolve the type hints of {where}: {exc}") from exc
    hints = {k: modern_typed_dicts(v) for k, v in hints.items()}
    params = [p for p in signature.parameters.values() if p.name not in target.bound]
    return params, hints


def _all_parameter_names(target: Target) -> set[str]:
    # A partial's docstring also documents the parameters the partial binds.
    if not target.kind.startswith("partial"):
        return set()
    try:
        return set(inspect.signature(target.hints_of).parameters)
    except (TypeError, ValueError):
        return set()


def _unbound_method_check(
    func: Callable[..., Any], params: list[inspect.Parameter], hints: dict[str, Any], where: str
) -> None:
    qualname = getattr(func, "__qualname__", "")
    owner = qualname.rpartition(".")[0]
    if (
        inspect.isfunction(func)
        and params
        and params[0].name in ("self", "cls")
        and params[0].name not in hints
        and owner
        and not owner.endswith("<locals>")
    ):
        raise UserError(
            f"{where} is a method taken from its class: the model cannot supply "
            f"{params[0].name!r}. Make the tool from an instance's method "
            f"(tool(instance.{func.__name__})), or make it a @staticmethod"
        )


def is_context(hint: Any, context_type: type | None) -> bool:
    """Whether ``hint`` is the injected context type (``RunContext`` or ``RunContext[X]``)."""
    if context_type is None or hint is None:
        return False
    if typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    return hint is context_type or typing.get_origin(hint) is context_type


def _check_parameter(
    param: inspect.Parameter, hints: dict[str, Any], context_type: type | None, where: str
) -> None:
    kind = param.kind
    if kind is inspect.Parameter.VAR_POSITIONAL:
        raise UserError(
            f"Parameter *{param.name} of {where}: a tool takes named parameters only, not *args"
        )
    if kind is inspect.Parameter.VAR_KEYWORD:
        raise UserError(
            f"Parameter **{param.name} of {where}: a tool takes named parameters only, not **kwargs"
        )
    if kind is inspect.Parameter.POSITIONAL_ONLY:
        raise UserError(
            f"Parameter {param.name!r} of {where} is positional-only; tools are called "
            "with keyword arguments, remove the '/'"
        )
    if param.name not in hints:
        raise UserError(f"Parameter {param.name!r} of {where} has no type annotation")
    if is_context(hints[param.name], context_type):
        raise UserError(
            f"Parameter {param.name!r} of {where} is a run context: it must be the first parameter"
        )


def check_parameters(
    func: Callable[..., Any],
    target: Target,
    params: list[inspect.Parameter],
    names: set[str],
    hints: dict[str, Any],
    documented: Mapping[str, str],
    context_type: type | None,
    where: str,
) -> None:
    """Reject parameters a tool cannot take, and docstring entries for no parameter.

    Args:
        func: The callable itself (to spot a method taken from its class).
        target: What ``func``'s schema is read from.
        params: The parameters the model supplies (a leading context parameter removed).
        names: The names of all the parameters read, the context parameter included.
        hints: The resolved type hints of ``target``.
        documented: The parameter descriptions the docstring gives, by name.
        context_type: The injected context class (``RunContext``), if any.
        where: How error messages name the callable.

    Raises:
        UserError: The message names the parameter and says what to do instead.
    """
    _unbound_method_check(func, params, hints, where)
    for param in params:
        _check_parameter(param, hints, context_type, where)
    known = names | _all_parameter_names(target)
    for doc_name in documented:
        if doc_name not in known:
            raise UserError(
                f"The docstring of {where} documents parameter {doc_name!r}, "
                "which is not in its signature"
            )


def tool_name_and_place(target: Target, name: str | None) -> tuple[str, str]:
    """The tool's name (``name`` or the callable's), checked, and how errors name it.

    Raises:
        UserError: There is no usable name, or it breaks the 1-64 ``[A-Za-z0-9_-]`` rule.
    """
    tool_name = name if name is not None else target.name
    if tool_name is None or tool_name == "<lambda>":
        raise UserError(
            f"Cannot make a tool of {target.qualname!r}: it has no usable name; "
            "pass name=... to @tool"
        )
    if not isinstance(tool_name, str) or not TOOL_NAME.fullmatch(tool_name):
        raise UserError(
            f"Invalid tool name {tool_name!r} for {target.qualname!r}: "
            "use 1-64 letters, digits, '_' or '-'"
        )
    where = f"{target.kind} {target.qualname!r}"
    if tool_name != target.name:
        where += f" (tool {tool_name!r})"
    return tool_name, where
