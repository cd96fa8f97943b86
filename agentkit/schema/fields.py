"""Turn each parameter into a pydantic field, and the fields into the argument model.

Pydantic ``Field(...)`` objects, in ``Annotated`` or as the default, are merged into one
field; a description in the type wins over the docstring's. Nested pydantic models that
leave ``extra`` unset are made to forbid extra keys, as the argument model itself does. A
parameter whose name clashes with a ``BaseModel`` attribute gets a free field name and
keeps its own as the alias.
"""

from __future__ import annotations

import inspect
import keyword
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from agentkit._record import record
from agentkit.errors import UserError
from agentkit.schema.type_fixes import forbid_extras
from agentkit.schema.validation import Default

__all__ = ["ModelFields", "build_model", "model_fields"]


@record(frozen=True, slots=True)
class ModelFields:
    """The argument model's fields, and what validation must undo or fill in afterwards.

    Attributes:
        fields: ``create_model`` keyword arguments: field name -> (annotation, FieldInfo).
        renamed: (field name, parameter name) for each parameter renamed to avoid a clash.
        null_defaults: Strict mode: (parameter, default) for each one ``null`` stands for.
    """

    fields: dict[str, Any]
    renamed: tuple[tuple[str, str], ...]
    null_defaults: tuple[tuple[str, Default], ...]


def model_fields(
    params: list[inspect.Parameter],
    hints: Mapping[str, Any],
    doc_params: Mapping[str, str],
    strict: bool,
    taken: set[str],
) -> ModelFields:
    """The fields of the argument model for ``params`` (``taken``: names not to reuse)."""
    fields: dict[str, Any] = {}
    renamed: list[tuple[str, str]] = []
    null_defaults: list[tuple[str, Default]] = []
    for param in params:
        annotation, info, default = _field(param, hints[param.name], doc_params, strict)
        if default is not None:
            null_defaults.append((param.name, default))
        field_name = param.name
        if _clashes(param.name):
            field_name = _free_name(param.name, taken | set(fields))
            renamed.append((field_name, param.name))
            info = FieldInfo.merge_field_infos(info, Field(alias=param.name))
        fields[field_name] = (annotation, info)
    return ModelFields(fields, tuple(renamed), tuple(null_defaults))


def _field(
    param: inspect.Parameter, hint: Any, doc_params: Mapping[str, str], strict: bool
) -> tuple[Any, FieldInfo, Default | None]:
    """The model field of one parameter, and its default when ``null`` stands for it.

    Pydantic ``Field(...)`` objects, in ``Annotated`` or as the parameter's default, are
    merged into one field so that their constraints, descriptions and defaults all count.
    """
    base, infos = _split_field_infos(forbid_extras(hint))
    if isinstance(param.default, FieldInfo):
        infos.append(param.default)
    elif param.default is not inspect.Parameter.empty:
        infos.append(Field(default=param.default))
    desc = _annotated_description(hint)
    if desc is None and isinstance(param.default, FieldInfo):
        desc = param.default.description
    desc = desc or doc_params.get(param.name)
    merged = FieldInfo.merge_field_infos(*infos) if infos else Field()
    default: Default | None = None
    if merged.default_factory is not None:
        default = Default(None, typing.cast(Callable[[], Any], merged.default_factory))
    elif merged.default is not PydanticUndefined and merged.default is not Ellipsis:
        default = Default(merged.default)
    overrides: dict[str, Any] = {"description": desc}
    annotation = base
    if default is None:
        overrides["default"] = PydanticUndefined
    elif strict:
        # The strict schema requires every argument; the model sends null for "default".
        annotation = Optional[base]  # noqa: UP045 - base is a runtime object
        overrides.update(default=PydanticUndefined, default_factory=None)
    elif default.factory is None and default.value is None and not _admits_none(base):
        # ``x: str = None``: the schema shows "default": null, so null must be accepted
        # (as strict mode does); the function gets its default, None.
        annotation = Optional[base]  # noqa: UP045 - base is a runtime object
    info = FieldInfo.merge_field_infos(merged, **overrides)
    return annotation, info, default if strict else None


def _admits_none(hint: Any) -> bool:
    """Whether ``hint`` already accepts ``None`` (``X | None``, ``Any``, ``Literal[None]``...)."""
    if typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    if hint is None or hint is type(None) or hint is Any or hint is object:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_admits_none(a) for a in typing.get_args(hint))
    return origin is typing.Literal and None in typing.get_args(hint)


def _split_field_infos(hint: Any) -> tuple[Any, list[FieldInfo]]:
    """``Annotated[X, Field(...), "text"]`` -> ``(Annotated[X, "text"], [Field(...)])``."""
    if typing.get_origin(hint) is not Annotated:
        return hint, []
    base, *metadata = typing.get_args(hint)
    infos = [m for m in metadata if isinstance(m, FieldInfo)]
    rest = [m for m in metadata if not isinstance(m, FieldInfo)]
    if not rest:
        return base, infos
    annotated: Any = Annotated
    parts = (base, *rest)
    return annotated[parts], infos


def _clashes(name: str) -> bool:
    return name.startswith(("_", "model_")) or hasattr(BaseModel, name) or keyword.iskeyword(name)


def _free_name(name: str, taken: set[str]) -> str:
    candidate = f"arg_{name.lstrip('_')}"
    while candidate in taken or _clashes(candidate):
        candidate += "_"
    return candidate


def build_model(
    tool_name: str,
    fields: dict[str, Any],
    params: list[inspect.Parameter],
    hints: dict[str, Any],
    where: str,
) -> type[BaseModel]:
    """The pydantic model validating the arguments (``extra="forbid"``).

    Raises:
        UserError: Pydantic cannot handle a parameter's type; the message names it.
    """
    try:
        return create_model(
            f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        error: Exception = exc
    # Rare path: find which parameter pydantic could not handle, to name it. (TypeAdapter
    # is imported here: pydantic loads its module on first use, and only this path needs it.)
    from pydantic import TypeAdapter

    for param in params:
        try:
            TypeAdapter(hints[param.name])
        except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
            # Pydantic's advice (arbitrary_types_allowed) is about models, not tools.
            reason = str(exc).splitlines()[0].split(" Set `arbitrary_types_allowed")[0]
            raise UserError(
                f"Parameter {param.name!r} of {where} has an unsupported type "
                f"{hints[param.name]!r}: {reason} Use a type with a JSON form (str, int, "
                "float, bool, a list or dict of them, a pydantic model, a dataclass, a "
                "TypedDict, an Enum...)"
            ) from exc
    raise UserError(f"Cannot build an argument model for {where}: {error}") from error


def _annotated_description(hint: Any) -> str | None:
    if typing.get_origin(hint) is not Annotated:
        return None
    found: str | None = None
    for meta in hint.__metadata__:
        if isinstance(meta, str):
            found = meta
        elif isinstance(meta, FieldInfo) and meta.description:
            found = meta.description
    return found
