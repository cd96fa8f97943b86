"""Pure request building: headers, body, URL and timeout of one request, no I/O.

``Prepared`` holds its headers in ``SecretHeaders``, whose ``repr`` masks every credential,
so a traceback printed with its frames' locals (``pytest -l``) cannot show them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from agentkit._checks import check_seconds
from agentkit._record import record
from agentkit.client._redact import MASK, Redactor, is_secret_header, secrets_of
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.params import CHAT_PARAM_NAMES, MODEL_PARAMS, TimeoutTypes
from agentkit.profiles import Profile
from agentkit.tool import Tool

__all__ = [
    "Prepared",
    "SecretHeaders",
    "apply_profile",
    "chat_body",
    "check_api_key",
    "check_chat_kwargs",
    "check_headers",
    "check_timeout",
    "encode_body",
    "tool_definitions",
]


class SecretHeaders(Mapping[str, str]):
    """A read-only header mapping whose ``repr`` masks credential values."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        shown = {k: (MASK if is_secret_header(k) else v) for k, v in self._items.items()}
        return f"SecretHeaders({shown!r})"

    def raw(self) -> dict[str, str]:
        """The headers as a plain dict, for the transport."""
        return self._items


@record(slots=True, repr=False)
class Prepared:
    """A request ready to send (and to resend on retry)."""

    method: str
    url: str
    path: str
    content: bytes | None
    headers: SecretHeaders
    timeout: httpx.Timeout
    http_url: httpx.URL  # ``url`` parsed once per client, not once per request
    redactor: Redactor  # masks every credential this request carries
    deadline: float | None = None

    def __repr__(self) -> str:
        size = len(self.content) if self.content else 0
        return f"Prepared({self.method} {self.path}, {size} bytes, headers={self.headers!r})"


def _bad_char(value: str) -> bool:
    return any(not (" " <= ch <= "~" or ch == "\t") for ch in value)


def check_api_key(key: str | None, where: str) -> str | None:
    """``key`` if it can be sent in a header; else ``UserError`` that does not quote it."""
    if key is None:
        return None
    if not isinstance(key, str):
        raise UserError(f"The API key ({where}) must be a str, not {type(key).__name__}")
    if key != key.strip():
        raise UserError(
            f"The API key ({where}) has leading or trailing whitespace (a newline read from "
            "a file or a secret mount?); strip it before passing it"
        )
    if _bad_char(key):
        raise UserError(
            f"The API key ({where}) holds a character an HTTP header cannot carry "
            "(non-ASCII or a control character); check where it was read from"
        )
    return key or None


def check_headers(headers: Mapping[str, str], where: str) -> dict[str, str]:
    """A copy of ``headers``; ``UserError`` naming (not quoting) a value a header cannot carry."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise UserError(f"{where}: header names and values must be str ({name!r})")
        if not name or _bad_char(name) or ":" in name or " " in name:
            raise UserError(f"{where}: {name!r} is not a valid header name")
        if value != value.strip() or _bad_char(value):
            raise UserError(
                f"{where}: the value of header {name!r} has surrounding whitespace, a newline "
                "or a non-ASCII character, which a header cannot carry"
            )
        out[name] = value
    return out


def build_headers(
    base: Mapping[str, str],
    extra: Mapping[str, str] | None,
    api_key: str | None,
    *,
    stream: bool,
    env_name: str,
) -> dict[str, str]:
    """Headers of one request: defaults, the client's, this call's, then ``Authorization``."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
        "User-Agent": "agentkit/0.1",
    }
    headers.update(base)
    if extra:
        headers.update(check_headers(extra, "extra_headers"))
    if not any(name.lower() == "authorization" for name in headers):
        if not api_key:
            raise UserError(
                f"No API key: pass Client(api_key=...) or set the {env_name} environment variable"
            )
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def request_redactor(client_redactor: Redactor, headers: Mapping[str, str]) -> Redactor:
    """The client's redactor, extended by credentials that only this request carries."""
    return client_redactor.with_secrets(secrets_of(headers))


def encode_body(body: Mapping[str, Any] | None) -> bytes | None:
    """The JSON bytes of ``body``; ``UserError`` if it cannot be serialized."""
    if body is None:
        return None
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise UserError(f"The request body is not JSON-serializable: {exc}") from None


