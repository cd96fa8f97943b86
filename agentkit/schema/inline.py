"""Inline a pydantic JSON schema into a self-contained one, ordered as a person writes it."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

__all__ = ["ordered", "self_contained"]

# Key order of emitted schemas: the informative keys first, as a person would write them.
_KEY_ORDER = {
    k: i
    for i, k in enumerate(
        ("type", "description", "enum", "const", "properties", "required", "items", "anyOf")
    )
}


def self_contained(raw: dict[str, Any]) -> dict[str, Any]:
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
        return ordered(out)

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


def ordered(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its informative keys first (type, description, enum...)."""
    keys = sorted(node, key=lambda k: _KEY_ORDER.get(k, len(_KEY_ORDER)))
    return {k: node[k] for k in keys}
