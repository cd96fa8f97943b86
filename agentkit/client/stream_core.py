"""The I/O-free state of one streamed response, fed bytes by the sync or async loop."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from agentkit.client.chunks import ChunkAccumulator, decode_chunk
from agentkit.client.response import too_large
from agentkit.client.retry import is_deadline_error
from agentkit.client.sse import DONE, SSEDecoder
from agentkit.errors import APIConnectionError, APIError, APIResponseError, APIStatusError
from agentkit.messages import ChatCompletionChunk

__all__ = ["StreamCore"]

_QUOTED = 200  # bytes of a body that is not an event stream quoted in its error


class StreamCore:
    """SSE decoding, chunk parsing, accumulation and the size limit of one stream."""

    __slots__ = (
        "_decoder",
        "_done",
        "_eof",
        "_head",
        "_limit",
        "_listed",
        "_payloads",
        "_request_id",
        "_size",
        "accumulator",
        "delivered",
    )

    def __init__(self, limit: int | None = None, request_id: str | None = None) -> None:
        self._decoder = SSEDecoder()
        self._request_id = request_id  # the response's x-request-id, for an error event
        self._payloads: deque[str] = deque()
        self._eof = False
        self._done = False
        self._limit = limit
        self._size = 0
        self._head = b""  # the body's first bytes, quoted if it is not an event stream
        self._listed = False  # some chunk had a `choices` list (maybe empty)
        self.accumulator = ChunkAccumulator()
        self.delivered = 0

    def feed(self, data: bytes) -> None:
        """Bytes of the (decoded) body, as they arrive.

        Raises:
            APIResponseError: the stream passed ``max_response_bytes``.
        """
        if self._size < _QUOTED:
            self._head += data[: _QUOTED - self._size]
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            raise too_large(self._limit)
        self._payloads.extend(self._decoder.feed(data))

    def feed_json(self, data: Any) -> None:
        """A server that ignored ``stream: true`` sent a whole completion: make it a chunk."""
        if isinstance(data, dict) and isinstance(data.get("choices"), list):
            data = dict(data)
            data["choices"] = [
                {**c, "delta": c.get("message")} if isinstance(c, dict) else c
                for c in data["choices"]
            ]
        self._payloads.append(json.dumps(data))
        self._payloads.append(DONE)  # a whole body is complete by construction
        self._eof = True

    def end(self) -> None:
        """The body ended (possibly without a final newline or ``[DONE]``)."""
        self._payloads.extend(self._decoder.flush())
        self._eof = True

    def end_error(self) -> APIError | None:
        """At the end: the error of a stream that was not a whole answer, if it was not.

        A stream is complete at ``[DONE]`` or once a choice carried a finish reason; one
        that just stops (a close-delimited response cut short looks exactly like that) is
        not, and the half-received message must not be acted on. A complete stream in
        which no chunk had a ``choices`` list is not a completion at all: the same
        ``APIResponseError`` as a non-streamed body without one (``"choices": []`` is an
        answer with no choices, in both).
        """
        if not (self._done or self.accumulator.any_finished):
            text = self._head.decode("utf-8", "replace").strip().lstrip("\ufeff")
            if text and not self._decoder.saw_field and not _truncated_field(text):
                # A web page (a base_url missing its /v1, a proxy's login page) is no cut
                # stream: quote it, as create() quotes a body that is not JSON, and do
                # not retry it.
                return APIResponseError(
                    f"The stream's body is not server-sent events: {text!r}", body=text
                )
            return APIConnectionError(
                f"The stream ended after {self.delivered} chunks without a finish reason "
                "or [DONE]: the response is incomplete"
            )
        if not self._listed:
            return APIResponseError(
                f"The stream has no 'choices' list in any of its {self.delivered} chunks"
            )
        return None

    @property
    def finished(self) -> bool:
        """No more chunks will come: ``[DONE]`` or the end of the body was reached."""
        return not self._payloads and (self._eof or self._decoder.done)

    def next_chunk(self) -> ChatCompletionChunk | None:
        """The next complete chunk, or ``None`` if more bytes are needed (or finished).

        Raises:
            APIStatusError: the stream carried an error object.
            APIResponseError: an event was not valid JSON.
        """
        while self._payloads:
            payload = self._payloads.popleft()
            if payload == DONE:
                self._payloads.clear()
                self._done = True
                return None
            try:
                data = decode_chunk(payload)
            except APIStatusError as err:
                err.request_id = err.request_id or self._request_id
                raise
            if not self._listed and isinstance(data, dict):
                self._listed = isinstance(data.get("choices"), list)
            chunk = ChatCompletionChunk.from_dict(data)
            self.accumulator.add(chunk)
            self.delivered += 1
            return chunk
        return None

    def broken(self, err: APIError) -> APIError:
        """The error to raise when the body broke off: unchanged before the first chunk.

        Only a connection failure is rewritten; an error object in the stream, a body that
        cannot be understood and the request's deadline keep their type.
        """
        if not self.delivered or not isinstance(err, APIConnectionError) or is_deadline_error(err):
            return err
        return APIConnectionError(
            f"The stream broke after {self.delivered} chunks and cannot be retried: {err}"
        )


def _truncated_field(text: str) -> bool:
    """Whether ``text`` could be the start of an SSE line cut short (``"dat"``)."""
    return any(name.startswith(text) for name in ("data:", "event:", "id:", "retry:"))
