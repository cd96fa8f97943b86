"""Recording of HTTP exchanges to a JSONL cassette (``Client(record_to=...)``).

One line per exchange, in the format ``agentkit.testing`` replays::

    {"request": {"method": "POST", "path": "/v1/chat/completions", "body": <json|null>},
     "response": {"status": 200, "headers": {"content-type": "..."},
                  "body": <json>            # when the body is JSON
                  "text": "data: ...\\n\\n"}} # otherwise (an SSE stream, an HTML page)

No request header is ever written, so the ``Authorization`` header cannot leak; the API key
is also masked wherever it might be echoed in a body. Streamed bodies are captured as they
pass to the caller and written when the stream is closed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["CassetteRecorder", "Recording"]

# Response headers worth replaying; everything else (cookies, server ids...) is dropped.
_KEPT_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-request-id")

_MASK = "***"


class CassetteRecorder:
    """Appends exchanges to a JSONL file; safe to share between threads and client twins."""

    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _locks_guard = threading.Lock()

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._secrets = [s for s in secrets if s]
        key = str(self.path.resolve())
        with self._locks_guard:
            self._lock = self._locks.setdefault(key, threading.Lock())

    def __repr__(self) -> str:
        return f"CassetteRecorder({str(self.path)!r})"

    def record(
        self,
        method: str,
        path: str,
        request_body: bytes | None,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        """Write one complete exchange."""
        line = {
            "request": {"method": method, "path": path, "body": self._json_or_none(request_body)},
            "response": self._response(status, headers, body),
        }
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")

    def start(
        self,
        method: str,
        path: str,
        request_body: bytes | None,
        status: int,
        headers: Mapping[str, str],
    ) -> Recording:
        """Begin a streamed exchange; feed the body to the returned ``Recording``."""
        return Recording(self, method, path, request_body, status, headers)

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text

    def _json_or_none(self, raw: bytes | None) -> Any:
        if not raw:
            return None
        try:
            return json.loads(self._mask(raw.decode("utf-8")))
        except ValueError:
            return None

    def _response(self, status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        kept = {name: headers[name] for name in _KEPT_HEADERS if name in headers}
        out: dict[str, Any] = {"status": status, "headers": kept}
        text = self._mask(body.decode("utf-8", "replace"))
        if "json" in kept.get("content-type", "application/json"):
            try:
                out["body"] = json.loads(text)
                return out
            except ValueError:
                pass
        out["text"] = text
        return out


class Recording:
    """A streamed exchange in progress: collects body bytes, writes once on ``finish``."""

    __slots__ = ("_args", "_parts", "_recorder", "finished")

    def __init__(
        self,
        recorder: CassetteRecorder,
        method: str,
        path: str,
        request_body: bytes | None,
        status: int,
        headers: Mapping[str, str],
    ) -> None:
        self._recorder = recorder
        self._args = (method, path, request_body, status, dict(headers))
        self._parts: list[bytes] = []
        self.finished = False

    def feed(self, data: bytes) -> None:
        """Add bytes of the body as they pass to the caller."""
        self._parts.append(data)

    def finish(self) -> None:
        """Write the exchange (once; later calls do nothing)."""
        if self.finished:
            return
        self.finished = True
        method, path, request_body, status, headers = self._args
        self._recorder.record(method, path, request_body, status, headers, b"".join(self._parts))
