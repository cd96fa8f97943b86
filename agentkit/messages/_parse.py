"""Field readers shared by the response and chunk parsers: tolerant of what servers omit."""

from __future__ import annotations

import json
from typing import Any, cast

from agentkit.errors import APIResponseError
from agentkit.messages.wire import FinishReason

__all__ = [
    "content_text",
    "finish",
    "json_text",
    "obj",
    "opt_int",
    "opt_str",
    "rest",
    "token_detail",
]

# `object` is shadowed by the wire field of the same name in some classes.
AnyValue = object


def finish(value: object) -> FinishReason | None:
    """A finish reason as sent (unknown strings pass through), ``None`` when absent."""
    return cast("FinishReason", value) if isinstance(value, str) else None


def obj(value: object, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``APIResponseError`` naming ``where``."""
    if not isinstance(value, dict):
        raise APIResponseError(
            f"Expected a JSON object for {where}, got {type(value).__name__}",
            body=repr(value)[:200],
        )
    return value


def content_text(value: object, where: str) -> str | None:
    """A message's (or delta's) ``content``: text, ``None``, or the text of content parts.

    Anything else (a number, an object) is ``APIResponseError`` naming ``where``: turning
    it into ``""`` would pass a broken answer off as an empty one.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        # A few compatible servers answer with content parts; keep the text.
        return "".join(
            p.get("text", "") for p in value if isinstance(p, dict) and p.get("type") == "text"
        )
    raise APIResponseError(
        f"Expected a string or null for {where}, got {type(value).__name__}",
        body=repr(value)[:200],
    )


def opt_str(value: object) -> str | None:
    """``value`` if it is a string, else ``None``."""
    return value if isinstance(value, str) else None


def opt_int(value: object) -> int | None:
    """``value`` if it is an integer (not a bool), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rest(data: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The fields of ``data`` not in ``known``, kept as a parsed object's ``extra``."""
    # Most responses carry only known keys; avoid building a dict in that common case.
    if known.issuperset(data):
        return {}
    return {k: v for k, v in data.items() if k not in known}


def token_detail(data: dict[str, Any], group: str, key: str) -> int:
    """``data[group][key]`` as a token count, 0 when absent."""
    details = data.get(group)
    return (opt_int(details.get(key)) or 0) if isinstance(details, dict) else 0


def json_text(value: object) -> str:
    """Compact JSON of ``value`` (arguments a server sent as an object, error bodies)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
