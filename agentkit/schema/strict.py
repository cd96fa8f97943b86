"""Rewrite a self-contained schema to OpenAI's strict subset, or say why it cannot be."""

from __future__ import annotations

from typing import Any

from agentkit.errors import UserError
from agentkit.schema.inline import ordered

__all__ = ["STRICT_KEYWORDS", "Strictifier", "nullable"]

# Keywords OpenAI's strict mode accepts. Anything else in a strict schema is reported.
STRICT_KEYWORDS = frozenset(
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


class Strictifier:
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
        """Rewrite the whole schema; top-level defaulted parameters become nullable."""
        top = self.schema
        properties: dict[str, Any] = top["properties"]
        optional = [p for p in properties if p not in top.get("required", ())]
        for param, sub in properties.items():
            self.visit(sub, param)
        for param in optional:
            properties[param] = nullable(properties[param])
        top["required"] = list(properties)
        top["additionalProperties"] = False

    def fail(self, param: str, what: str, advice: str) -> UserError:
        """The error saying why ``param`` cannot be strict and what to do instead."""
        return UserError(
            f"Parameter {param!r} of {self.where} cannot be expressed in strict mode: "
            f"{what}; {advice}, or use strict=False"
        )

    def visit(self, node: dict[str, Any], param: str) -> None:
        """Rewrite one schema node and everything under it (``param``: for errors)."""
        if not node:
            raise self.fail(param, "it accepts any value", "give it a concrete type")
        for key in _ANNOTATION_KEYWORDS.intersection(node):
            del node[key]  # informative only: dropping them changes nothing that is accepted
        for key in node:
            if key not in STRICT_KEYWORDS and key != "oneOf":
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


def nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` also accepting ``null`` (unchanged when it already does)."""
    branches = node.get("anyOf")
    if node.get("type") == "null" or (
        isinstance(branches, list) and any(b.get("type") == "null" for b in branches)
    ):
        return node
    outer: dict[str, Any] = {k: node[k] for k in ("description", "default") if k in node}
    inner = {k: v for k, v in node.items() if k not in outer}
    return ordered({"anyOf": [inner, {"type": "null"}], **outer})
