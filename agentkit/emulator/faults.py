"""Fault injection: parse fault specs and apply them to the core's answers.

A spec is a comma-separated list of faults; each fault is a kind, an optional ``=value`` and
``;key=value`` parameters::

    429;retry-after=2;count=1, latency=0.05
    cut=3
    500;p=0.1

See the README's emulator section for the reference of every kind.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from agentkit._record import record
from agentkit.emulator.wire import (
    Reply,
    dumps,
    error_body,
    error_reply,
    sse_event,
)

# kind -> default value (None: the kind takes no value)
KINDS: dict[str, str | None] = {
    "latency": "0.1",
    "slow": "0.05",
    "status": "500",
    "429": None,
    "500": None,
    "502": None,
    "503": None,
    "html": "502",
    "empty": "500",
    "non-json": None,
    "drop": None,
    "cut": "1",
    "no-done": None,
    "stream-error": "1",
    "bad-args": None,
    "wrong-args": None,
    "unknown-tool": None,
    "repeat": None,
    "length": None,
    "empty-choices": None,
}
# Faults that change the model's message rather than the HTTP exchange.
MESSAGE_KINDS = frozenset({"bad-args", "wrong-args", "unknown-tool", "length", "empty-choices"})
_STATUS_KINDS = frozenset({"status", "html", "empty"})
_PARAMS = frozenset({"count", "p", "retry-after", "retry-after-ms", "message"})
# The error body of each status: the provider's documented ones (400, 401, 429), else
# OpenAI's. Another 4xx is a request error and another 5xx a server error (_status_reply).
_STATUS_TEXT = {
    400: ("Invalid request.", "invalid_request_error", "invalid_request"),
    401: ("Invalid API key.", "authentication_error", "invalid_api_key"),
    403: ("You are not allowed to access this resource.", "permission_error", None),
    404: ("The requested resource does not exist.", "invalid_request_error", "not_found"),
    429: ("Rate limit exceeded.", "rate_limit_error", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.", "server_error", None),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}
_HTML = (
    "<html>\r\n<head><title>{0} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{0} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed (unknown kind, bad number, unknown parameter)."""


@record(slots=True, frozen=True)
class Fault:
    """One fault to inject.

    Attributes:
        kind: What goes wrong (``"429"``, ``"cut"``, ``"latency"``...; see ``KINDS``).
        value: The kind's argument (seconds, status code, chunk count), if any.
        count: Inject only into the first ``count`` requests it applies to (``None``: all).
        p: Probability of injecting into each request (``None``: always), drawn from the
            emulator's seeded random generator.
        params: Other parameters (``retry-after``, ``retry-after-ms``, ``message``).
    """

    kind: str
    value: str | None = None
    count: int | None = None
    p: float | None = None
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        """The parameter ``name``, or ``None``."""
        return next((v for k, v in self.params if k == name), None)

    def number(self) -> float:
        """The value as a number (delays, counts, statuses)."""
        return float(self.value if self.value is not None else KINDS[self.kind] or 0)


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{where}: {text!r} is not a number") from None
    if value != value or value < 0:
        raise FaultSpecError(f"{where}: {text!r} must be a non-negative number")
    return value


def parse_fault(text: str) -> Fault:
    """Parse one fault such as ``"429;retry-after=2;count=1"``."""
    head, *rest = [part.strip() for part in text.split(";")]
    kind, _, value = head.partition("=")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise FaultSpecError(f"unknown emulator fault {kind!r}; known: {', '.join(KINDS)}")
    if value and KINDS[kind] is None:
        raise FaultSpecError(f"fault {kind!r} takes no value, got {value!r}")
    if value:
        number = _float(value, f"fault {kind!r}")
        if kind in _STATUS_KINDS and not (number.is_integer() and 100 <= number <= 599):
            raise FaultSpecError(
                f"fault {kind!r}: the status {value.strip()!r} must be an integer from 100 to 599"
            )
    count: int | None = None
    p: float | None = None
    params: list[tuple[str, str]] = []
    for item in rest:
        if not item:
            continue
        key, _, val = item.partition("=")
        key = key.strip().lower()
        val = val.strip()
        if key not in _PARAMS:
            raise FaultSpecError(f"fault {kind!r}: unknown parameter {key!r}")
        if key == "count":
            count = int(_float(val, f"fault {kind!r} count"))
        elif key == "p":
            p = _float(val, f"fault {kind!r} p")
        else:
            if key != "message":
                _float(val, f"fault {kind!r} {key}")
            params.append((key, val))
    return Fault(kind, value.strip() or None, count, p, tuple(params))


