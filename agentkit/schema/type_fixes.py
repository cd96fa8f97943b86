"""Type rewrites and value checks the schema builder needs around pydantic's limits.

- ``modern_typed_dicts``: pydantic refuses ``typing.TypedDict`` before Python 3.12; the
  same class rebuilt as a ``typing_extensions.TypedDict`` is accepted.
- ``has_lazy_items`` / ``drain``: pydantic validates ``Iterable[X]`` (and ``Iterator``,
  ``Generator``) lazily, item by item while the function consumes it, so a bad item would
  surface as a raw ``ValidationError`` in the middle of the tool's body. The arguments are
  drained into lists before the call instead, and a bad item is a ``ToolArgumentsError``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
import sys
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from agentkit.errors import ToolArgumentsError

__all__ = ["drain", "has_lazy_items", "modern_typed_dicts"]

_OLD_TYPED_DICT = sys.version_info < (3, 12)
_ANNOTATED: Any = Annotated  # subscripted with runtime tuples


def modern_typed_dicts(hint: Any) -> Any:
    """``hint`` with every ``typing.TypedDict`` in it rebuilt as a ``typing_extensions`` one
    (only before Python 3.12; unchanged otherwise and when there is none)."""
    if not _OLD_TYPED_DICT:
        return hint
    return _rewrite(hint, {})


def _is_typing_typed_dict(hint: Any) -> bool:
    return isinstance(hint, type) and type(hint) is getattr(typing, "_TypedDictMeta", None)


def _rewrite(hint: Any, done: dict[Any, Any]) -> Any:
    if _is_typing_typed_dict(hint):
        return _rebuild(hint, done)
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if not args or origin is typing.Literal:
        return hint
    if origin is Annotated:
        inner = _rewrite(args[0], done)
        if inner is args[0]:
            return hint
        parts = (inner, *hint.__metadata__)
        return _ANNOTATED[parts]
    new = tuple(_rewrite(a, done) for a in args)
    if all(n is a for n, a in zip(new, args, strict=True)):
        return hint
    if isinstance(hint, types.UnionType):
        return functools.reduce(operator.or_, new)
    if isinstance(hint, types.GenericAlias):
        return types.GenericAlias(origin, new)
    return hint.copy_with(new)


def _rebuild(cls: Any, done: dict[Any, Any]) -> Any:
    import typing_extensions

    if cls in done:
        # A recursive TypedDict refers to itself while being rebuilt: left to pydantic,
        # whose error then says to use typing_extensions.TypedDict.
        return done[cls] if done[cls] is not None else cls
    done[cls] = None
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable: pydantic reports it on the original class
        return cls
    fields: dict[str, Any] = {}
    for key, value in hints.items():
        value = _rewrite(value, done)
        if typing.get_origin(value) is not typing_extensions.Required:
            wrap = typing_extensions.Required if key in cls.__required_keys__ else None
            value = wrap[value] if wrap else typing_extensions.NotRequired[value]
        fields[key] = value
    make: Any = typing_extensions.TypedDict
    new: Any = make(cls.__name__, fields)
    new.__module__ = cls.__module__
    new.__qualname__ = cls.__qualname__
    new.__doc__ = cls.__doc__
    done[cls] = new
    return new


def has_lazy_items(model: type[BaseModel]) -> bool:
    """Whether pydantic validates some part of ``model``'s fields lazily (a generator)."""
    return _mentions_generator(model.__pydantic_core_schema__)


def _mentions_generator(node: Any) -> bool:
    # A core schema is plain dicts and lists. Checking against the ``Mapping`` ABC instead
    # would fill its subclass caches with every type met on the way (about 20 KiB).
    if isinstance(node, dict):
        if node.get("type") == "generator":
            return True
        return any(_mentions_generator(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(_mentions_generator(v) for v in node)
    return False


def drain(value: Any, path: str, tool_name: str) -> Any:
    """``value`` with every lazily validated iterable in it validated now, as a list.

    Raises:
        ToolArgumentsError: An item does not fit its type; the message names where.
    """
    if isinstance(value, typing.Iterator) and type(value).__name__ == "ValidatorIterator":
        items: list[Any] = []
        try:
            for item in value:
                items.append(drain(item, f"{path}[{len(items)}]", tool_name))
        except ValidationError as exc:
            raise ToolArgumentsError(tool_name, _lines(exc, path)) from None
        return items
    if isinstance(value, list):
        return [drain(v, f"{path}[{i}]", tool_name) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: drain(v, f"{path}.{k}", tool_name) for k, v in value.items()}
    if isinstance(value, BaseModel):
        for key, sub in value.__dict__.items():
            value.__dict__[key] = drain(sub, f"{path}.{key}", tool_name)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            drained = drain(getattr(value, f.name), f"{path}.{f.name}", tool_name)
            object.__setattr__(value, f.name, drained)
    return value


def _lines(exc: ValidationError, path: str) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        where = path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        got = json.dumps(error["input"], ensure_ascii=False, default=repr)[:40]
        lines.append(f"{where}: {error['msg']}, got {got}")
    return lines
