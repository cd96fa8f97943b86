"""Tool calls a model wrote as text: recognised, and held back from a stream. Pure.

Small local models often answer a tool call as content instead of ``tool_calls``:
bare JSON, a ```json fence, ``<tool_call>`` tags (Hermes/Qwen style), or JSON with every
brace doubled (``{{"name": ...}}``, copied from a chat template's source). With recovery on
(``Agent(recover_text_tool_calls=True)`` or a profile saying so), :func:`text_tool_calls`
turns such an answer into ``ToolCall`` objects. It is deliberately narrow: the whole
content must be calls, each naming an offered tool with no other keys than a call has, so
JSON inside an answer, or JSON data that is the answer, is never taken for a call.

:class:`TextHold` is the streaming side: it holds text deltas back while the answer can
still turn out to be such a call, and releases or drops them when the answer is complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from typing import Any

from agentkit.events import StreamEvent, TextDelta
from agentkit.messages import ChatCompletion, ToolCall

__all__ = ["OPENERS", "TextHold", "recovered_calls", "recovery_note", "text_tool_calls"]

OPENERS = ("{", "[", "```", "<tool_call>")
"""How an answer that is a tool call written as text starts (after whitespace)."""

_FENCE = re.compile(r"\A```[A-Za-z_]*[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)
_TAG = re.compile(r"<tool_call>(?P<body>.*?)(?:</tool_call>|\Z)", re.DOTALL)
_CALL_KEYS = frozenset({"name", "arguments", "parameters", "type", "id"})


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        try:
            return json.loads(stripped.replace("{{", "{").replace("}}", "}"))
        except ValueError:
            return None
    return None


def _call(value: Any, tools: Collection[str]) -> tuple[str, str] | None:
    if not isinstance(value, dict):
        return None
    function = value.get("function")
    if isinstance(function, dict) and set(value) <= {"type", "id", "function"}:
        value = function  # the wire form, written out as text
    if not set(value) <= _CALL_KEYS or value.get("type") not in (None, "function"):
        return None
    name = value.get("name")
    if not isinstance(name, str) or name not in tools:
        return None
    if "arguments" in value and "parameters" in value:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        decoded = _loads(arguments) if arguments.strip() else {}
        if decoded is None:
            return None
        arguments = decoded
    if not isinstance(arguments, dict):
        return None
    return name, json.dumps(arguments, ensure_ascii=False)


def _values(text: str) -> list[Any] | None:
    if text.startswith("<tool_call>"):
        blocks = list(_TAG.finditer(text))
        rest = _TAG.sub("", text)
        if rest.strip():
            return None
        return [_loads(m.group("body").strip()) for m in blocks]
    fence = _FENCE.match(text)
    if fence is not None:
        text = fence.group("body").strip()
    value = _loads(text)
    if isinstance(value, list):
        return value or None
    return [value]


def text_tool_calls(content: str | None, tools: Collection[str]) -> list[ToolCall] | None:
    """The tool calls ``content`` consists of, or ``None`` when it is not exactly calls.

    Every call must name one of ``tools``; the returned calls have no id (the run gives
    them one) and their arguments as JSON text, to be validated like any other call's.
    """
    if not content or not tools:
        return None
    text = content.strip()
    if not text.startswith(OPENERS):
        return None
    values = _values(text)
    if not values:
        return None
    calls = [_call(v, tools) for v in values]
    if any(c is None for c in calls):
        return None
    return [ToolCall(id="", name=c[0], arguments=c[1]) for c in calls if c is not None]


def recovered_calls(completion: ChatCompletion, tools: Collection[str]) -> list[ToolCall] | None:
    """The calls written as text in ``completion``'s answer, or ``None``.

    Never for an answer with real ``tool_calls`` or one cut off at the token limit
    (``finish_reason="length"``: its JSON may be incomplete or invented to the end).
    """
    if not completion.choices:
        return None
    choice = completion.choices[0]
    if choice.message.tool_calls or choice.finish_reason == "length":
        return None
    return text_tool_calls(choice.message.content, tools)


def recovery_note(calls: list[ToolCall]) -> str:
    """The ``RunResult.notes`` line saying which calls were recovered from text."""
    names = ", ".join(repr(c.name) for c in calls)
    return (
        f"The model wrote its tool call(s) to {names} as text; agentkit ran them as tool "
        "calls (recover_text_tool_calls)."
    )


def _could_open(text: str) -> bool | None:
    """Whether ``text`` (the answer so far) may still start a call; ``None``: undecided."""
    head = text.lstrip()
    if not head:
        return None
    return any(head.startswith(o) or o.startswith(head) for o in OPENERS)


class TextHold:
    """Holds a streamed answer's text back while it may still be a tool call as text.

    Drivers pass each chunk's events through :meth:`feed` and the finished completion to
    :meth:`finish`. Text that cannot open a call (its first visible character is not
    ``{``, ``[``, a fence or ``<tool_call>``) flows at once; text that can is held to the
    end, then dropped when it was a call (the run shows it as a tool call) or released as
    one ``TextDelta``. With ``tools`` empty or ``None`` nothing is held.
    """

    __slots__ = ("_held", "_mode", "_tools")

    def __init__(self, tools: Collection[str] | None) -> None:
        self._tools = frozenset(tools or ())
        self._held: list[str] = []
        self._mode = "hold" if self._tools else "pass"

    def feed(self, events: Iterable[StreamEvent]) -> list[StreamEvent]:
        """The events to show now."""
        out: list[StreamEvent] = []
        for event in events:
            if self._mode == "pass" or not isinstance(event, TextDelta):
                out.append(event)
                continue
            self._held.append(event.text)
            if _could_open("".join(self._held)) is False:
                self._mode = "pass"
                out.append(TextDelta("".join(self._held)))
                self._held = []
        return out

    def finish(self, completion: ChatCompletion) -> list[StreamEvent]:
        """The held text to show once the answer is complete (nothing if it was a call)."""
        held, self._held = "".join(self._held), []
        self._mode = "pass"
        if not held or recovered_calls(completion, self._tools) is not None:
            return []
        return [TextDelta(held)]
