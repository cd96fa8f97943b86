"""Replay mode: answer requests from a JSONL cassette recorded by the client.

One exchange per line (the format the client's ``record_to=`` writes)::

    {"request": {"method": "POST", "path": "/v1/chat/completions", "body": {...}},
     "response": {"status": 200, "headers": {"content-type": "..."}, "body": {...}}}

A streamed answer has ``"text"`` (the raw SSE) instead of ``"body"``. A request is matched by
method, endpoint (``/chat/completions`` under any base path) and its JSON body (key order
and whitespace do not matter). Several recorded exchanges with the same request are served
in recorded order; the last one then repeats.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentkit.emulator.wire import Reply, dumps
from agentkit.errors import UserError


def _key(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"{method.upper()} {_endpoint(path)} {canonical}"


def _endpoint(path: str) -> str:
    # A cassette recorded through a base URL with another prefix (/api/v1, an Azure
    # deployment's path) holds that prefix; the emulator serves the endpoint under /v1.
    for endpoint in ("/chat/completions", "/models"):
        if path.rstrip("/").endswith(endpoint):
            return "/v1" + endpoint
    return path


def _reply(response: Mapping[str, Any]) -> Reply:
    status = response.get("status", 200)
    headers = response.get("headers") or {}
    pairs = [(str(k).lower(), str(v)) for k, v in headers.items() if str(k).lower() in _KEEP]
    if "text" in response and isinstance(response["text"], str):
        text: str = response["text"]
        if "text/event-stream" in str(headers.get("content-type", "")):
            events = [e + "\n\n" for e in text.replace("\r\n", "\n").split("\n\n") if e.strip()]
            return Reply(int(status), pairs, chunks=[e.encode() for e in events])
        return Reply(int(status), pairs, text.encode())
    body = response.get("body")
    return Reply(int(status), pairs, b"" if body is None else dumps(body).encode())


_KEEP = frozenset({"content-type", "retry-after", "retry-after-ms", "x-request-id"})


class Cassette:
    """Recorded exchanges, looked up by request; thread-safe.

    Args:
        path: The JSONL file.

    Raises:
        UserError: The file is missing or a line is not a recorded exchange.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._entries: dict[str, list[Mapping[str, Any]]] = {}
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        try:
            # Split at LF only: ``splitlines`` also splits at U+2028, U+2029 and U+0085,
            # which the recorder writes unescaped inside the JSON of a line.
            lines = self.path.read_text(encoding="utf-8").split("\n")
        except OSError as exc:
            raise UserError(f"cannot read cassette {str(self.path)!r}: {exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                request, response = entry["request"], entry["response"]
                key = _key(request.get("method", "POST"), request["path"], request.get("body"))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise UserError(
                    f"{str(self.path)!r} line {number} is not a recorded exchange"
                ) from None
            self._entries.setdefault(key, []).append(response)

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())

    def lookup(self, method: str, path: str, body: Any) -> Reply | None:
        """The recorded answer to this request, or ``None`` if none was recorded."""
        key = _key(method, path, body)
        responses = self._entries.get(key)
        if not responses:
            return None
        with self._lock:
            index = self._served.get(key, 0)
            self._served[key] = index + 1
        return _reply(responses[min(index, len(responses) - 1)])
