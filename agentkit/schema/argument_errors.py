"""Pydantic validation errors of a tool call, rewritten as short lines the model can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["describe_errors", "expected_kind", "short_key"]

_MAX_ERRORS = 5
# A key the model sent is shown cut to this length: its own input is not repeated at length.
_MAX_KEY = 64
# Segments pydantic adds to an error location to name a validator step, not a key.
_VALIDATOR_TAGS = ("function-", "constrained-", "lax-or-strict", "json-or-python", "chain")


def describe_errors(
    exc: ValidationError, parameters: dict[str, Any], expected: Mapping[str, str]
) -> list[str]:
    """At most five lines, one per argument path: what was wrong and what was sent.

    Args:
        exc: The error of validating the arguments against the tool's model.
        parameters: The tool's JSON schema, walked to render error locations.
        expected: Per top-level argument, a few words on what it accepts.
    """
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for error in exc.errors(include_url=False, include_context=True):
        kind = error["type"]
        loc = error["loc"]
        if kind == "json_invalid":
            reason = error.get("ctx", {}).get("error", "invalid JSON")
            return [f"arguments are not valid JSON ({reason})"]
        if not loc:
            return [f"arguments must be a JSON object, got {_json_kind(error['input'])}"]
        path = _path(loc, parameters)
        got = ""
        if kind == "missing" and len(loc) == 1:
            wanted = expected.get(path)
            text = "missing required argument" + (f" (expected {wanted})" if wanted else "")
        elif kind == "missing":
            text = "missing required field"
        elif kind == "extra_forbidden" and len(loc) == 1:
            allowed = ", ".join(expected) or "none, this tool takes no arguments"
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
        node = _nullable_inner(_resolved(node, defs), defs)
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
        key = short_key(part)
        out += f".{key}" if out else key
        if isinstance(node, dict):
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            node = props.get(part, extra if isinstance(extra, dict) else None)
    return out or "arguments"


def _nullable_inner(node: Any, defs: dict[str, Any]) -> Any:
    """``X`` for the schema of ``X | None``: pydantic's error location names no union
    member there, so the next segment is a key (or index) of ``X`` itself."""
    while isinstance(node, dict) and isinstance(node.get("anyOf"), list):
        real = [b for b in node["anyOf"] if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(real) != 1:
            break
        node = _resolved(real[0], defs)
    return node


def short_key(key: str) -> str:
    """``key`` as error lines show it: cut to 64 characters (a model may send any key)."""
    return key if len(key) <= _MAX_KEY else key[: _MAX_KEY - 3] + "..."


def _resolved(node: Any, defs: dict[str, Any]) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        node = defs.get(node["$ref"].rsplit("/", 1)[-1])
    return node


def _has(node: Any, part: int | str | None, defs: dict[str, Any]) -> bool:
    node = _resolved(node, defs)
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


def expected_kind(node: dict[str, Any]) -> str:
    """A few words on what a schema node accepts: ``one of "a", "b"``, ``array of integer``."""
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    if "anyOf" in node:
        return " or ".join(expected_kind(b) for b in node["anyOf"])
    kind = node.get("type")
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"array of {expected_kind(node['items'])}"
    if isinstance(kind, str):
        fmt = node.get("format")
        return f"{kind} ({fmt})" if fmt else kind
    return "a value"
