"""A tool schema given as raw JSON schema (``Tool.from_schema``), not built from a function.

Used for tools whose schema comes from elsewhere, e.g. an MCP server. The schema is passed
to the model exactly as given. Arguments get cheap checks only — valid JSON, an object,
required arguments present, no unknown argument when ``additionalProperties`` is false,
the JSON type of each top-level argument — because the owner of the schema (the server)
validates them fully anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentkit._json import loads
from agentkit._record import record
from agentkit.errors import ToolArgumentsError, UserError
from agentkit.schema.argument_errors import short_key
from agentkit.schema.signature import TOOL_NAME
from agentkit.schema.strict import STRICT_KEYWORDS
from agentkit.schema.validation import FunctionSchema

__all__ = ["RawSchema", "is_strict_compatible"]

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


class _AnyArguments(BaseModel):
    """Stands in for ``Tool.arguments_model``: a raw-schema tool has no pydantic model."""

    model_config = ConfigDict(extra="allow")


@record(frozen=True, slots=True)
class RawSchema(FunctionSchema):
    """A ``FunctionSchema`` whose ``parameters`` were given, validated with cheap checks."""

    @classmethod
    def build(
        cls, name: str, description: str, parameters: Mapping[str, Any], strict: bool | None
    ) -> RawSchema:
        """Check the name and the schema; decide strictness (see ``Tool.from_schema``)."""
        if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
            raise UserError(f"Tool name {name!r} is invalid: use 1-64 letters, digits, '_' or '-'")
        if not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object":
            raise UserError(f"The parameters of tool {name!r} must be a JSON object schema")
        params = dict(parameters)
        _check_shape(name, params)
        compatible = is_strict_compatible(params)
        if strict and not compatible:
            raise UserError(
                f"The schema of tool {name!r} is not in OpenAI's strict subset (every object "
                "needs additionalProperties: false and all its properties required, and only "
                "supported keywords); pass strict=None or strict=False"
            )
        expected = {
            k: str(v.get("type", "a value"))
            for k, v in (params.get("properties") or {}).items()
            if isinstance(v, Mapping)
        }
        return cls(
            name=name,
            description=description or "",
            parameters=params,
            arguments_model=_AnyArguments,
            strict=compatible if strict is None else strict,
            takes_context=False,
            _renamed=(),
            _null_defaults=(),
            _expected=expected,
        )

    def validate(self, arguments: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
        """Decode the model's arguments and run the cheap checks (see the module docstring).

        Raises:
            ToolArgumentsError: Invalid JSON, not an object, a missing or unknown argument,
                or a top-level argument of the wrong JSON type.
        """
        data = _decode(self.name, arguments)
        errors: list[str] = []
        properties: Mapping[str, Any] = self.parameters.get("properties") or {}
        for key in self.parameters.get("required") or ():
            if key not in data:
                errors.append(f"{key}: missing required argument")
        if self.parameters.get("additionalProperties") is False:
            allowed = ", ".join(properties) or "none, this tool takes no arguments"
            errors.extend(
                f"{short_key(key)}: unexpected argument (allowed: {allowed})"
                for key in data
                if key not in properties
            )
        for key, value in data.items():
            sub = properties.get(key)
            if isinstance(sub, Mapping) and not _type_ok(sub.get("type"), value):
                errors.append(f"{short_key(key)}: expected {sub['type']}, got {_kind(value)}")
        if errors:
            raise ToolArgumentsError(self.name, errors[:5])
        return data


def _check_shape(name: str, params: Mapping[str, Any]) -> None:
    # What the cheap checks walk; a schema from elsewhere (an MCP server) may be malformed,
    # and a "required" string would be read letter by letter, refusing every call.
    properties = params.get("properties")
    if properties is not None and not isinstance(properties, Mapping):
        raise UserError(
            f"The parameters of tool {name!r}: 'properties' must be an object, "
            f"got {type(properties).__name__}"
        )
    required = params.get("required")
    if required is not None and not (
        isinstance(required, list) and all(isinstance(k, str) for k in required)
    ):
        raise UserError(
            f"The parameters of tool {name!r}: 'required' must be an array of property "
            f"names, got {required!r:.80}"
        )


def _decode(name: str, arguments: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
    if arguments is None or (isinstance(arguments, (str, bytes)) and not arguments.strip()):
        return {}
    if isinstance(arguments, Mapping):
        return dict(arguments)
    try:
        data = loads(arguments)
    except ValueError as exc:
        raise ToolArgumentsError(name, [f"arguments are not valid JSON ({exc})"]) from None
    if not isinstance(data, dict):
        raise ToolArgumentsError(name, [f"arguments must be a JSON object, got {_kind(data)}"])
    return data


def _type_ok(expected: Any, value: Any) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    if not isinstance(names, list):
        return True  # no type, or one we do not check: the server decides
    for t in names:
        kinds = _JSON_TYPES.get(t) if isinstance(t, str) else None
        if kinds is None:
            return True
        if isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds):
            return True
        if t == "integer" and isinstance(value, float) and value.is_integer():
            return True
    return False


def _kind(value: Any) -> str:
    for name, kinds in _JSON_TYPES.items():
        if isinstance(value, kinds) and not (isinstance(value, bool) and name != "boolean"):
            return "number" if name == "integer" and isinstance(value, float) else name
    return type(value).__name__


def is_strict_compatible(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` already is in OpenAI's strict subset, unchanged.

    Every object lists its properties, all required, with ``additionalProperties: false``,
    and only keywords strict mode accepts appear (``$defs`` at the root).
    """
    defs = schema.get("$defs")
    if defs is not None and not (
        isinstance(defs, Mapping) and all(_strict_node(d) for d in defs.values())
    ):
        return False
    root = {k: v for k, v in schema.items() if k != "$defs"}
    return _strict_node(root)


def _strict_node(node: Any) -> bool:
    if not isinstance(node, Mapping) or not node:
        return False
    if any(key not in STRICT_KEYWORDS for key in node):
        return False
    if node.get("type") == "object" or "properties" in node:
        props = node.get("properties")
        if not isinstance(props, Mapping) or node.get("additionalProperties") is not False:
            return False
        if sorted(node.get("required") or ()) != sorted(props):
            return False
        if not all(_strict_node(p) for p in props.values()):
            return False
    items = node.get("items")
    if items is not None and not _strict_node(items):
        return False
    return all(_strict_node(b) for b in node.get("anyOf", ()))
