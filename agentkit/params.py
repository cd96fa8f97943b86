"""The parameters of a chat request, declared once.

``ChatParams`` is the single declaration: the keyword arguments of ``create``, ``stream``
and ``create_json`` of both clients. ``MODEL_PARAMS`` (the body fields, in the order they
are sent) and ``REQUEST_OPTIONS`` (what agentkit handles itself) are derived from it, so
request building, the unknown-keyword check and an agent's settings use the same list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from typing_extensions import TypedDict

__all__ = ["CHAT_PARAM_NAMES", "MODEL_PARAMS", "REQUEST_OPTIONS", "ChatParams", "TimeoutTypes"]

TimeoutTypes = float | httpx.Timeout | None
"""Seconds, an ``httpx.Timeout`` or ``None`` (the client's default)."""


class ChatParams(TypedDict, total=False):
    """The keyword arguments of ``create``, ``stream`` and ``create_json`` (both clients).

    Every key is optional; an unset (or ``None``) parameter is not sent. Any other keyword
    raises ``UserError``: pass other body fields in ``extra_body``.

    Keys:
        model: Overrides the client's model.
        temperature: Sampling temperature.
        top_p: Nucleus sampling.
        max_completion_tokens: Most output tokens (``max_tokens`` is never sent).
        response_format: E.g. ``{"type": "json_object"}``.
        tools: ``ToolDefinition`` dicts (``agentkit.messages``), ``agentkit.Tool`` objects
            or other wire-format tool dicts.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a named function.
        parallel_tool_calls: Whether the model may call several tools at once.
        extra_body: Other body fields, sent as given (they win over the above).
        extra_headers: Headers for this request only.
        timeout: Overrides the client's timeout for this request: it bounds each network
            operation (connect, each read, each write), not the whole request.
        deadline: An absolute ``time.monotonic()`` value bounding the whole request, all
            retries and their waits included: no attempt starts and no wait runs past it,
            an attempt in flight is cut at it, and reaching it raises ``APITimeoutError``.
    """

    model: str | None
    temperature: float | None
    top_p: float | None
    max_completion_tokens: int | None
    response_format: Mapping[str, Any] | None
    tools: Sequence[Any] | None
    tool_choice: str | Mapping[str, Any] | None
    parallel_tool_calls: bool | None
    extra_body: Mapping[str, Any] | None
    extra_headers: Mapping[str, str] | None
    timeout: TimeoutTypes
    deadline: float | None


REQUEST_OPTIONS: frozenset[str] = frozenset(
    {"model", "extra_body", "extra_headers", "timeout", "deadline"}
)
"""The ``ChatParams`` keys agentkit handles itself; every other key is a body field."""

CHAT_PARAM_NAMES: frozenset[str] = frozenset(ChatParams.__optional_keys__)
"""Every ``ChatParams`` key."""

MODEL_PARAMS: tuple[str, ...] = tuple(
    k for k in ChatParams.__annotations__ if k not in REQUEST_OPTIONS
)
"""The body fields, in declaration order (the order they are sent in)."""
