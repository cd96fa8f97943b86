"""Validation of request bodies: pure functions from parsed JSON to typed requests.

Three body shapes are accepted on the chat endpoints, so front-ends work unchanged:
agentkit's own ``{"session_id", "message", "format"?}``; the AI SDK's ``useChat`` body
``{"id", "messages": [UIMessage...]}`` (the last user message's text parts); and AG-UI's
``RunAgentInput`` ``{"threadId", "runId", "messages": [...]}`` (the last user message).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

from agentkit._record import record
from agentkit._text import lone_surrogate
from agentkit.approvals import Approve, Decision, Reject, decision_from_dict
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.web._errors import BadRequest
from agentkit.web._parts import prompt_from_parts, prompt_text

__all__ = ["BadRequest", "ChatRequest", "parse_chat", "parse_decisions"]

_REFUSED = "refused by the user"

Format = Literal["agentkit", "vercel", "ag-ui"]
FORMATS: tuple[Format, ...] = ("agentkit", "vercel", "ag-ui")
MAX_JSON_DEPTH = 64
"""The deepest nesting of lists and objects a request body may have."""
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


@record(frozen=True, slots=True)
class ChatRequest:
    """A validated chat request; ``message`` is the prompt (a user message dict when the
    request sent images)."""

    session_id: str
    message: str | Message
    format: Format | None
    run_id: str | None = None


def check_session_id(value: Any, where: str = "session_id") -> str:
    """``value`` if it is a usable session id, else ``BadRequest`` saying why."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise BadRequest(
            f"{where} must be 1-128 characters of letters, digits and . _ : @ - "
            "(starting with a letter or digit)",
            code="bad_session_id",
        )
    return value


def _depth(value: Any) -> int:
    """How deeply ``value``'s lists and objects nest (iterative: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


def load_json(body: bytes) -> Any:
    """The body parsed as JSON, or ``BadRequest``.

    Nesting deeper than ``MAX_JSON_DEPTH`` is refused too: the parser itself fails with a
    ``RecursionError`` near Python's recursion limit, and a value only a little shallower
    than that would exhaust the stack later, when the run copies or stores it.
    """
    too_deep = BadRequest(
        f"the body's JSON nests deeper than {MAX_JSON_DEPTH} levels", code="bad_json"
    )
    try:
        data = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise too_deep from None
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body must be JSON (UTF-8)", code="bad_json") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    return data


def check_text(value: Any, where: str) -> None:
    """``BadRequest`` naming the field when a string in ``value`` cannot be stored as UTF-8.

    JSON may carry a lone surrogate (``"\\ud800"``) that Python decodes into a ``str``
    no store, stream or model request can encode: refused here, before a run starts and
    before anything reaches the session. ``where`` names ``value``; the error names the
    string inside it (``decisions['c'].arguments.city``).
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str) and lone_surrogate(item) is not None:
            raise BadRequest(f"{path} is not valid Unicode text (it holds a lone surrogate)")
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, f"{path} (a key)"))
                stack.append((child, f"{path}.{key}" if lone_surrogate(str(key)) is None else path))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{n}]") for n, child in enumerate(item))


def _prompt_of_ui_message(message: dict[str, Any]) -> str | Message | None:
    parts = message.get("parts")
    if isinstance(parts, list):  # the AI SDK's UIMessage: its text parts
        texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            return "".join(str(t) for t in texts)
    content = message.get("content")
    if isinstance(content, list):  # AG-UI's content parts
        check_text(content, "the last user message")
        return prompt_from_parts(content)
    return content if isinstance(content, str) else None


def _last_user_prompt(messages: Any) -> str | Message | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _prompt_of_ui_message(message)
    return None


def _format(data: dict[str, Any], header_format: Format | None) -> Format | None:
    value = data.get("format")
    if value is None:
        if "threadId" in data and "runId" in data:
            return "ag-ui"
        messages = data.get("messages")
        if isinstance(messages, list) and any(
            isinstance(m, dict) and "parts" in m for m in messages
        ):
            return "vercel"  # the AI SDK's useChat body
        return header_format
    if value not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}; got {value!r}")
    return value  # type: ignore[no-any-return]


