"""``function_schema``: the steps that turn a typed callable into a ``FunctionSchema``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticUserError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from agentkit.errors import UserError
from agentkit.schema.argument_errors import expected_kind
from agentkit.schema.docstrings import DocstringFormat, parse_docstring
from agentkit.schema.fields import ModelFields, build_model, model_fields
from agentkit.schema.inline import self_contained
from agentkit.schema.signature import (
    Target,
    check_parameters,
    is_context,
    read_signature,
    tool_name_and_place,
)
from agentkit.schema.strict import Strictifier
from agentkit.schema.type_fixes import has_lazy_items, models_keeping_extras, unsendable
from agentkit.schema.validation import FunctionSchema

__all__ = ["function_schema"]

# The logger's name predates the package: users filter on it.
_log = logging.getLogger("agentkit.schema")


def function_schema(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    context_type: type | None = None,
    docstring_format: DocstringFormat = "auto",
) -> FunctionSchema:
    """Build the schema and argument validator of ``func``; see the module docstring.

    Args:
        func: A plain or async function with annotated parameters, a bound method, a
            callable object (its ``__call__`` is read) or a ``functools.partial`` (the
            arguments it binds are left out of the schema).
        name: The tool name; the function's ``__name__`` by default.
        description: The tool description; the docstring's by default.
        strict: Produce OpenAI's strict-mode subset.
        context_type: The generic class whose instances are injected (``RunContext``);
            passed in because this module sits below the one defining it.
        docstring_format: How to read the docstring: ``"auto"`` (detect the style),
            ``"google"``, ``"numpy"``, ``"rest"``, ``"epydoc"``, or ``"none"`` (the whole
            docstring is the description, no parameter descriptions).

    Raises:
        UserError: The function cannot become a tool; the message names the function and
            the parameter and says what to do instead.
    """
    target = Target.of(func)
    tool_name, where = tool_name_and_place(target, name)
    params, hints = read_signature(func, target, where)
    doc_summary, doc_params = parse_docstring(target.doc, docstring_format, where)
    takes_context = bool(params) and is_context(hints.get(params[0].name), context_type)
    context_hint = hints.get(params[0].name) if takes_context else None
    names = {p.name for p in params}
    if takes_context:
        params = params[1:]
    check_parameters(func, target, params, names, hints, doc_params, context_type, where)
    fields = model_fields(params, hints, doc_params, strict, names)
    model = build_model(tool_name, fields.fields, params, hints, where)
    _refuse_unsendable(model, where)
    parameters = _parameters(model, fields, strict, where)
    final_description = description if description is not None else doc_summary
    if not final_description:
        _log.warning(
            "Tool %r (%s) has no description: the model sees only its name and parameters; "
            "give it a docstring or description=...",
            tool_name,
            where,
        )
    return FunctionSchema(
        name=tool_name,
        description=final_description,
        parameters=parameters,
        arguments_model=model,
        strict=strict,
        takes_context=takes_context,
        _renamed=fields.renamed,
        _null_defaults=fields.null_defaults,
        _expected={p: expected_kind(s) for p, s in parameters["properties"].items()},
        _lazy=has_lazy_items(model),
        context_hint=context_hint,
    )


def _parameters(
    model: type[BaseModel], fields: ModelFields, strict: bool, where: str
) -> dict[str, Any]:
    """The JSON schema the model sees: self-contained, defaults shown, strict if asked."""
    try:
        raw = model.model_json_schema()
    except (PydanticInvalidForJsonSchema, PydanticUserError) as exc:
        reason = str(exc).splitlines()[0]  # not pydantic's "further information" link
        raise UserError(
            f"Cannot build a JSON schema for {_culprit(model, fields)}of {where}: {reason}; "
            "use a type with a JSON form (str, int, float, bool, a list or dict of them, a "
            "pydantic model, a dataclass, a TypedDict, an Enum...)"
        ) from exc
    parameters = self_contained(raw)
    for param_name, default in fields.null_defaults:
        # The field is required in the model, so pydantic left the default out: show it.
        node = parameters["properties"].get(_property_name(model, fields, param_name))
        if default.factory is None and node is not None:
            # ValueError: bytes that are not UTF-8 (UnicodeDecodeError); not shown then.
            with contextlib.suppress(PydanticSerializationError, ValueError):
                node["default"] = to_jsonable_python(default.value)
    if strict:
        _refuse_kept_extras(model, where)
        Strictifier(parameters, where).run()
    return parameters


def _refuse_unsendable(model: type[BaseModel], where: str) -> None:
    # Such a tool would fail at every call, with pydantic's wording, for any arguments.
    found = unsendable(model)
    if found is not None:
        raise UserError(f"A parameter of {where} has a type no JSON value is accepted for: {found}")


def _culprit(model: type[BaseModel], fields: ModelFields) -> str:
    """``"parameter 'x' "`` for the first parameter with no JSON schema, else ``""``."""
    from pydantic import TypeAdapter  # the rare path only

    renamed = dict(fields.renamed)
    for field, (annotation, _) in fields.fields.items():
        try:
            TypeAdapter(annotation).json_schema()
        except (PydanticInvalidForJsonSchema, PydanticUserError):
            return f"parameter {renamed.get(field, field)!r} "
        except Exception:  # another error: not the one looked for
            continue
    return ""


def _property_name(model: type[BaseModel], fields: ModelFields, param: str) -> str:
    """The schema's key for ``param``: its alias (``Field(alias=...)``) if it has one."""
    field = next((f for f, p in fields.renamed if p == param), param)
    info = model.model_fields[field]
    alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
    return alias or field


def _refuse_kept_extras(model: type[BaseModel], where: str) -> None:
    # Strict mode gives every object additionalProperties: false, which would be untrue of
    # a model that accepts extra keys on purpose.
    kept = models_keeping_extras(model)
    if kept:
        names = ", ".join(repr(k) for k in kept)
        raise UserError(
            f"Cannot make {where} strict: model {names} sets extra='allow' or 'ignore' in "
            "its model_config (or dataclass/TypedDict config), so it accepts keys that "
            "strict mode says are refused; remove that extra= (agentkit then rejects extra "
            "keys), or use strict=False"
        )
