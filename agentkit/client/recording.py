"""Recording of HTTP exchanges to a JSONL cassette (``Client(record_to=...)``).

``RecordingTransport`` wraps the client's real httpx transport (sync and async): it sees
each request and the response's body as it passes, and appends the exchange when the body
is closed. The client only installs it.

One line per exchange, in the format ``agentkit.testing`` replays::

    {"request": {"method": "POST", "path": "/v1/chat/completions", "body": <json|null>},
     "response": {"status": 200, "headers": {"content-type": "..."},
                  "body": <json>            # when the body is JSON
                  "text": "data: ...\\n\\n"}} # otherwise (an SSE stream, an HTML page)

No request header is ever written, so the ``Authorization`` header cannot leak; every
credential the request carried (the API key, any ``Authorization``-like header) is also
masked wherever a body echoes it, verbatim or JSON-escaped. Bodies are stored decoded
(``gzip``/``deflate`` undone), as a replay serves them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from agentkit._json import loads
from agentkit.client._redact import Redactor, secrets_of
from agentkit.client.response import body_text

__all__ = ["CassetteRecorder", "Recording", "RecordingTransport"]

# Response headers worth replaying; everything else (cookies, server ids...) is dropped.
_KEPT_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-request-id")


class CassetteRecorder:
    """Appends exchanges to a JSONL file; safe to share between threads and client twins."""

    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _locks_guard = threading.Lock()

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._redactor = Redactor(secrets)
        key = str(self.path.resolve())
        with self._locks_guard:
            self._lock = self._locks.setdefault(key, threading.Lock())

    def __repr__(self) -> str:
        return f"CassetteRecorder({str(self.path)!r})"

    def wrap(self, inner: Any) -> RecordingTransport:
        """A transport that records every exchange of ``inner`` here."""
        return RecordingTransport(inner, self)

    def install(self, http: httpx.Client | httpx.AsyncClient) -> None:
        """Record every exchange of ``http``: its transport and each of its mounts (the
        proxies httpx set up from ``HTTP(S)_PROXY``) are wrapped in place."""
        http._transport = self.wrap(http._transport)
        mounts: dict[Any, Any] = {
            pattern: None if inner is None else self.wrap(inner)
            for pattern, inner in http._mounts.items()
        }
        http._mounts = mounts

    def record(
        self,
        method: str,
        path: str,
        request_body: bytes | None,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        secrets: Iterable[str] = (),
    ) -> None:
        """Write one complete exchange; ``secrets`` are masked besides the recorder's own."""
        redactor = self._redactor.with_secrets(secrets)
        line = {
            "request": {
                "method": method,
                "path": redactor.text(path),  # a gateway may take the key in its path
                "body": _json_or_none(request_body, redactor),
            },
            "response": _response(status, headers, body, redactor),
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


def _json_or_none(raw: bytes | None, redactor: Redactor) -> Any:
    if not raw:
        return None
    try:
        return redactor.value(loads(redactor.text(raw.decode("utf-8"))))
    except ValueError:
        return None


def _response(
    status: int, headers: Mapping[str, str], body: bytes, redactor: Redactor
) -> dict[str, Any]:
    kept = {name: redactor.text(headers[name]) for name in _KEPT_HEADERS if name in headers}
    out: dict[str, Any] = {"status": status, "headers": kept}
    text = redactor.text(body_text(_decoded(body, headers), headers))
    if "json" in kept.get("content-type", "application/json"):
        try:
            out["body"] = redactor.value(loads(text))
            return out
        except ValueError:
            pass
    out["text"] = text
    return out


def _decoded(body: bytes, headers: Mapping[str, str]) -> bytes:
    encoding = headers.get("content-encoding", "")
    if not encoding.strip() or encoding.strip().lower() == "identity":
        return body
    # httpx's own decoders, as the client read the body: raw deflate (no zlib header),
    # stacked encodings, and br / zstd when their packages are installed.
    try:
        return httpx.Response(200, headers={"content-encoding": encoding}, content=body).content
    except httpx.DecodingError:
        return body


class Recording:
    """A streamed exchange in progress: collects body bytes, writes once on ``finish``."""

    __slots__ = ("_args", "_parts", "_recorder", "_secrets", "finished")

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
        self._secrets: tuple[str, ...] = ()
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
        self._recorder.record(
            method, path, request_body, status, headers, b"".join(self._parts), self._secrets
        )


class _TeeSync(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, recording: Recording) -> None:
        self._inner = inner
        self._recording = recording

    def __iter__(self) -> Iterator[bytes]:
        for part in self._inner:
            self._recording.feed(part)
            yield part

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._recording.finish()


class _TeeAsync(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, recording: Recording) -> None:
        self._inner = inner
        self._recording = recording

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            self._recording.feed(part)
            yield part

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._recording.finish()


def _recorded_whole(response: httpx.Response, recording: Recording) -> bool:
    # A response built from bytes (a mock transport) is read already: nothing will stream.
    if not isinstance(response.stream, httpx.ByteStream):
        return False
    recording.feed(response.content)
    recording.finish()
    return True


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport that records every exchange of the transport it wraps.

    Args:
        inner: The real transport (sync or async, matching the client it is installed in).
        recorder: Where exchanges are written.

    The exchange is written when the response body is closed (a stream: when it is
    closed or broke off), with whatever part of the body was read.
    """

    def __init__(
        self, inner: httpx.BaseTransport | httpx.AsyncBaseTransport, recorder: CassetteRecorder
    ) -> None:
        self._inner = inner
        self.recorder = recorder

    def __repr__(self) -> str:
        return f"RecordingTransport({self._inner!r}, {self.recorder!r})"

    def _start(self, request: httpx.Request, response: httpx.Response) -> Recording:
        recording = self.recorder.start(
            request.method,
            request.url.path,
            request.content or None,
            response.status_code,
            response.headers,
        )
        recording._secrets = tuple(secrets_of(request.headers))
        return recording

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the wrapped transport; record as the body passes."""
        inner = self._inner
        assert isinstance(inner, httpx.BaseTransport)
        response = inner.handle_request(request)
        recording = self._start(request, response)
        if not _recorded_whole(response, recording):
            assert isinstance(response.stream, httpx.SyncByteStream)
            response.stream = _TeeSync(response.stream, recording)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The async twin of ``handle_request``."""
        inner = self._inner
        assert isinstance(inner, httpx.AsyncBaseTransport)
        response = await inner.handle_async_request(request)
        recording = self._start(request, response)
        if not _recorded_whole(response, recording):
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = _TeeAsync(response.stream, recording)
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        inner = self._inner
        if isinstance(inner, httpx.BaseTransport):
            inner.close()

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        inner = self._inner
        if isinstance(inner, httpx.AsyncBaseTransport):
            await inner.aclose()
