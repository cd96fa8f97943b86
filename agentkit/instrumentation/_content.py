"""Messages in the GenAI conventions' JSON shape, for the content attributes (pure).

Only used when ``include_content=True``. Inline image data (``data:`` URLs) is left out:
a span is no place for megabytes of base64, and the part still says an image was there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from agentkit.messages import ChatCompletion, Message

__all__ = ["input_messages", "output_messages", "system_instructions"]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _arguments(text: str | None) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return text


def _image(url: object) -> dict[str, Any]:
    if isinstance(url, str) and not url.startswith("data:"):
        return {"type": "uri", "modality": "image", "uri": url}
    mime = url[5:].split(";", 1)[0] if isinstance(url, str) else None
    return {"type": "blob", "modality": "image", "mime_type": mime or None}


def _parts(content: object) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    for raw in content if isinstance(content, list) else [content]:
        part: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": part.get("text", "")})
        elif kind == "image":  # the provider's own image part
            parts.append(_image(part.get("image")))
        elif kind == "image_url":
            inner = part.get("image_url")
            parts.append(_image(inner.get("url") if isinstance(inner, dict) else inner))
        else:
            parts.append({"type": str(kind or "unknown")})
    return parts


def _message(m: Message) -> dict[str, Any]:
    role = m.get("role")
    if role == "tool":
        part = {"type": "tool_call_response", "id": m.get("tool_call_id")}
        part["response"] = m.get("content")
        return {"role": "tool", "parts": [part]}
    parts = _parts(m.get("content"))
    for tc in m.get("tool_calls") or ():
        fn = tc.get("function") if isinstance(tc, dict) else None
        if isinstance(fn, dict):
            parts.append(
                {
                    "type": "tool_call",
                    "id": tc.get("id"),
                    "name": fn.get("name"),
                    "arguments": _arguments(fn.get("arguments")),
                }
            )
    return {"role": role, "parts": parts}


def system_instructions(messages: Iterable[Message]) -> str | None:
    """The system messages' parts as JSON, or ``None`` when there are none."""
    parts = [p for m in messages if m.get("role") == "system" for p in _parts(m.get("content"))]
    return _dumps(parts) if parts else None


def input_messages(messages: Iterable[Message]) -> str:
    """The conversation sent (system messages excepted) as JSON."""
    return _dumps([_message(m) for m in messages if m.get("role") != "system"])


def output_messages(completion: ChatCompletion) -> str:
    """The response's choices as JSON output messages."""
    out = []
    for choice in completion.choices:
        msg = choice.message
        parts = _parts(msg.content)
        for tc in msg.tool_calls:
            parts.append(
                {
                    "type": "tool_call",
                    "id": tc.id,
                    "name": tc.name,
                    "arguments": _arguments(tc.arguments),
                }
            )
        out.append({"role": "assistant", "parts": parts, "finish_reason": choice.finish_reason})
    return _dumps(out)