def parse_chat(data: Any, *, max_chars: int, header_format: Format | None = None) -> ChatRequest:
    """A chat request from a parsed body, in any of the three accepted shapes."""
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object such as {"message": "..."}')
    fmt = _format(data, header_format)
    run_id = data.get("runId") if isinstance(data.get("runId"), str) else None
    check_text(run_id, "runId")
    if run_id is not None and not _ID.fullmatch(run_id):
        # Echoed in every event's message id: a long one would multiply the response.
        raise BadRequest(
            "runId must be 1-128 characters of letters, digits and . _ : @ - "
            "(starting with a letter or digit)"
        )
    raw_id = data.get("session_id", data.get("threadId", data.get("id")))
    session_id = uuid.uuid4().hex if raw_id is None else check_session_id(raw_id)
    message = data.get("message")
    if message is None and "messages" in data:
        message = _last_user_prompt(data["messages"])
        if message is None:
            raise BadRequest("messages holds no user message with text")
    elif not isinstance(message, str):
        raise BadRequest('"message" is required and must be a string', code="bad_message")
    _check_prompt(message, '"message"' if "message" in data else "the last user message", max_chars)
    return ChatRequest(session_id=session_id, message=message, format=fmt, run_id=run_id)


def _check_prompt(prompt: str | Message, where: str, max_chars: int) -> None:
    text = prompt_text(prompt)
    check_text(text, where)
    if isinstance(prompt, str) and not text.strip():
        raise BadRequest(f"{where} is empty", code="bad_message")
    _check_length(text, where, max_chars)


def _check_length(text: str, where: str, max_chars: int) -> None:
    if len(text) > max_chars:
        raise BadRequest(
            f"{where} has {len(text)} characters; the limit is {max_chars}",
            status=413,
            code="message_too_long",
        )


def _decision(call_id: str, value: Any) -> Decision:
    where = f"decisions[{call_id!r}]"
    if isinstance(value, bool):
        return Approve() if value else Reject(_REFUSED)
    check_text(value, where)
    if isinstance(value, dict) and "type" in value:
        try:
            return decision_from_dict(value)  # agentkit's own JSON form
        except UserError as exc:
            raise BadRequest(f"{where}: {exc}", code="bad_decisions") from None
    if not isinstance(value, dict) or not isinstance(value.get("approve"), bool):
        raise BadRequest(
            f'{where} must be {{"approve": true|false, "reason"?: "..."}}', code="bad_decisions"
        )
    reason = value.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest(f"{where}.reason must be a string", code="bad_decisions")
    arguments = value.get("arguments")
    if arguments is not None and (not isinstance(arguments, dict) or not value["approve"]):
        raise BadRequest(
            f"{where}.arguments must be an object, and only with approve: true",
            code="bad_decisions",
        )
    if value["approve"]:
        return Approve(arguments=arguments)
    return Reject(reason or _REFUSED)


def parse_decisions(data: Any, *, max_chars: int | None = None) -> dict[str, Decision]:
    """``{"decisions": {call_id: decision}}`` validated into agentkit's ``Approve``/``Reject``.

    A decision is ``true``/``false``, ``{"approve": bool, "reason"?, "arguments"?}``, or
    agentkit's ``{"type": "approve"|"reject", ...}`` (``Approve.to_dict()``). A rejection's
    reason is what the model reads, so it has the chat message's limit, ``max_chars``.
    """
    decisions = data.get("decisions") if isinstance(data, dict) else None
    if not isinstance(decisions, dict) or not decisions:
        raise BadRequest(
            'the body must be {"decisions": {"<tool_call_id>": {"approve": true}}}',
            code="bad_decisions",
        )
    out: dict[str, Decision] = {}
    for call_id, value in decisions.items():
        if not call_id or len(call_id) > 256:
            raise BadRequest(
                "a decision's tool_call_id must be 1-256 characters", code="bad_decisions"
            )
        check_text(call_id, "a decision's tool_call_id")
        decision = _decision(call_id, value)
        if isinstance(decision, Reject) and max_chars is not None:
            _check_length(decision.reason, f"decisions[{call_id!r}].reason", max_chars)
        out[call_id] = decision
    return out
