"""Request validation: what an OpenAI-compatible server rejects with a 400.

:func:`chat_request_problem` returns a short description of the first problem found, or
``None`` for a well-formed request. It never raises, whatever JSON value it is given.
"""

from __future__ import annotations

from typing import Any

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_FORMATS = frozenset({"text", "json_object", "json_schema"})


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _part_problem(part: Any, where: str) -> str | None:
    if not isinstance(part, dict):
        return f"{where} must be an object"
    kind = part.get("type")
    if kind == "text":
        return None if isinstance(part.get("text"), str) else f"{where}.text must be a string"
    if kind == "image":
        url = part.get("image")
    elif kind == "image_url":
        image_url = part.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
    else:
        return f"{where}.type {kind!r} is not one of 'text', 'image', 'image_url'"
    if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
        return f"{where} must carry a base64 data URL (data:image/...;base64,...)"
    return None


def _content_problem(message: dict[str, Any], where: str, parts_allowed: bool) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return None
    if isinstance(content, list) and parts_allowed:
        for j, part in enumerate(content):
            problem = _part_problem(part, f"{where}.content[{j}]")
            if problem:
                return problem
        return None
    if content is None and message.get("role") == "assistant":
        return None
    return f"{where}.content must be a string" + (" or a list of parts" if parts_allowed else "")


def _tool_call_ids(message: dict[str, Any], where: str) -> list[str] | str:
    calls = message.get("tool_calls")
    if calls is None:
        return []
    if not isinstance(calls, list):
        return f"{where}.tool_calls must be a list"
    ids: list[str] = []
    for j, call in enumerate(calls):
        here = f"{where}.tool_calls[{j}]"
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            return f"{here} must be an object with a string 'id'"
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return f"{here}.function.name must be a string"
        if not isinstance(function.get("arguments"), str):
            return f"{here}.function.arguments must be a JSON string"
        if call["id"] in ids:  # the real API answers 400: results could not be matched
            return f"{here}.id {call['id']!r} is used by another call of this message"
        ids.append(call["id"])
    return ids


def _messages_problem(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    seen: set[str] = set()
    pending: list[str] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            return f"{where} must be an object"
        role = message.get("role")
        if role not in ROLES:
            return f"{where}.role {role!r} is not one of {sorted(ROLES)}"
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in seen:
                return f"{where}.tool_call_id {call_id!r} matches no earlier assistant tool call"
            if call_id not in pending:
                return f"{where} answers tool call {call_id!r} a second time"
            pending.remove(call_id)
            problem = _content_problem(message, where, parts_allowed=True)
            if problem:
                return problem
            continue
        if pending:
            return f"tool call(s) {pending!r} have no tool message before {where}"
        problem = _content_problem(message, where, parts_allowed=True)
        if problem:
            return problem
        if role == "assistant":
            ids = _tool_call_ids(message, where)
            if isinstance(ids, str):
                return ids
            if message.get("content") is None and not ids:
                return f"{where} has neither content nor tool_calls"
            seen.update(ids)
            pending = list(ids)
    if pending:
        return f"tool call(s) {pending!r} have no tool message"
    return None


def _tools_problem(body: dict[str, Any]) -> str | None:
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return "'tools' must be a list"
        for i, entry in enumerate(tools):
            function = entry.get("function") if isinstance(entry, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                return f"tools[{i}] must be {{'type': 'function', 'function': {{'name': ...}}}}"
            parameters = function.get("parameters")
            if parameters is not None and not isinstance(parameters, dict):
                return f"tools[{i}].function.parameters must be a JSON schema object"
            names.append(function["name"])
    choice = body.get("tool_choice")
    if choice is None or choice in ("auto", "none", "required"):
        return None
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if name in names:
            return None
        return f"tool_choice names function {name!r}, which is not in 'tools'"
    return f"tool_choice {choice!r} is not 'auto', 'none', 'required' or a named function"


def _options_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("stream", False), bool):
        return "'stream' must be a boolean"
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = body.get(name)
        if value is not None and not (_is_number(value) and low <= value <= high):
            return f"{name!r} must be a number from {low} to {high}"
    for name in ("max_completion_tokens", "max_tokens"):
        limit = body.get(name)
        if limit is not None and not (isinstance(limit, int) and not isinstance(limit, bool)):
            return f"{name!r} must be an integer"
        if isinstance(limit, int) and limit < 1:
            return f"{name!r} must be at least 1"
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in _FORMATS:
            return f"response_format.type must be one of {sorted(_FORMATS)}"
        if kind == "json_schema":
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
                return "response_format.json_schema must be an object with a 'schema' object"
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        return "'stream_options' must be an object"
    return None


def chat_request_problem(body: Any) -> str | None:
    """Describe the first reason a chat completion request is malformed, or return ``None``."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "'model' is required and must be a non-empty string"
    return _messages_problem(body.get("messages")) or _tools_problem(body) or _options_problem(body)