def check_timeout(value: object, name: str) -> httpx.Timeout:
    """``value`` (seconds, ``None`` for no limit, or an ``httpx.Timeout``) as a Timeout.

    Each limit must be a finite number of seconds > 0 or ``None``: a negative, zero, NaN or
    string one would otherwise fail only inside the socket layer, as a raw ``ValueError``
    (or, in the async client, as an ``APITimeoutError`` that never waited).
    """
    if isinstance(value, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            limit = getattr(value, part)
            if limit is not None:
                check_seconds(f"{name} ({part})", limit)
        return value
    return httpx.Timeout(None if value is None else check_seconds(name, value))


def to_timeout(value: TimeoutTypes, default: httpx.Timeout) -> httpx.Timeout:
    """``value`` as an ``httpx.Timeout`` (``None``: the client's default), checked."""
    if value is None:
        return default
    return check_timeout(value, "timeout")


def check_chat_kwargs(kwargs: Mapping[str, Any], *, stream: bool, caller: str) -> None:
    """Refuse keyword names that are not ``ChatParams`` keys (``UserError``)."""
    unknown = set(kwargs) - CHAT_PARAM_NAMES
    if unknown:
        if "stream" in unknown:
            hint = "always streams" if stream else "never streams"
            raise UserError(f"{caller}() {hint}; do not pass stream=")
        raise UserError(
            f"Unknown argument(s) {sorted(unknown)!r} to {caller}(); "
            "pass other body fields in extra_body"
        )
    deadline = kwargs.get("deadline")
    if deadline is not None and (
        isinstance(deadline, bool) or not isinstance(deadline, (int, float))
    ):
        raise UserError(f"deadline must be a time.monotonic() value (float), not {deadline!r}")


def tool_definitions(tools: Sequence[Any]) -> list[Any]:
    """The wire form of ``tools``: ``ToolDefinition`` dicts, ``Tool`` objects or dicts."""
    out: list[Any] = []
    for tool in tools:
        if isinstance(tool, Tool):
            out.append(tool.to_openai())
        elif isinstance(tool, Mapping):
            out.append(dict(tool))
        else:
            raise UserError(
                "Each tool must be a ToolDefinition dict, an agentkit Tool or a dict in the "
                f"wire format, not {type(tool).__name__}"
            )
    return out


def chat_body(
    messages: Sequence[Message],
    *,
    model: str,
    stream: bool,
    kwargs: Mapping[str, Any],
    profile: Profile | None = None,
) -> dict[str, Any]:
    """The body of ``POST /chat/completions``; unset (``None``) parameters are left out.

    ``profile`` shapes it for a server family (see ``apply_profile``); ``extra_body`` is
    applied last, as given.
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise UserError(
            "messages must be a list of message dicts such as "
            f"[{{'role': 'user', 'content': '...'}}], not {type(messages).__name__!r}"
        )
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or "role" not in msg:
            raise UserError(f"messages[{i}] must be a dict with a 'role', not {msg!r:.80}")
    body: dict[str, Any] = {"model": model, "messages": list(messages)}
    for name in MODEL_PARAMS:
        value = kwargs.get(name)
        if value is None:
            continue
        if name == "tools":
            if not value:
                continue  # servers reject an empty list; no tools means none sent
            value = tool_definitions(value)
        body[name] = value
    if stream:
        body["stream"] = True
    if profile is not None:
        body = apply_profile(body, profile)
    extra_body = kwargs.get("extra_body")
    if extra_body:
        body.update(extra_body)
    return body


# ---------------------------------------------------------------------- server profiles


def apply_profile(body: Mapping[str, Any], profile: Profile) -> dict[str, Any]:
    """``body`` in the wire shape ``profile``'s servers take (a copy; ``body`` is unchanged).

    Only the shape changes: the assistant tool-call ``content``, image parts, the name of
    the token limit, ``tool_choice`` kinds the server cannot take (sent as the profile's
    fallback), fields it refuses, and ``stream_options`` asking a stream for usage.
    """
    out = dict(body)
    out["messages"] = [_shaped_message(m, profile) for m in body.get("messages") or ()]
    choice = out.get("tool_choice")
    if choice is not None:
        kind = "named" if isinstance(choice, Mapping) else choice
        if kind not in profile.tool_choices:
            if profile.tool_choice_fallback is None:
                del out["tool_choice"]
            else:
                out["tool_choice"] = profile.tool_choice_fallback
    if not profile.parallel_tool_calls:
        out.pop("parallel_tool_calls", None)
    fmt = out.get("response_format")
    if not profile.json_schema and isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        out["response_format"] = {"type": "json_object"}
    if not profile.strict_tools and out.get("tools"):
        out["tools"] = [_without_strict(t) for t in out["tools"]]
    if profile.token_limit == "max_tokens" and "max_completion_tokens" in out:
        out["max_tokens"] = out.pop("max_completion_tokens")
    if out.get("stream") is True and profile.stream_usage and "stream_options" not in out:
        out["stream_options"] = {"include_usage": True}
    return out


_CONTENT = {"null": None, "empty": ""}


def _shaped_message(message: Any, profile: Profile) -> Any:
    if not isinstance(message, Mapping):
        return message
    role = message.get("role")
    if role == "assistant" and message.get("tool_calls") and not message.get("content"):
        msg = dict(message)
        if profile.assistant_content == "omit":
            msg.pop("content", None)
        else:
            msg["content"] = _CONTENT[profile.assistant_content]
        return msg
    content = message.get("content")
    if role == "user" and isinstance(content, list):
        parts = [_image_part(p, profile.image_part) for p in content]
        if any(a is not b for a, b in zip(parts, content, strict=True)):
            return {**message, "content": parts}
    return message


def _image_part(part: Any, shape: str) -> Any:
    if not isinstance(part, Mapping):
        return part
    kind = part.get("type")
    if kind == "image" and shape == "image_url" and isinstance(part.get("image"), str):
        return {"type": "image_url", "image_url": {"url": part["image"]}}
    if kind == "image_url" and shape == "image":
        inner = part.get("image_url")
        url = inner.get("url") if isinstance(inner, Mapping) else None
        if isinstance(url, str):
            return {"type": "image", "image": url}
    return part


def _without_strict(tool: Any) -> Any:
    function = tool.get("function") if isinstance(tool, Mapping) else None
    if not isinstance(function, Mapping) or "strict" not in function:
        return tool
    return {**tool, "function": {k: v for k, v in function.items() if k != "strict"}}
