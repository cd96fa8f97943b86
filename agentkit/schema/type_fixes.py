"""Type rewrites and value checks the schema builder needs around pydantic's limits.

- ``modern_typed_dicts``: pydantic refuses ``typing.TypedDict`` before Python 3.12; the
  same class rebuilt as a ``typing_extensions.TypedDict`` is accepted.
- ``has_lazy_items`` / ``drain``: pydantic validates ``Iterable[X]`` (and ``Iterator``,
  ``Generator``) lazily, item by item while the function consumes it, so a bad item would
  surface as a raw ``ValidationError`` in the middle of the tool's body. The arguments are
  drained into lists before the call instead, and a bad item is a ``ToolArgumentsError``.
- ``forbid_extras``: a nested dataclass or TypedDict inherits the argument model's
  ``extra="forbid"``, but a nested pydantic model keeps its own config, whose default
  silently drops extra keys. A model that leaves ``extra`` unset is replaced by a subclass
  that forbids them (same name, qualname, module and docstring, so the schema only gains
  ``additionalProperties: false``); one that sets ``extra`` keeps its choice.
- ``models_keeping_extras``: the nested models that accept extra keys on purpose, which
  strict mode cannot express.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import operator
import sys
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, RootModel, ValidationError

from agentkit.errors import ToolArgumentsError

__all__ = [
    "drain",
    "forbid_extras",
    "has_lazy_items",
    "models_keeping_extras",
    "modern_typed_dicts",
]

_OLD_TYPED_DICT = sys.version_info < (3, 12)
_ANNOTATED: Any = Annotated  # subscripted with runtime tuples
_UNION: Any = typing.Union  # subscripted with runtime tuples (which may hold ForwardRefs)
# A leaf rewrite: the replacement of a hint it handles, None for the others.
_Leaf = Callable[[Any, dict[Any, Any]], Any]


def modern_typed_dicts(hint: Any) -> Any:
    """``hint`` with every ``typing.TypedDict`` in it rebuilt as a ``typing_extensions`` one
    (only before Python 3.12; unchanged otherwise and when there is none)."""
    if not _OLD_TYPED_DICT:
        return hint
    return _rewrite(hint, _typed_dict_leaf, {})


def _typed_dict_leaf(hint: Any, done: dict[Any, Any]) -> Any:
    is_old = isinstance(hint, type) and type(hint) is getattr(typing, "_TypedDictMeta", None)
    return _rebuild(hint, done) if is_old else None


def _rewrite(hint: Any, leaf: _Leaf, done: dict[Any, Any]) -> Any:
    """``hint`` with what ``leaf`` handles replaced, inside unions, generics, Annotated."""
    replaced = leaf(hint, done)
    if replaced is not None:
        return replaced
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if not args or origin is typing.Literal:
        return hint
    if origin is Annotated:
        inner = _rewrite(args[0], leaf, done)
        if inner is args[0]:
            return hint
        parts = (inner, *hint.__metadata__)
        return _ANNOTATED[parts]
    new = tuple(_rewrite(a, leaf, done) for a in args)
    if all(n is a for n, a in zip(new, args, strict=True)):
        return hint
    if isinstance(hint, types.UnionType):
        # ``|`` refuses the ForwardRef standing for a recursive model being rebuilt.
        if any(isinstance(n, typing.ForwardRef) for n in new):
            return _UNION[new]
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
        value = _rewrite(value, _typed_dict_leaf, done)
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


# The forbid-extras subclass of each model already rewritten, so that tools sharing a model
# share it (building a pydantic model is the costly part). Models are module-level in
# practice: a plain dict, as a weak one would never let go (a subclass refers to its base).
_FORBIDDING: dict[type[BaseModel], type[BaseModel]] = {}
# Each forbid-extras subclass -> the user's class it stands in for.
_USER_CLASS: dict[type, type[BaseModel]] = {}
_MODEL_SLOTS = ("__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__")


def forbid_extras(hint: Any) -> Any:
    """``hint`` with every pydantic model in it (nested ones included) that leaves
    ``extra`` unset replaced by a subclass forbidding extra keys; unchanged when none does.

    The function still receives instances of the user's classes (``isinstance`` holds).
    """
    if isinstance(hint, type) and not issubclass(hint, BaseModel):
        return hint  # the common case (str, int, a dataclass...): nothing to walk
    built: dict[Any, Any] = {}
    new = _rewrite(hint, _model_leaf, built)
    pending = [s for c, s in built.items() if s is not c and c not in _FORBIDDING]
    names = {_placeholder(c).__forward_arg__: s for c, s in built.items()}
    for sub in pending:
        if not sub.__pydantic_complete__:  # it refers to a recursive model: resolve now
            sub.model_rebuild(_types_namespace=names)
    for cls, sub in built.items():
        _FORBIDDING.setdefault(cls, sub)
    return new


def _placeholder(cls: type[BaseModel]) -> typing.ForwardRef:
    # Stands for ``cls``'s subclass while it is being built (a recursive model).
    return typing.ForwardRef(f"{cls.__name__}__agentkit_forbid_{id(cls)}")


def _model_leaf(hint: Any, done: dict[Any, Any]) -> Any:
    if not (isinstance(hint, type) and issubclass(hint, BaseModel)):
        return None
    if hint in _FORBIDDING:
        return _FORBIDDING[hint]
    if hint in done:
        return done[hint]
    if not hint.__pydantic_complete__:
        return hint  # unresolved names: pydantic reports them on the user's class
    return _forbidding(hint, done)


def _forbidding(cls: type[BaseModel], done: dict[Any, Any]) -> type[BaseModel]:
    done[cls] = _placeholder(cls)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        new = _rewrite(info.annotation, _model_leaf, done)
        if new is not info.annotation:
            # Redeclared with a copy of its FieldInfo: default, alias, constraints kept.
            annotations[name] = new
            namespace[name] = copy.copy(info)
    sets_extra = "extra" in cls.model_config or issubclass(cls, RootModel)
    if sets_extra and not annotations:
        done[cls] = cls
        return cls
    if not sets_extra:
        namespace["model_config"] = ConfigDict(extra="forbid")
    namespace["__eq__"] = _eq_as_user_class
    namespace["__hash__"] = _hash_as_user_class if cls.__hash__ is not None else None
    namespace.update(
        __annotations__=annotations,
        __module__=cls.__module__,
        __qualname__=cls.__qualname__,
        __doc__=cls.__doc__,
    )
    sub: type[BaseModel] = type(cls.__name__, (cls,), namespace)
    _USER_CLASS[sub] = cls
    done[cls] = sub
    return sub


def _as_user_class(value: Any) -> Any:
    """``value`` as an instance of the user's class if it is one of a forbid subclass."""
    user = _USER_CLASS.get(type(value))
    if user is None:
        return value
    twin = user.__new__(user)
    for slot in _MODEL_SLOTS:
        object.__setattr__(twin, slot, getattr(value, slot, None))
    return twin


def _eq_as_user_class(self: BaseModel, other: object) -> bool:
    # Pydantic's == wants the exact same class: an argument must still equal the same
    # value built from the user's class. (A subclass's __eq__ is tried first either way.)
    user_self: BaseModel = _as_user_class(self)
    return user_self.__eq__(_as_user_class(other))


def _hash_as_user_class(self: BaseModel) -> int:
    # A frozen model's hash includes its class: equal values must hash alike.
    return hash(_as_user_class(self))


def models_keeping_extras(model: type[BaseModel]) -> list[str]:
    """The names of the models in ``model``'s fields whose config accepts extra keys."""
    found: dict[str, None] = {}
    _find_kept_extras(model.__pydantic_core_schema__, found)
    return list(found)


def _find_kept_extras(node: Any, found: dict[str, None]) -> None:
    # The same plain walk as ``_mentions_generator``; a model node carries its config.
    if isinstance(node, dict):
        if node.get("type") == "model" and node.get("config", {}).get("extra_fields_behavior") in (
            "allow",
            "ignore",
        ):
            found[node["cls"].__qualname__] = None
        for v in node.values():
            _find_kept_extras(v, found)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _find_kept_extras(v, found)


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
