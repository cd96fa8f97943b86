"""What a server family refuses beyond plain validation: models, parameters, shapes.

:func:`quirk_reply` looks at a validated chat request through a :class:`Quirks` and returns
the error the emulated server would answer, or ``None`` to go on. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.emulator.quirks import Quirks
from agentkit.emulator.wire import Reply, error_reply, invalid_request

__all__ = ["model_reply", "quirk_reply"]


def model_reply(model: str, models: Sequence[str], status: int | None) -> Reply | None:
    """The error for a model the emulator does not list (``status`` 400 or 404), or ``None``."""
    if status is None or model in models:
        return None
    if status == 404:
        return error_reply(
            404,
            f"The model {model!r} does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )
    listed = ", ".join(repr(m) for m in models) or "none"
    return invalid_request(f"the model {model!r} does not exist (available: {listed})", "model")


def _image_part_reply(messages: Sequence[Any], allowed: frozenset[str]) -> Reply | None:
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            kind = part.get("type")
            if kind in ("image", "image_url") and kind not in allowed:
                where = f"messages[{i}].content[{j}].type"
                return invalid_request(
                    f"{where} {kind!r} is not supported by this server "
                    f"(supported: 'text', {', '.join(repr(a) for a in sorted(allowed))})",
                    where,
                )
    return None


def _assistant_content_reply(messages: Sequence[Any]) -> Reply | None:
    for message in messages:
        calls = message.get("role") == "assistant" and message.get("tool_calls")
        if calls and not isinstance(message.get("content"), str):
            # what llama-cpp-python's chat template raises for a missing or null content
            return error_reply(
                500, "'dict object' has no attribute 'content'", "internal_server_error", None
            )
    return None


def quirk_reply(body: Mapping[str, Any], quirks: Quirks) -> Reply | None:
    """The error ``quirks``' server family answers to ``body``, or ``None``."""
    for param in quirks.rejected_params:
        if param in body:
            return error_reply(
                400,
                f"Unsupported parameter: {param!r} is not supported with this model; "
                "use 'max_completion_tokens' instead."
                if param == "max_tokens"
                else f"Unsupported parameter: {param!r}.",
                "invalid_request_error",
                "unsupported_parameter",
                param=param,
            )
    messages = body["messages"]
    found = _image_part_reply(messages, quirks.image_parts)
    if found is None and quirks.assistant_content == "string":
        found = _assistant_content_reply(messages)
    refuses_required = quirks.required_tool_choice == "error"
    if found is None and refuses_required and body.get("tool_choice") == "required":
        found = error_reply(
            500, "tool_choice 'required' is not supported", "internal_server_error", None
        )
    return found
