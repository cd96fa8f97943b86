"""Type rewrites and value checks the schema builder needs around pydantic's limits.

- ``modern_typed_dicts``: pydantic refuses ``typing.TypedDict`` before Python 3.12; the
  same class rebuilt as a ``typing_extensions.TypedDict`` is accepted.
- ``has_lazy_items`` / ``drain``: pydantic validates ``Iterable[X]`` (and ``Iterator``,
  ``Generator``) lazily, item by item while the function consumes it, so a bad item would
  surface as a raw ``ValidationError`` in the middle of the tool's body. The arguments are
  drained into lists before the call instead, and a bad item is a ``ToolArgumentsError``.
- ``forbid_extras``: a nested dataclass or TypedDict inherits the argument model's
  ``extra="forbid"``, but a nested pydantic model (or pydantic dataclass) keeps its own
  config, whose default silently drops extra keys. A model that leaves ``extra`` unset is
  replaced by a subclass that forbids them (same name, qualname, module and docstring, so
  the schema only gains ``additionalProperties: false``); one that sets ``extra`` keeps its
  choice. The walk goes through dataclass and TypedDict fields too: a dataclass holding such
  a model is validated through a subclass declaring the rewritten fields (the instance built
  is still of the user's class), a TypedDict is rebuilt with them.
- ``models_keeping_extras``: the nested models that accept extra keys on purpose, which
  strict mode cannot express.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
import json
import operator
import sys
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typing_extensions
from pydantic import BaseModel, ConfigDict, RootModel, ValidationError
from pydantic.dataclasses import is_pydantic_dataclass
from typing_extensions import is_typeddict

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
_REQUIRED_MARKS = {typing_extensions.Required, typing_extensions.NotRequired}
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
    """``hint`` with every pydantic model in it (nested ones included, also inside
    dataclasses and TypedDicts) that leaves ``extra`` unset replaced by a subclass
    forbidding extra keys; unchanged when none does.

    The function still receives instances of the user's classes (``isinstance`` holds).
    """
    if isinstance(hint, type) and not _holds_model(hint, set()):
        return hint  # the common case (str, int, a plain dataclass...): nothing to rewrite
    built: dict[Any, Any] = {}
    new = _rewrite(hint, _model_leaf, built)
    models = {c: s for c, s in built.items() if issubclass(c, BaseModel)}
    pending = [s for c, s in models.items() if s is not c and c not in _FORBIDDING]
    names = {_placeholder(c).__forward_arg__: s for c, s in models.items()}
    for sub in pending:
        if not sub.__pydantic_complete__:  # it refers to a recursive model: resolve now
            sub.model_rebuild(_types_namespace=names)
    for cls, sub in built.items():
        if not is_typeddict(cls):  # a TypedDict is cheap to rebuild (and may be a copy)
            _FORBIDDING.setdefault(cls, sub)
    return new


def _placeholder(cls: type[BaseModel]) -> typing.ForwardRef:
    # Stands for ``cls``'s subclass while it is being built (a recursive model).
    # An identifier: the name of a parametrized generic model ("Page[Item]") is not one.
    return typing.ForwardRef(f"agentkit_forbid_{id(cls)}")


def _model_leaf(hint: Any, done: dict[Any, Any]) -> Any:
    if not isinstance(hint, type):
        return None
    if hint in _FORBIDDING:
        return _FORBIDDING[hint]
    if hint in done:
        return done[hint]
    if issubclass(hint, BaseModel):
        # A model naming a class defined after it is completed on first use, as pydantic
        # itself would; one that stays unresolved is reported by pydantic on its class.
        if not hint.__pydantic_complete__ and not hint.model_rebuild(raise_errors=False):
            return hint
        return _forbidding(hint, done)
    if not _holds_model(hint, set()):
        return None
    if is_typeddict(hint):
        return _typed_dict_forbidding(hint, done)
    if dataclasses.is_dataclass(hint):
        return _dataclass_forbidding(hint, done)
    return None


def _holds_model(hint: Any, seen: set[Any]) -> bool:
    """Whether a pydantic model or pydantic dataclass is in ``hint``, at any depth
    (through dataclass and TypedDict fields too)."""
    if not isinstance(hint, type):
        return any(_holds_model(a, seen) for a in typing.get_args(hint))
    if hint in seen:
        return False
    if issubclass(hint, BaseModel) or is_pydantic_dataclass(hint):
        return True
    if not (dataclasses.is_dataclass(hint) or is_typeddict(hint)):
        return False
    seen.add(hint)
    return any(_holds_model(h, seen) for h in _field_hints(hint).values())


def _field_hints(cls: type) -> dict[str, Any]:
    """The resolved hints of a dataclass's fields or a TypedDict's keys ({} if unreadable:
    pydantic then reports the problem on the user's class)."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:
        return {}
    if not dataclasses.is_dataclass(cls):
        return hints
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name in hints}


def _typed_dict_forbidding(cls: Any, done: dict[Any, Any]) -> Any:
    # Built first with placeholder values, so that a recursive key can refer to it.
    required: Any = typing_extensions.Required
    not_required: Any = typing_extensions.NotRequired
    keys: dict[str, tuple[Any, Any]] = {}  # key -> (Required or NotRequired, its type)
    for key, value in _field_hints(cls).items():
        mark = typing.get_origin(value)
        if mark in _REQUIRED_MARKS:  # written on the key: more reliable than
            value = typing.get_args(value)[0]  # __required_keys__ under string annotations
        else:
            mark = required if key in cls.__required_keys__ else not_required
        keys[key] = (mark, value)
    make: Any = typing_extensions.TypedDict
    new: Any = make(cls.__name__, {k: wrap[Any] for k, (wrap, _) in keys.items()})
    new.__module__, new.__qualname__, new.__doc__ = cls.__module__, cls.__qualname__, cls.__doc__
    if hasattr(cls, "__pydantic_config__"):
        new.__pydantic_config__ = cls.__pydantic_config__
    done[cls] = new
    for key, (wrap, value) in keys.items():
        new.__annotations__[key] = wrap[_rewrite(value, _model_leaf, done)]
    return new


