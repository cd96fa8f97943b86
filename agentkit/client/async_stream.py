"""``AsyncChatStream``: the async twin of ``ChatStream`` (``async with``, ``async for``, ``await``).

The deadline cuts a read in flight with ``Cutoff``; retrying is decided as for ``ChatStream``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from agentkit.client._deadline import Cutoff
from agentkit.client._gate import NO_SLOT
from agentkit.client._logmask import MaskedLogs
from agentkit.client.chunks import ChunkAccumulator
from agentkit.client.request import Prepared
from agentkit.client.response import HTTPX_ERRORS, mapped
from agentkit.client.retry import is_deadline_error
from agentkit.client.stream_core import StreamCore
from agentkit.errors import APIError
from agentkit.messages import ChatCompletion, ChatCompletionChunk

if TYPE_CHECKING:
    from agentkit.client.async_ import AsyncClient

__all__ = ["AsyncChatStream"]


class AsyncChatStream:
    """The async twin of ``ChatStream``: ``async with``, ``async for``, ``await``."""

    def __init__(self, client: AsyncClient, prep: Prepared) -> None:
        self._client = client
        self._prep = prep
        self._attempt = 0
        self._response: httpx.Response | None = None
        self._slot = NO_SLOT  # the client's gate place, held while the body is open
        self._bytes: AsyncIterator[bytes] | None = None
        self._core = StreamCore()
        self._opened = False
        self._closed = False

    def __repr__(self) -> str:
        return f"AsyncChatStream({self._prep.path}, {self._core.delivered} chunks)"

    @property
    def accumulator(self) -> ChunkAccumulator:
        """The state built from the chunks delivered so far."""
        return self._core.accumulator

    async def _open(self) -> AsyncChatStream:
        self._opened = True
        response, data, self._attempt, self._slot = await self._client._send(
            self._prep, stream=True, attempt=self._attempt
        )
        self._response = response
        request_id = response.headers.get("x-request-id")
        self._core = StreamCore(self._client.max_response_bytes, request_id)
        if data is not None:
            self._core.feed_json(data)
            self._bytes = None
        else:
            self._bytes = response.aiter_bytes()
        return self

    async def _fail(self, err: APIError, headers: Mapping[str, str] | None = None) -> None:
        """Retry (reopened, returns) or raise ``err`` as the policy decides."""
        outcome = self._client._retry_outcome(self._prep, err, self._attempt, headers, self._core)
        if isinstance(outcome, APIError):
            await self.aclose()
            raise outcome
        await self._release()
        await self._client._sleep(outcome)
        self._attempt += 1
        await self._open()

    def __await__(self) -> Generator[Any, None, AsyncChatStream]:
        return self._await_open().__await__()

    async def _await_open(self) -> AsyncChatStream:
        if not self._opened:
            await self._open()
        return self

    def __aiter__(self) -> AsyncChatStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        if not self._opened:
            await self._open()
        try:
            with Cutoff(self._prep.deadline):
                return await self._next()
        except APIError as err:
            if is_deadline_error(err) and not self._closed:
                await self.aclose()
            raise

    async def _next(self) -> ChatCompletionChunk:
        while True:
            try:
                chunk = self._core.next_chunk()
            except APIError as err:
                await self._fail(err)
                continue
            if chunk is not None:
                return chunk
            if self._closed:
                raise StopAsyncIteration
            if self._core.finished:
                failure = self._core.end_error()
                if failure is not None:
                    await self._fail(failure)
                    continue
                await self.aclose()
                raise StopAsyncIteration
            try:
                assert self._bytes is not None
                with MaskedLogs(self._prep.redactor):
                    data = await self._bytes.__anext__()
                self._core.feed(data)
            except StopAsyncIteration:
                self._core.end()
            except HTTPX_ERRORS as exc:
                await self._fail(mapped(exc, self._prep.redactor))
            except APIError as err:
                await self._fail(err)

    async def get_final_completion(self) -> ChatCompletion:
        """Consume the rest of the stream and return the whole completion."""
        async for _ in self:
            pass
        completion = self._core.accumulator.completion()
        completion.retries = self._attempt
        return completion

    async def _release(self) -> None:
        try:
            if self._response is not None:
                await self._response.aclose()
        finally:
            self._slot.release()

    async def aclose(self) -> None:
        """Close the response (safe to call more than once)."""
        if not self._closed:
            self._closed = True
            await self._release()

    async def __aenter__(self) -> AsyncChatStream:
        if not self._opened:
            await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