def parse_faults(spec: str | Fault | Iterable[str | Fault] | None) -> list[Fault]:
    """Parse a fault spec (a comma-separated string, a :class:`Fault`, or a list of either)."""
    if spec is None:
        return []
    if isinstance(spec, Fault):
        return [spec]
    if isinstance(spec, str):
        return [parse_fault(part) for part in spec.split(",") if part.strip()]
    out: list[Fault] = []
    for item in spec:
        out.extend(parse_faults(item))
    return out


class FaultState:
    """Counts and random draws for faults; thread-safe, deterministic for a given seed."""

    def __init__(self, seed: int | None = 0) -> None:
        self._random = random.Random(seed)
        self._used: dict[tuple[str, int, Fault], int] = {}
        self._lock = threading.Lock()

    def active(self, faults: Sequence[Fault], source: str) -> list[Fault]:
        """The faults of ``source`` that fire for this request (consuming counts and draws)."""
        fired: list[Fault] = []
        with self._lock:
            for index, fault in enumerate(faults):
                if fault.p is not None and self._random.random() >= fault.p:
                    continue
                if fault.count is not None:
                    key = (source, index, fault)
                    used = self._used.get(key, 0)
                    if used >= fault.count:
                        continue
                    self._used[key] = used + 1
                fired.append(fault)
        return fired


def _status_reply(status: int, fault: Fault) -> Reply:
    fallback = (
        ("Emulated server error.", "server_error", None)
        if status >= 500
        else ("Emulated request error.", "invalid_request_error", None)
    )
    message, type_, code = _STATUS_TEXT.get(status, fallback)
    message = fault.param("message") or message
    headers: list[tuple[str, str]] = []
    if status == 429 or fault.param("retry-after") or fault.param("retry-after-ms"):
        if fault.param("retry-after-ms") is not None:
            headers.append(("retry-after-ms", str(fault.param("retry-after-ms"))))
        else:
            headers.append(("retry-after", fault.param("retry-after") or "1"))
    return error_reply(status, message, type_, code, headers)


def replacement(faults: Sequence[Fault]) -> Reply | None:
    """A reply replacing the real answer (error status, HTML page, drop...), if a fault says so."""
    for fault in faults:
        kind = fault.kind
        if kind in ("429", "500", "502", "503"):
            return _status_reply(int(kind), fault)
        if kind == "status":
            return _status_reply(int(fault.number()), fault)
        if kind == "html":
            status = int(fault.number())
            page = _HTML.format(status).encode()
            return Reply(status, [("content-type", "text/html")], page)
        if kind == "empty":
            return Reply(int(fault.number()), [("content-type", "application/json")], b"")
        if kind == "non-json":
            return Reply(200, [("content-type", "application/json")], b"upstream said: OK\n")
        if kind == "drop":
            return Reply(200, drop=True)
    return None


def alter_message(message: dict[str, Any], finish: str, faults: Sequence[Fault]) -> str:
    """Apply model-misbehaviour faults to the assistant ``message``; return the finish reason."""
    calls = message.get("tool_calls") or []
    for fault in faults:
        if fault.kind == "bad-args":
            for call in calls:
                call["function"]["arguments"] = call["function"]["arguments"][:-1] + ",,"
        elif fault.kind == "wrong-args":
            for call in calls:
                try:
                    args = json.loads(call["function"]["arguments"])
                except ValueError:
                    continue
                if isinstance(args, dict):
                    # each value wrapped in a list (lists in an object): valid JSON, wrong types
                    wrong: dict[str, Any] = {
                        k: {"value": v} if isinstance(v, list) else [v] for k, v in args.items()
                    }
                    call["function"]["arguments"] = dumps(wrong or {"unexpected": [1]})
        elif fault.kind == "unknown-tool":
            for call in calls:
                call["function"]["name"] = "no_such_tool"
        elif fault.kind == "length":
            content = message.get("content")
            message["content"] = content[: len(content) // 2] if isinstance(content, str) else None
            message.pop("tool_calls", None)
            if message["content"] is None:
                message["content"] = ""
            finish = "length"
    return finish


def alter_reply(reply: Reply, faults: Sequence[Fault]) -> Reply:
    """Apply transport faults (latency, slow stream, cut, no [DONE], error in stream)."""
    for fault in faults:
        kind = fault.kind
        if kind == "latency":
            reply.delay += fault.number()
        elif kind == "slow":
            reply.chunk_delay = fault.number()
        elif kind == "cut":
            keep = int(fault.number())
            if reply.chunks is not None:
                reply.chunks = reply.chunks[:keep]
            else:
                reply.body = reply.body[:keep]
            reply.cut = True
        elif kind == "no-done" and reply.chunks:
            reply.chunks = [c for c in reply.chunks if c != b"data: [DONE]\n\n"]
        elif kind == "stream-error" and reply.chunks is not None:
            keep = int(fault.number())
            error = error_body("The server had an error while streaming.", "server_error", None)
            reply.chunks = [*reply.chunks[:keep], sse_event(dumps(error))]
    return reply
