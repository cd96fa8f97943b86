"""Turn a typed Python function into a tool definition: name, description, JSON schema, validator.

All the work happens once, in ``function_schema``, when a tool is decorated; validating a
call afterwards is a single pydantic call on an argument model built here.

How a schema is built:

1. ``inspect.signature`` and ``typing.get_type_hints(include_extras=True)`` give each
   parameter's type and default. ``*args``, ``**kwargs``, positional-only and unannotated
   parameters are rejected. A first parameter annotated with the context type
   (``RunContext[...]``) is left out: the caller injects it, the model never sees it.
   A callable object is read through its ``__call__``; a ``functools.partial`` through its
   function, minus the arguments it binds. A pydantic ``Field(...)`` is honoured both inside
   ``Annotated`` and as the default (its constraints, description and default all count).
   Before Python 3.12, ``typing.TypedDict`` classes are rebuilt as ``typing_extensions`` ones,
   which pydantic accepts.
2. The docstring (Google, NumPy, reST or Epydoc, read by ``docstring-parser``; the style is
   detected, or set with ``docstring_format=``) gives the tool description (summary and long
   description) and the parameter descriptions. A tool that ends up without a description
   is logged as a warning on the ``agentkit.schema`` logger.
   **Precedence rule:** a description given in the type itself (``Annotated[X, "text"]`` or
   ``Annotated[X, Field(description="text")]``) wins over the docstring's. A docstring
   parameter that is not in the signature is an error.
3. ``pydantic.create_model`` builds the argument model (``extra="forbid"``) and
   ``model_json_schema`` its schema, which is then made self-contained: every ``$ref`` is
   inlined, so nested models, dataclasses, TypedDicts and enums appear in place. The one
   exception is a recursive type, which cannot be inlined: it stays in ``$defs`` and is
   referenced with ``$ref``. Many OpenAI-compatible servers mishandle ``$ref``; avoid
   recursive parameter types if you target them. Auto-generated ``title`` keys are dropped.
4. In strict mode the schema is rewritten to OpenAI's strict subset (see ``_Strictifier``).

Lazily validated types (``Iterable[X]``) are validated in full before the function runs and
arrive as lists.

Validation is strict JSON validation: ``"5"`` is not accepted for an integer, nor ``1.0``
(send ``1``); ``set[X]`` accepts repeated items and merges them, which is why its schema
does not carry ``uniqueItems``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import keyword
import logging
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.errors import (
    PydanticInvalidForJsonSchema,
    PydanticSchemaGenerationError,
    PydanticUserError,
)
from pydantic.fields import FieldInfo
from pydantic_core import (
    PydanticSerializationError,
    PydanticUndefined,
    to_json,
    to_jsonable_python,
)

from agentkit._schema_types import drain as _drain
from agentkit._schema_types import has_lazy_items as _has_lazy_items
from agentkit._schema_types import modern_typed_dicts as _modern_typed_dicts
from agentkit.errors import ToolArgumentsError, UserError

__all__ = ["DocstringFormat", "FunctionSchema", "function_schema"]

_log = logging.getLogger("agentkit.schema")

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_ERRORS = 5
_EMPTY_OBJECT = b"{}"

# Keywords OpenAI's strict mode accepts. Anything else in a strict schema is reported.
_STRICT_KEYWORDS = frozenset(
    {
        "type", "description", "enum", "const", "anyOf", "$ref", "properties", "required",
        "additionalProperties", "items", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
        "default",
    }
)  # fmt: skip
# Keywords that only inform and that strict mode does not accept: dropped there.
_ANNOTATION_KEYWORDS = frozenset({"examples", "deprecated", "readOnly", "writeOnly", "$comment"})
_STRICT_ADVICE = {
    "prefixItems": "use list[X] or a pydantic model with named fields instead of a tuple",
    "minLength": "use Field(pattern=...) or check the length in the tool and raise ModelRetry",
    "maxLength": "use Field(pattern=...) or check the length in the tool and raise ModelRetry",
    "allOf": "use a single pydantic model",
    "not": "check the value in the tool and raise ModelRetry",
}
# Key order of emitted schemas: the informative keys first, as a person would write them.
_KEY_ORDER = {
    k: i
    for i, k in enumerate(
        ("type", "description", "enum", "const", "properties", "required", "items", "anyOf")
    )
}
# Segments pydantic adds to an error location to name a validator step, not a key.
_VALIDATOR_TAGS = ("function-", "constrained-", "lax-or-strict", "json-or-python", "chain")


@dataclass(frozen=True, slots=True)
class FunctionSchema:
    """Everything derived from a function's signature and docstring, built once.

    Attributes:
        name: The tool name the model calls.
        description: The tool description the model reads.
        parameters: The JSON schema of the arguments (an object schema).
        arguments_model: The pydantic model that validates the arguments.
        strict: Whether ``parameters`` follows OpenAI's strict subset.
        takes_context: Whether the function's first parameter receives a context object.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    arguments_model: type[BaseModel]
    strict: bool
    takes_context: bool
    # Parameters whose model field had to be renamed (it clashes with a BaseModel attribute).
    _renamed: tuple[tuple[str, str], ...]
    # Strict mode: optional parameters are nullable and ``null`` means "use the default".
    _null_defaults: tuple[tuple[str, _Default], ...]
    # Per argument, a few words on what it expects, for error messages.
    _expected: Mapping[str, str]
    # Whether some argument is validated lazily by pydantic (Iterable[X]...): drained here.
    _lazy: bool = False
    # The first parameter's annotation when it takes the context (``RunContext[Deps]``).
    context_hint: Any = None

    def validate(self, arguments: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate a model's arguments and return the keyword arguments for the function.

        Args:
            arguments: The JSON text the model sent (``""`` and ``None`` mean ``{}``), or
                an already-decoded mapping, treated exactly as that JSON would be.

        Raises:
            ToolArgumentsError: The arguments are not valid JSON or do not fit the schema;
                its message is short and written for the model to correct its call.
        """
        model = self.arguments_model
        try:
            if isinstance(arguments, (str, bytes)):
                data = arguments if arguments and not arguments.isspace() else _EMPTY_OBJECT
                validated = model.model_validate_json(data, strict=True)
            elif arguments is None:
                validated = model.model_validate_json(_EMPTY_OBJECT, strict=True)
            elif isinstance(arguments, Mapping):
                validated = self._validate_mapping(arguments)
            else:
                kind = type(arguments).__name__
                raise ToolArgumentsError(
                    self.name, [f"arguments must be a JSON object, got {kind}"]
                )
        except ValidationError as exc:
            raise ToolArgumentsError(self.name, self._describe_errors(exc)) from None
        kwargs = validated.__dict__
        if self._renamed:
            kwargs = dict(kwargs)
            for field_name, param in self._renamed:
                kwargs[param] = kwargs.pop(field_name)
        for param, default in self._null_defaults:
            if kwargs[param] is None:
                kwargs[param] = default.get()
        if self._lazy:
            kwargs = {k: _drain(v, k, self.name) for k, v in kwargs.items()}
        return kwargs

    def _validate_mapping(self, arguments: Mapping[str, Any]) -> BaseModel:
        # A mapping is decoded model output: give it exactly the JSON text semantics.
        try:
            text = to_json(arguments)
        except PydanticSerializationError:
            # Python objects a model could not have sent: the caller built these on purpose.
            return self.arguments_model.model_validate(arguments)
        return self.arguments_model.model_validate_json(text, strict=True)

    def _describe_errors(self, exc: ValidationError) -> list[str]:
        grouped: dict[str, tuple[list[str], list[str]]] = {}
        for error in exc.errors(include_url=False, include_context=True):
            kind = error["type"]
            loc = error["loc"]
            if kind == "json_invalid":
                reason = error.get("ctx", {}).get("error", "invalid JSON")
                return [f"arguments are not valid JSON ({reason})"]
            if not loc:
                return [f"arguments must be a JSON object, got {_json_kind(error['input'])}"]
            path = _path(loc, self.parameters)
            got = ""
            if kind == "missing" and len(loc) == 1:
                expected = self._expected.get(path)
                text = "missing required argument" + (f" (expected {expected})" if expected else "")
            elif kind == "missing":
                text = "missing required field"
            elif kind == "extra_forbidden" and len(loc) == 1:
                allowed = ", ".join(self._expected) or "none, this tool takes no arguments"
                text = f"unexpected argument (allowed: {allowed})"
            elif kind in ("extra_forbidden", "unexpected_keyword_argument"):
                text = "unexpected field"
            else:
                text = error["msg"]
                got = f", got {_json_kind(error['input'])}"
            texts, gots = grouped.setdefault(path, ([], []))
            if text not in texts:
                texts.append(text)
            if got and got not in gots:
                gots.append(got)
        lines = [f"{path}: {' or '.join(t)}{''.join(g)}" for path, (t, g) in grouped.items()]
        if len(lines) > _MAX_ERRORS:
            more = len(lines) - _MAX_ERRORS
            lines = [*lines[:_MAX_ERRORS], f"... and {more} more"]
        return lines


def _path(loc: tuple[int | str, ...], root: dict[str, Any]) -> str:
    """Render pydantic's error location as the model sees it: ``items[2].qty``.

    Pydantic adds segments naming union members and validators (``int``, ``Cat``,
    ``function-after[...]``); walking the schema alongside tells those from real keys.
    """
    defs: dict[str, Any] = root.get("$defs", {})
    node: Any = root
    out = ""
    for i, part in enumerate(loc):
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            node = defs.get(node["$ref"].rsplit("/", 1)[-1])
        if isinstance(part, int):
            out += f"[{part}]"
            node = node.get("items") if isinstance(node, dict) else None
            continue
        branches = node.get("anyOf", node.get("oneOf")) if isinstance(node, dict) else None
        if isinstance(branches, list):
            # `part` names the union member; follow the branch that has the next segment.
            following = loc[i + 1] if i + 1 < len(loc) else None
            node = next((b for b in branches if _has(b, following, defs)), None)
            continue
        if "[" in part or part.startswith(_VALIDATOR_TAGS):
            continue
        out += f".{part}" if out else part
        if isinstance(node, dict):
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            node = props.get(part, extra if isinstance(extra, dict) else None)
    return out or "arguments"


def _has(node: Any, part: int | str | None, defs: dict[str, Any]) -> bool:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = defs.get(node["$ref"].rsplit("/", 1)[-1])
    if not isinstance(node, dict) or part is None:
        return False
    if isinstance(part, int):
        return node.get("type") == "array"
    return part in node.get("properties", {})


def _json_kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- building


DocstringFormat = Literal["auto", "google", "numpy", "rest", "epydoc", "none"]


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
    target = _Target.of(func)
    tool_name = name if name is not None else target.name
    if tool_name is None or tool_name == "<lambda>":
        raise UserError(
            f"Cannot make a tool of {target.qualname!r}: it has no usable name; "
            "pass name=... to @tool"
        )
    if not _NAME_RE.match(tool_name):
        raise UserError(
            f"Invalid tool name {tool_name!r} for {target.qualname!r}: "
            "use 1-64 letters, digits, '_' or '-'"
        )
    where = f"{target.kind} {target.qualname!r}"
    if tool_name != target.name:
        where += f" (tool {tool_name!r})"

    params, hints = _read_signature(func, target, where)
    doc_summary, doc_params = _parse_docstring(target.doc, docstring_format, where)
    takes_context = bool(params) and _is_context(hints.get(params[0].name), context_type)
    names = {p.name for p in params}
    first = params[0].name if params else ""
    if takes_context:
        params = params[1:]
    documentable = names | _all_parameter_names(target)
    _unbound_method_check(func, params, hints, where)
    for param in params:
        _check_parameter(param, hints, context_type, where)
    for doc_name in doc_params:
        if doc_name not in documentable:
            raise UserError(
                f"The docstring of {where} documents parameter {doc_name!r}, "
                "which is not in its signature"
            )

    fields: dict[str, Any] = {}
    renamed: list[tuple[str, str]] = []
    null_defaults: list[tuple[str, _Default]] = []
    for param in params:
        annotation, info, default = _field(param, hints[param.name], doc_params, strict)
        if default is not None:
            null_defaults.append((param.name, default))
        field_name = param.name
        if _clashes(param.name):
            field_name = _free_name(param.name, names | set(fields))
            renamed.append((field_name, param.name))
            info = FieldInfo.merge_field_infos(info, Field(alias=param.name))
        fields[field_name] = (annotation, info)

    model = _build_model(tool_name, fields, params, hints, where)
    try:
        raw = model.model_json_schema()
    except (PydanticInvalidForJsonSchema, PydanticUserError) as exc:
        raise UserError(f"Cannot build a JSON schema for {where}: {exc}") from exc

    parameters = _self_contained(raw)
    for param_name, default in null_defaults:
        # The field is required in the model, so pydantic left the default out: show it.
        if default.factory is None:
            with contextlib.suppress(PydanticSerializationError):
                shown = to_jsonable_python(default.value)
                parameters["properties"][param_name]["default"] = shown
    if strict:
        _Strictifier(parameters, where).run()
    expected = {p: _expected(s) for p, s in parameters["properties"].items()}
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
        _renamed=tuple(renamed),
        _null_defaults=tuple(null_defaults),
        _expected=expected,
        _lazy=_has_lazy_items(model),
        context_hint=hints.get(first) if takes_context else None,
    )


@dataclass(frozen=True, slots=True)
class _Default:
    """A parameter's default: a value, or a factory called for each use."""

    value: Any
    factory: Callable[[], Any] | None = None

    def get(self) -> Any:
        return self.factory() if self.factory is not None else self.value


@dataclass(frozen=True, slots=True)
class _Target:
    """What a callable's schema is read from: the function behind a partial, a callable
    object's ``__call__``, and the keyword arguments a partial already binds."""

    hints_of: Any
    name: str | None
    qualname: str
    kind: str
    doc: str | None
    bound: frozenset[str]

    @staticmethod
    def of(func: Callable[..., Any]) -> _Target:
        if isinstance(func, functools.partial):
            inner = _Target.of(func.func)
            bound = inner.bound | frozenset(func.keywords)
            return _Target(inner.hints_of, inner.name, inner.qualname, "partial of " + inner.kind,
                           inner.doc, bound)  # fmt: skip
        if inspect.isroutine(func) or inspect.isclass(func):
            qualname = getattr(func, "__qualname__", None) or repr(func)
            return _Target(func, getattr(func, "__name__", None), qualname, "function",
                           inspect.getdoc(func), frozenset())  # fmt: skip
        cls = type(func)
        call = cls.__call__
        # The doc of `__call__` says what a call does; the class's doc is the fallback.
        doc = inspect.getdoc(call) if call is not None and call.__doc__ else inspect.getdoc(cls)
        return _Target(call, cls.__name__, f"{cls.__qualname__} instance", "callable object",
                       doc, frozenset())  # fmt: skip


def _read_signature(
    func: Callable[..., Any], target: _Target, where: str
) -> tuple[list[inspect.Parameter], dict[str, Any]]:
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
    hints = {k: _modern_typed_dicts(v) for k, v in hints.items()}
    params = [p for p in signature.parameters.values() if p.name not in target.bound]
    return params, hints


def _all_parameter_names(target: _Target) -> set[str]:
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


def _field(
    param: inspect.Parameter, hint: Any, doc_params: Mapping[str, str], strict: bool
) -> tuple[Any, FieldInfo, _Default | None]:
    """The model field of one parameter, and its default when ``null`` stands for it.

    Pydantic ``Field(...)`` objects, in ``Annotated`` or as the parameter's default, are
    merged into one field so that their constraints, descriptions and defaults all count.
    """
    base, infos = _split_field_infos(hint)
    if isinstance(param.default, FieldInfo):
        infos.append(param.default)
    elif param.default is not inspect.Parameter.empty:
        infos.append(Field(default=param.default))
    desc = _annotated_description(hint)
    if desc is None and isinstance(param.default, FieldInfo):
        desc = param.default.description
    desc = desc or doc_params.get(param.name)
    merged = FieldInfo.merge_field_infos(*infos) if infos else Field()
    default: _Default | None = None
    if merged.default_factory is not None:
        default = _Default(None, typing.cast(Callable[[], Any], merged.default_factory))
    elif merged.default is not PydanticUndefined and merged.default is not Ellipsis:
        default = _Default(merged.default)
    overrides: dict[str, Any] = {"description": desc}
    annotation = base
    if default is None:
        overrides["default"] = PydanticUndefined
    elif strict:
        # The strict schema requires every argument; the model sends null for "default".
        annotation = Optional[base]  # noqa: UP045 - base is a runtime object
        overrides.update(default=PydanticUndefined, default_factory=None)
    info = FieldInfo.merge_field_infos(merged, **overrides)
    return annotation, info, default if strict else None


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


def _is_context(hint: Any, context_type: type | None) -> bool:
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
    if _is_context(hints[param.name], context_type):
        raise UserError(
            f"Parameter {param.name!r} of {where} is a run context: it must be the first parameter"
        )


def _clashes(name: str) -> bool:
    return name.startswith(("_", "model_")) or hasattr(BaseModel, name) or keyword.iskeyword(name)


def _free_name(name: str, taken: set[str]) -> str:
    candidate = f"arg_{name.lstrip('_')}"
    while candidate in taken or _clashes(candidate):
        candidate += "_"
    return candidate


def _build_model(
    tool_name: str,
    fields: dict[str, Any],
    params: list[inspect.Parameter],
    hints: dict[str, Any],
    where: str,
) -> type[BaseModel]:
    try:
        return create_model(
            f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
        )
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
        error: Exception = exc
    # Rare path: find which parameter pydantic could not handle, to name it.
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


_STYLES = {
    "google": "GOOGLE", "numpy": "NUMPYDOC", "rest": "REST", "epydoc": "EPYDOC", "auto": "AUTO"
}  # fmt: skip
# A docstring that opens with a section ("Args:", "Parameters" + underline...): no summary.
_SECTIONS = (
    r"(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Returns|Raises|Yields)"
)
_OPENS_WITH_SECTION = re.compile(rf"{_SECTIONS}:?[ \t]*\n")
_PLACEHOLDER = "\x00"


def _parse_docstring(
    doc: str | None, docstring_format: str, where: str
) -> tuple[str, dict[str, str]]:
    if docstring_format not in (*_STYLES, "none"):
        raise UserError(
            f"docstring_format={docstring_format!r} for {where}: use one of "
            "'auto', 'google', 'numpy', 'rest', 'epydoc', 'none'"
        )
    if not doc:
        return "", {}
    if docstring_format == "none":
        return doc, {}
    # Imported here so that `import agentkit` stays fast and light.
    import docstring_parser

    style = docstring_parser.DocstringStyle[_STYLES[docstring_format]]
    match = _OPENS_WITH_SECTION.match(doc)
    # The Google parser reads a leading "Args:" as the summary: give it a summary to skip.
    text = doc
    if match:
        head, _, rest = doc.partition("\n")
        if rest and not rest[0].isspace():
            # inspect.getdoc dedented a lone section's body to column 0: restore its indent.
            rest = "\n".join("    " + line for line in rest.splitlines())
        text = f"{_PLACEHOLDER}\n\n{head}\n{rest}"
    try:
        parsed = docstring_parser.parse(text, style=style)
    except docstring_parser.ParseError as exc:
        if docstring_format != "auto":
            raise UserError(
                f"The docstring of {where} is not valid {docstring_format} style: {exc}; "
                "fix it, or pass docstring_format='auto' or 'none'"
            ) from exc
        return doc, {}
    parts = [
        p.strip()
        for p in (parsed.short_description, parsed.long_description)
        if p and p.strip() != _PLACEHOLDER
    ]
    params = {
        p.arg_name.lstrip("*").split(" ")[0]: " ".join((p.description or "").split())
        for p in parsed.params
        if p.args and p.args[0] in ("param", "parameter", "arg", "argument", "key", "keyword")
    }
    return "\n\n".join(parts), params


# --------------------------------------------------------------------------- schema passes


def _self_contained(raw: dict[str, Any]) -> dict[str, Any]:
    """Inline every ``$ref`` except those to recursive definitions; drop generated titles."""
    defs: dict[str, Any] = raw.pop("$defs", {})
    recursive = {name for name in defs if _reaches(name, name, defs, set())}

    def clean(node: Any) -> Any:
        if isinstance(node, list):
            return [clean(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = ref[len("#/$defs/") :]
            if target not in recursive:
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                return clean({**defs[target], **siblings})
        if "allOf" in node and len(node["allOf"]) == 1:
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return clean({**node["allOf"][0], **rest})
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "discriminator", "uniqueItems"):
                continue
            if key == "properties":
                out[key] = {prop: clean(sub) for prop, sub in value.items()}
            elif key in ("default", "const", "enum", "examples"):
                out[key] = value
            else:
                out[key] = clean(value)
        return _ordered(out)

    result = clean(raw)
    result.setdefault("properties", {})
    kept = {name: clean(defs[name]) for name in sorted(recursive)}
    if kept:
        result["$defs"] = kept
    return typing.cast(dict[str, Any], result)


def _reaches(start: str, goal: str, defs: dict[str, Any], seen: set[str]) -> bool:
    for ref in _refs(defs[start]):
        if ref == goal:
            return True
        if ref not in seen and ref in defs:
            seen.add(ref)
            if _reaches(ref, goal, defs, seen):
                return True
    return False


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            yield ref[len("#/$defs/") :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _ordered(node: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(node, key=lambda k: _KEY_ORDER.get(k, len(_KEY_ORDER)))
    return {k: node[k] for k in keys}


class _Strictifier:
    """Rewrite a self-contained schema, in place, to OpenAI's strict subset.

    - Every object gets ``additionalProperties: false`` and lists every property in
      ``required``. A top-level parameter with a default becomes nullable and ``null`` means
      "use the default"; a defaulted field of a nested model becomes required as it is
      (the model always sends a value).
    - ``oneOf`` (pydantic's discriminated unions, whose branches never overlap) becomes
      ``anyOf``, which is equivalent there. Purely informative keywords (``examples``,
      ``deprecated``...) are dropped: they do not change what is accepted.
    - What strict mode cannot express (``dict[str, X]`` and other open objects, ``Any``,
      tuples, string length limits...) raises ``UserError`` naming the parameter and what
      to use instead. Nothing is silently dropped.
    """

    def __init__(self, schema: dict[str, Any], where: str) -> None:
        self.schema = schema
        self.where = where
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.done: set[str] = set()

    def run(self) -> None:
        top = self.schema
        properties: dict[str, Any] = top["properties"]
        optional = [p for p in properties if p not in top.get("required", ())]
        for param, sub in properties.items():
            self.visit(sub, param)
        for param in optional:
            properties[param] = _nullable(properties[param])
        top["required"] = list(properties)
        top["additionalProperties"] = False

    def fail(self, param: str, what: str, advice: str) -> UserError:
        return UserError(
            f"Parameter {param!r} of {self.where} cannot be expressed in strict mode: "
            f"{what}; {advice}, or use strict=False"
        )

    def visit(self, node: dict[str, Any], param: str) -> None:
        if not node:
            raise self.fail(param, "it accepts any value", "give it a concrete type")
        for key in _ANNOTATION_KEYWORDS.intersection(node):
            del node[key]  # informative only: dropping them changes nothing that is accepted
        for key in node:
            if key not in _STRICT_KEYWORDS and key != "oneOf":
                advice = _STRICT_ADVICE.get(key, "remove that constraint")
                raise self.fail(param, f"JSON schema keyword {key!r} is not supported", advice)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in self.done:
                self.done.add(name)
                self.visit(self.defs[name], param)
        if node.get("type") == "object" or "properties" in node:
            extra = node.get("additionalProperties")
            if "properties" not in node or (extra is not None and extra is not False):
                raise self.fail(
                    param,
                    "an object with free-form keys (such as dict[str, X])",
                    "use a pydantic model with named fields, or list[Item] where Item has "
                    "'key' and 'value' fields",
                )
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
            for sub in node["properties"].values():
                self.visit(sub, param)
        items = node.get("items")
        if isinstance(items, dict):
            self.visit(items, param)
        for branch in node.get("anyOf", ()):
            self.visit(branch, param)


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    branches = node.get("anyOf")
    if node.get("type") == "null" or (
        isinstance(branches, list) and any(b.get("type") == "null" for b in branches)
    ):
        return node
    outer: dict[str, Any] = {k: node[k] for k in ("description", "default") if k in node}
    inner = {k: v for k, v in node.items() if k not in outer}
    return _ordered({"anyOf": [inner, {"type": "null"}], **outer})


def _expected(node: dict[str, Any]) -> str:
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    if "anyOf" in node:
        return " or ".join(_expected(b) for b in node["anyOf"])
    kind = node.get("type")
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array of {_expected(node['items'])}"
    if isinstance(kind, str):
        fmt = node.get("format")
        return f"{kind} ({fmt})" if fmt else kind
    return "a value"
