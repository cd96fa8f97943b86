"""Tool calls written as text content, the way small local models answer.

Used by the ``text-tool-calls`` quirk: instead of ``tool_calls`` the assistant's ``content``
holds the call in one of the forms seen from real models, so client-side recovery can be
tested offline. Pure functions.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.emulator.wire import dumps

__all__ = ["calls_as_text"]


def _as_object(call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments: Any = function.get("arguments", "{}")
    # invalid arguments are written as they are, as the model wrote them
    with contextlib.suppress(TypeError, ValueError):
        arguments = json.loads(arguments)
    return {"name": function.get("name"), "arguments": arguments}


def calls_as_text(calls: Sequence[Mapping[str, Any]], style: str) -> str:
    """Write wire-format ``calls`` as assistant text in ``style``.

    Styles: ``"fenced"`` (a ```json block), ``"bare"`` (the JSON alone), ``"doubled"``
    (bare, every brace doubled as in a chat template's source), ``"tagged"``
    (``<tool_call>...</tool_call>``, Hermes/Qwen style, one block per call).
    """
    objects = [_as_object(c) for c in calls]
    if style == "tagged":
        return "\n".join(f"<tool_call>\n{dumps(o)}\n</tool_call>" for o in objects)
    text = dumps(objects[0] if len(objects) == 1 else objects)
    if style == "fenced":
        return f"```json\n{text}\n```"
    if style == "doubled":
        return text.replace("{", "{{").replace("}", "}}")
    return text
