"""``ChatStream``: a streamed completion read synchronously, retried before its first chunk.

It only reads and sleeps: what the bytes mean is ``StreamCore``'s, and whether a failure is
retried is ``BaseClient._stream_outcome``'s (the retry policy).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from agentkit.client._deadline import expired
from agentkit.client._gate import NO_SLOT
from agentkit.client._logmask import MaskedLogs
from agentkit.client._watchdog import Watch
from agentkit.client.chunks import ChunkAccumulator
from agentkit.client.request import Prepared
from agentkit.client.response import HTTPX_ERRORS, mapped
from agentkit.client.retry import deadline_error
from agentkit.client.stream_core import StreamCore
from agentkit.errors import APIError
from agentkit.messages import ChatCompletion, ChatCompletionChunk

if TYPE_CHECKING:
    from agentkit.client.sync import Client

__all__ = ["ChatStream"]


class ChatStream:
    """A streamed completion: an iterator of ``ChatCompletionChunk`` and a context manager.

    The response is always closed when the stream ends, on ``close()`` or on leaving the
    ``with`` block. ``accumulator`` builds the final message as chunks pass.
    A failure before the first chunk reached you is retried like any request; after it,
    the error is raised (the server cannot resume a stream). A stream that ends with no
    finish reason and no ``[DONE]`` is incomplete: ``APIConnectionError``.
    """

    def __init__(self, client: Client, prep: Prepared) -> None:
        self._client = client
        self._prep = prep
        self._attempt = 0
        self._response: httpx.Response | None = None
        self._watch: Watch | None = None
        self._slot = NO_SLOT  # the client's gate place, held while the body is open
        self._bytes: Iterator[bytes] = iter(())
        self._core = StreamCore()
        self._closed = False

    def __repr__(self) -> str:
        return f"ChatStream({self._prep.path}, {self._core.delivered} chunks)"

    @property
    def accumulator(self) -> ChunkAccumulator:
        """The state built from the chunks delivered so far."""
        return self._core.accumulator

    def _open(self) -> ChatStream:
        response, data, self._attempt, self._slot, self._watch = self._client._send(
            self._prep, stream=True, attempt=self._attempt
        )
        self._response = response
        request_id = response.headers.get("x-request-id")
        self._core = StreamCore(self._client.max_response_bytes, request_id)
        if data is not None:
            self._core.feed_json(data)
            self._bytes = iter(())
        else:
            self._bytes = response.iter_bytes()
        return self

    def _fail(self, err: APIError, headers: Mapping[str, str] | None = None) -> None:
        """Retry (reopened, returns) or raise ``err`` as the policy decides."""
        outcome = self._client._retry_outcome(self._prep, err, self._attempt, headers, self._core)
        if isinstance(outcome, APIError):
            self.close()
            raise outcome
        self._release()
        self._client._sleep(outcome)
        self._attempt += 1
        self._open()

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        deadline = self._prep.deadline
        while True:
            try:
                chunk = self._core.next_chunk()
            except APIError as err:
                self._fail(err)
                continue
            if chunk is not None:
                return chunk
            if self._closed:
                raise StopIteration
            if self._core.finished:
                failure = self._core.end_error()
                if failure is not None:
                    self._fail(failure)
                    continue
                self.close()
                raise StopIteration
            try:
                with MaskedLogs(self._prep.redactor):
                    data = next(self._bytes)
                if expired(deadline, self._watch):
                    raise deadline_error()
                self._core.feed(data)
            except StopIteration:
                if self._watch is not None and self._watch.fired:
                    self._fail(deadline_error())
                self._core.end()
            except HTTPX_ERRORS as exc:
                cut = expired(deadline, self._watch)
                self._fail(deadline_error() if cut else mapped(exc, self._prep.redactor))
            except APIError as err:
                self._fail(err)

    def get_final_completion(self) -> ChatCompletion:
        """Consume the rest of the stream and return the whole completion."""
        for _ in self:
            pass
        completion = self._core.accumulator.completion()
        completion.retries = self._attempt
        return completion

    def _release(self) -> None:
        try:
            if self._watch is not None:
                self._watch.cancel()
            if self._response is not None:
                self._response.close()
        finally:
            self._slot.release()

    def close(self) -> None:
        """Close the response (safe to call more than once)."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