def _dataclass_forbidding(cls: Any, done: dict[Any, Any]) -> Any:
    # A subclass declaring the rewritten fields, validated as the user's class (see
    # _BuildAs); made a dataclass only once its fields are known, so that a recursive
    # field can refer to it.
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    config = getattr(cls, "__pydantic_config__", None)
    if is_pydantic_dataclass(cls) and "extra" not in (config or {}):
        namespace["__pydantic_config__"] = {**(config or {}), "extra": "forbid"}
    sub: Any = type(cls.__name__, (cls,), namespace)
    marked = _ANNOTATED[sub, _BuildAs(cls)]
    done[cls] = marked
    hints = _field_hints(cls)
    annotations: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in hints:
            continue
        new = _rewrite(hints[f.name], _model_leaf, done)
        if new is not hints[f.name]:
            annotations[f.name] = new
            setattr(sub, f.name, _copy_field(f))
    sub.__annotations__ = annotations
    frozen = cls.__dataclass_params__.frozen
    dataclasses.dataclass(sub, init=False, repr=False, eq=False, frozen=frozen)
    sub.__doc__ = cls.__doc__  # not the signature the decorator writes for an empty one
    return marked


def _copy_field(f: dataclasses.Field[Any]) -> Any:
    return dataclasses.field(
        default=f.default,
        default_factory=f.default_factory,
        init=f.init,
        repr=f.repr,
        hash=f.hash,
        compare=f.compare,
        metadata=f.metadata,
        kw_only=f.kw_only,
    )


class _BuildAs:
    """``Annotated`` metadata: validate as the stand-in dataclass, build the user's class.

    Pydantic builds a dataclass instance with ``cls.__new__`` and fills its fields (then
    calls ``__post_init__``), so naming the user's class in the core schema gives exactly
    the instance validating the user's class would; the JSON schema takes its title,
    description and config from it too. A pydantic dataclass cannot be named there (its
    own prebuilt validator would be used instead, extras and all): the stand-in's instance
    is copied into one of the user's class.
    """

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        if is_pydantic_dataclass(self.cls):
            from pydantic_core import core_schema

            return core_schema.no_info_after_validator_function(self._copied, schema)
        try:
            node = handler.resolve_ref_schema(schema)
        except LookupError:
            return schema  # a recursive use inside its own definition: set by the outer use
        while node.get("type") != "dataclass" and isinstance(node.get("schema"), dict):
            node = node["schema"]  # validators wrapped around it
        if node.get("type") == "dataclass":
            node["cls"] = self.cls
        return schema

    def _copied(self, value: Any) -> Any:
        twin: Any = object.__new__(self.cls)
        state = dict(getattr(value, "__dict__", {}))
        for f in dataclasses.fields(self.cls):
            if f.name not in state and hasattr(value, f.name):
                state[f.name] = getattr(value, f.name)  # a slot
        for key, item in state.items():
            object.__setattr__(twin, key, item)  # also when frozen
        return twin


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
    """The names of the models, dataclasses and TypedDicts in ``model``'s fields whose
    config accepts extra keys."""
    found: dict[str, None] = {}
    _find_kept_extras(model.__pydantic_core_schema__, found)
    return list(found)


_CLASS_NODES = ("model", "dataclass", "typed-dict")


def _find_kept_extras(node: Any, found: dict[str, None]) -> None:
    # The same plain walk as ``_mentions_generator``; a class's node carries its config.
    if isinstance(node, dict):
        config = node.get("config", {})
        kept = config.get("extra_fields_behavior") in ("allow", "ignore")
        if kept and node.get("type") in _CLASS_NODES and "cls" in node:
            found[node["cls"].__qualname__] = None
        for v in node.values():
            _find_kept_extras(v, found)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _find_kept_extras(v, found)


def unsendable(model: type[BaseModel]) -> str | None:
    """A type in ``model``'s fields that no JSON value validates as, said in a few words.

    Pydantic gives these a schema, yet refuses every value a model can send: ``type[X]``,
    ``Literal`` of a plain Enum's member (only the member itself matches, and JSON has
    none), an Enum whose values are not JSON scalars (a tuple never equals a JSON array).
    """
    return _find_unsendable(model.__pydantic_core_schema__)


def _find_unsendable(node: Any) -> str | None:
    # The same plain walk as ``_mentions_generator``.
    if isinstance(node, (list, tuple)):
        return next((f for f in map(_find_unsendable, node) if f is not None), None)
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    # Arguments are validated strictly from JSON: only those branches count.
    if kind == "json-or-python":
        return _find_unsendable(node.get("json_schema"))
    if kind == "lax-or-strict":
        return _find_unsendable(node.get("strict_schema"))
    if kind == "is-subclass":
        return f"type[{node['cls'].__qualname__}] (a class, which JSON cannot carry)"
    if kind == "literal":
        for value in node.get("expected", ()):
            if isinstance(value, enum.Enum) and not isinstance(value, (str, int)):
                return (
                    f"Literal[{value!s}] (a member of a plain Enum matches only itself: "
                    f"use the Enum, Literal[{value.value!r}], or a str or int Enum)"
                )
    if kind == "enum":
        for member in node.get("members", ()):
            if not isinstance(member.value, (str, int, float, bool, type(None))):
                return f"Enum {member!s} (its value {member.value!r} has no JSON form)"
    return next((f for f in map(_find_unsendable, node.values()) if f is not None), None)


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
