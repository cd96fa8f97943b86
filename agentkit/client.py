"""``Client`` and ``AsyncClient``: the Chat Completions API over httpx.

All logic that does no I/O (configuration, request building, response classification,
the retry policy, stream state) lives in ``agentkit._http`` and is shared; this module holds
only the two thin I/O shells, written once for ``httpx.Client`` and once for
``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import httpx
from typing_extensions import Unpack

from agentkit._http import NO_SLOT, BaseClient, ChatParams, Prepared, Slot, StreamCore, _is_json
from agentkit.errors import APIError, APIStatusError, UserError
from agentkit.messages import ChatCompletion, ChatCompletionChunk, Message, ModelInfo
from agentkit.streaming import ChunkAccumulator

__all__ = ["AsyncChatStream", "AsyncClient", "ChatParams", "ChatStream", "Client"]

_HTTPX_ERRORS = (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL)


class Client(BaseClient):
    """A synchronous client for an OpenAI-compatible Chat Completions API.

    Args:
        api_key: The API key; defaults to ``AGENTKIT_API_KEY``. No other provider's variable
            is ever read. A missing key is reported at the first request.
        base_url: The API root; defaults to ``AGENTKIT_BASE_URL``, then
            ``https://api.yisu.com/v1``.
        model: The default model; defaults to ``AGENTKIT_MODEL``, then ``"gpt-5.4-mini"``.
        timeout: Seconds (or an ``httpx.Timeout``) for each request.
        max_retries: Retries of connection errors, timeouts, 408, 409, 429 and 5xx.
        default_headers: Headers sent with every request.
        http_client: Your own ``httpx.Client`` (not closed by ``close()``).
        image_part: ``"image"`` (the provider's part shape) or ``"image_url"`` (OpenAI's).
        transport: An httpx transport (e.g. ``httpx.MockTransport``) for the pooled client.
        max_retry_delay: The longest wait honoured from ``Retry-After`` / ``retry-after-ms``.
        max_image_bytes: The size limit of one image given to ``user_message``.
        record_to: A JSONL file to append every exchange to (the key is never written).
        max_concurrent_requests: The most requests in flight at once; the others wait their
            turn (first come, first served) in agentkit. A streamed request holds its place
            until the stream is closed; a retry gives its place up while it waits. The default
            100 is httpx's pool size: with more, requests queue in httpcore's pool, whose cost
            grows with the queue (encode/httpcore#1035). Raise it together with the pool of
            your own ``http_client``. ``None``: no limit.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        model: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        image_part: Literal["image", "image_url"] = "image",
        transport: httpx.BaseTransport | None = None,
        max_retry_delay: float = 60.0,
        max_image_bytes: int = 20 * 2**20,
        record_to: str | os.PathLike[str] | None = None,
        max_concurrent_requests: int | None = 100,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            model=model,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            image_part=image_part,
            max_retry_delay=max_retry_delay,
            max_image_bytes=max_image_bytes,
            record_to=record_to,
            max_concurrent_requests=max_concurrent_requests,
        )
        if http_client is not None and transport is not None:
            raise UserError("Pass either http_client or transport, not both")
        self._transport = transport
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=self._timeout)
        self._sleep: Callable[[float], None] = time.sleep
        limit = self._max_concurrent
        self._gate = threading.BoundedSemaphore(limit) if limit is not None else None

    def close(self) -> None:
        """Close the pooled HTTP client (a client you passed in is left open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def to_async(self) -> AsyncClient:
        """An ``AsyncClient`` with this client's configuration (and transport, if given).

        Raises:
            UserError: this client was built from your own ``http_client``.
        """
        if not self._owns_http:
            raise UserError(
                "to_async() cannot copy a custom http_client; pass transport= instead, "
                "or build the AsyncClient yourself"
            )
        return AsyncClient(**self._twin_kwargs(), transport=self._transport)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ I/O

    def _acquire(self) -> Slot:
        if self._gate is None:
            return NO_SLOT
        self._gate.acquire()
        return Slot(self._gate)

    def _send(
        self, prep: Prepared, *, stream: bool, attempt: int = 0
    ) -> tuple[httpx.Response, Any, int, Slot]:
        """Send with retries.

        Returns the response, its parsed JSON (if read), the attempt, and the gate's slot,
        still held only for a stream whose body is unread (the caller releases it on close).
        """
        while True:
            self._log_request(prep, attempt)
            cause: Exception | None = None
            headers: httpx.Headers | None = None
            slot = self._acquire()
            try:
                request = self._http.build_request(
                    prep.method,
                    prep.http_url,
                    content=prep.content,
                    headers=prep.headers,
                    timeout=prep.timeout,
                )
                response = self._http.send(request, stream=stream)
                raw: bytes | None = None
                if not stream or response.status_code >= 400 or _is_json(response.headers):
                    raw = response.read()
            except _HTTPX_ERRORS as exc:
                slot.release()
                cause = exc
                err, retryable = self._transport_error(exc)
            except BaseException:
                slot.release()
                raise
            else:
                try:
                    data, error = self._check_response(
                        prep, response.status_code, response.headers, raw
                    )
                    if error is None:
                        if raw is None:  # an open stream keeps its connection busy
                            kept, slot = slot, NO_SLOT
                            return response, data, attempt, kept
                        return response, data, attempt, NO_SLOT
                    response.close()
                finally:
                    slot.release()
                err, retryable, headers = error, self._retryable_status(error), response.headers
            if not retryable or attempt >= self._max_retries:
                raise err from cause
            delay = self._retry_delay(attempt, headers)
            self._log_retry(prep, err, delay, attempt)
            self._sleep(delay)
            attempt += 1

    def _request_json(self, prep: Prepared) -> Any:
        return self._send(prep, stream=False)[1]

    @overload
    def create(
        self,
        messages: Sequence[Message],
        *,
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    def create(
        self, messages: Sequence[Message], *, stream: Literal[True], **params: Unpack[ChatParams]
    ) -> ChatStream: ...

    def create(
        self, messages: Sequence[Message], *, stream: bool = False, **params: Unpack[ChatParams]
    ) -> ChatCompletion | ChatStream:
        """``POST /chat/completions``.

        Args:
            messages: The conversation, as wire-format dicts.
            stream: Return a ``ChatStream`` of chunks instead of a ``ChatCompletion``.
            **params: The request parameters (``model``, ``temperature``, ``top_p``,
                ``max_completion_tokens``, ``response_format``, ``tools``, ``tool_choice``,
                ``parallel_tool_calls``, ``extra_body``, ``extra_headers``, ``timeout``),
                each documented on ``agentkit.ChatParams``.

        Unset (``None``) parameters are not sent.

        Raises:
            APIStatusError: (a subclass) the server answered with an error.
            APIConnectionError: no response (``APITimeoutError`` on timeout).
            APIResponseError: the response could not be understood.
            UserError: a missing API key or invalid arguments (an unknown keyword: use
                ``extra_body``).
        """
        prep = self._prepare_chat_kwargs(messages, params, stream=stream, caller="create")
        if stream:
            chat_stream = ChatStream(self, prep)
            chat_stream._open()
            return chat_stream
        return ChatCompletion.from_dict(self._request_json(prep))

    def stream(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> ChatStream:
        """``create(..., stream=True)``: a ``ChatStream`` to iterate, used as a context manager.

        Takes the same keyword arguments as ``create`` (except ``stream``).
        """
        prep = self._prepare_chat_kwargs(messages, params, stream=True, caller="stream")
        chat_stream = ChatStream(self, prep)
        chat_stream._open()
        return chat_stream

    def create_json(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> Any:
        """Ask in JSON mode and return the parsed content.

        ``response_format`` defaults to ``{"type": "json_object"}``; other keyword arguments
        are those of ``create`` (except ``stream``).

        Raises:
            JSONContentError: the content is not JSON (the error quotes its start).
        """
        self._check_chat_kwargs(params, stream=False, caller="create_json")
        params.setdefault("response_format", {"type": "json_object"})
        return self._parse_json_content(self.create(messages, **params))

    def list_models(self) -> list[ModelInfo]:
        """``GET /models``: the models the server offers."""
        return self._parse_models(self._request_json(self._prepare("GET", "/models", None)))


class ChatStream:
    """A streamed completion: an iterator of ``ChatCompletionChunk`` and a context manager.

    The response is always closed when the stream ends, on ``close()`` or on leaving the
    ``with`` block. ``accumulator`` builds the final message as chunks pass.
    A failure before the first chunk reached you is retried like any request; after it,
    the error is raised (the server cannot resume a stream).
    """

    def __init__(self, client: Client, prep: Prepared) -> None:
        self._client = client
        self._prep = prep
        self._attempt = 0
        self._response: httpx.Response | None = None
        self._slot = NO_SLOT  # the client's gate place, held while the body is open
        self._bytes: Iterator[bytes] = iter(())
        self._core = StreamCore()
        self._closed = False

    @property
    def accumulator(self) -> ChunkAccumulator:
        """The state built from the chunks delivered so far."""
        return self._core.accumulator

    def _open(self) -> None:
        response, data, self._attempt, self._slot = self._client._send(
            self._prep, stream=True, attempt=self._attempt
        )
        self._response = response
        if data is not None:
            self._core = StreamCore()  # already recorded as a whole exchange
            self._core.feed_json(data)
            self._bytes = iter(())
            return
        self._core = StreamCore(
            StreamCore.start_recording(
                self._client._recorder, self._prep, response.status_code, response.headers
            )
        )
        self._bytes = response.iter_bytes()

    def _retry(self, err: APIError) -> bool:
        client = self._client
        if self._core.delivered or self._attempt >= client.max_retries:
            return False
        self._release()
        delay = client._retry_delay(self._attempt, None)
        client._log_retry(self._prep, err, delay, self._attempt)
        client._sleep(delay)
        self._attempt += 1
        self._open()
        return True

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatCompletionChunk:
        while True:
            try:
                chunk = self._core.next_chunk()
            except APIStatusError as err:
                if self._client._retryable_status(err) and self._retry(err):
                    continue
                self.close()
                raise self._client._redact_error(err) from None
            except APIError:
                self.close()
                raise
            if chunk is not None:
                return chunk
            if self._core.finished or self._closed:
                self.close()
                raise StopIteration
            try:
                data = next(self._bytes)
            except StopIteration:
                self._core.end()
                continue
            except _HTTPX_ERRORS as exc:
                err2, retryable = self._client._transport_error(exc)
                if retryable and self._retry(err2):
                    continue
                self.close()
                raise self._core.broken(err2) from exc
            self._core.feed(data)

    def get_final_completion(self) -> ChatCompletion:
        """Consume the rest of the stream and return the whole completion."""
        for _ in self:
            pass
        return self._core.accumulator.completion()

    def _release(self) -> None:
        try:
            self._core.close()
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


class AsyncClient(BaseClient):
    """The asynchronous twin of ``Client``: the same arguments, ``async`` methods.

    ``http_client`` is an ``httpx.AsyncClient`` and ``transport`` an
    ``httpx.AsyncBaseTransport``. See ``Client`` for every argument.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        model: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        image_part: Literal["image", "image_url"] = "image",
        transport: httpx.AsyncBaseTransport | None = None,
        max_retry_delay: float = 60.0,
        max_image_bytes: int = 20 * 2**20,
        record_to: str | os.PathLike[str] | None = None,
        max_concurrent_requests: int | None = 100,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            model=model,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            image_part=image_part,
            max_retry_delay=max_retry_delay,
            max_image_bytes=max_image_bytes,
            record_to=record_to,
            max_concurrent_requests=max_concurrent_requests,
        )
        if http_client is not None and transport is not None:
            raise UserError("Pass either http_client or transport, not both")
        self._transport = transport
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(transport=transport, timeout=self._timeout)
        self._sleep: Callable[[float], Any] = asyncio.sleep
        # Made on first use in each event loop: an asyncio.Semaphore that ever had to make a
        # waiter is bound to that loop, and a client may outlive one ``asyncio.run``.
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None

    async def aclose(self) -> None:
        """Close the pooled HTTP client (a client you passed in is left open)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def to_sync(self) -> Client:
        """A ``Client`` with this client's configuration (and transport, if given).

        Raises:
            UserError: this client was built from your own ``http_client``.
        """
        if not self._owns_http:
            raise UserError(
                "to_sync() cannot copy a custom http_client; pass transport= instead, "
                "or build the Client yourself"
            )
        return Client(**self._twin_kwargs(), transport=self._transport)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ I/O

    async def _acquire(self) -> Slot:
        if self._max_concurrent is None:
            return NO_SLOT
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(self._max_concurrent), loop
        gate = self._gate
        await gate.acquire()
        return Slot(gate)

    async def _send(
        self, prep: Prepared, *, stream: bool, attempt: int = 0
    ) -> tuple[httpx.Response, Any, int, Slot]:
        """Send with retries.

        Returns the response, its parsed JSON (if read), the attempt, and the gate's slot,
        still held only for a stream whose body is unread (the caller releases it on close).
        """
        while True:
            self._log_request(prep, attempt)
            cause: Exception | None = None
            headers: httpx.Headers | None = None
            slot = await self._acquire()
            try:
                request = self._http.build_request(
                    prep.method,
                    prep.http_url,
                    content=prep.content,
                    headers=prep.headers,
                    timeout=prep.timeout,
                )
                response = await self._http.send(request, stream=stream)
                raw: bytes | None = None
                if not stream or response.status_code >= 400 or _is_json(response.headers):
                    raw = await response.aread()
            except _HTTPX_ERRORS as exc:
                slot.release()
                cause = exc
                err, retryable = self._transport_error(exc)
            except BaseException:
                slot.release()
                raise
            else:
                try:
                    data, error = self._check_response(
                        prep, response.status_code, response.headers, raw
                    )
                    if error is None:
                        if raw is None:  # an open stream keeps its connection busy
                            kept, slot = slot, NO_SLOT
                            return response, data, attempt, kept
                        return response, data, attempt, NO_SLOT
                    await response.aclose()
                finally:
                    slot.release()
                err, retryable, headers = error, self._retryable_status(error), response.headers
            if not retryable or attempt >= self._max_retries:
                raise err from cause
            delay = self._retry_delay(attempt, headers)
            self._log_retry(prep, err, delay, attempt)
            await self._sleep(delay)
            attempt += 1

    async def _request_json(self, prep: Prepared) -> Any:
        return (await self._send(prep, stream=False))[1]

    @overload
    async def create(
        self,
        messages: Sequence[Message],
        *,
        stream: Literal[False] = False,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self, messages: Sequence[Message], *, stream: Literal[True], **params: Unpack[ChatParams]
    ) -> AsyncChatStream: ...

    async def create(
        self, messages: Sequence[Message], *, stream: bool = False, **params: Unpack[ChatParams]
    ) -> ChatCompletion | AsyncChatStream:
        """``POST /chat/completions``; see ``Client.create`` for the arguments."""
        prep = self._prepare_chat_kwargs(messages, params, stream=stream, caller="create")
        if stream:
            chat_stream = AsyncChatStream(self, prep)
            await chat_stream._open()
            return chat_stream
        return ChatCompletion.from_dict(await self._request_json(prep))

    def stream(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> AsyncChatStream:
        """A streamed completion, opened on ``async with``, ``await`` or the first ``async for``.

        Takes the same keyword arguments as ``create`` (except ``stream``); bad arguments
        raise here, request errors when the stream opens.
        """
        prep = self._prepare_chat_kwargs(messages, params, stream=True, caller="stream")
        return AsyncChatStream(self, prep)

    async def create_json(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> Any:
        """Ask in JSON mode and return the parsed content; see ``Client.create_json``."""
        self._check_chat_kwargs(params, stream=False, caller="create_json")
        params.setdefault("response_format", {"type": "json_object"})
        return self._parse_json_content(await self.create(messages, **params))

    async def list_models(self) -> list[ModelInfo]:
        """``GET /models``: the models the server offers."""
        return self._parse_models(await self._request_json(self._prepare("GET", "/models", None)))


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

    @property
    def accumulator(self) -> ChunkAccumulator:
        """The state built from the chunks delivered so far."""
        return self._core.accumulator

    async def _open(self) -> None:
        self._opened = True
        response, data, self._attempt, self._slot = await self._client._send(
            self._prep, stream=True, attempt=self._attempt
        )
        self._response = response
        if data is not None:
            self._core = StreamCore()
            self._core.feed_json(data)
            self._bytes = None
            return
        self._core = StreamCore(
            StreamCore.start_recording(
                self._client._recorder, self._prep, response.status_code, response.headers
            )
        )
        self._bytes = response.aiter_bytes()

    async def _retry(self, err: APIError) -> bool:
        client = self._client
        if self._core.delivered or self._attempt >= client.max_retries:
            return False
        await self._release()
        delay = client._retry_delay(self._attempt, None)
        client._log_retry(self._prep, err, delay, self._attempt)
        await client._sleep(delay)
        self._attempt += 1
        await self._open()
        return True

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
        while True:
            try:
                chunk = self._core.next_chunk()
            except APIStatusError as err:
                if self._client._retryable_status(err) and await self._retry(err):
                    continue
                await self.aclose()
                raise self._client._redact_error(err) from None
            except APIError:
                await self.aclose()
                raise
            if chunk is not None:
                return chunk
            if self._core.finished or self._closed or self._bytes is None:
                await self.aclose()
                raise StopAsyncIteration
            try:
                data = await self._bytes.__anext__()
            except StopAsyncIteration:
                self._core.end()
                continue
            except _HTTPX_ERRORS as exc:
                err2, retryable = self._client._transport_error(exc)
                if retryable and await self._retry(err2):
                    continue
                await self.aclose()
                raise self._core.broken(err2) from exc
            self._core.feed(data)

    async def get_final_completion(self) -> ChatCompletion:
        """Consume the rest of the stream and return the whole completion."""
        async for _ in self:
            pass
        return self._core.accumulator.completion()

    async def _release(self) -> None:
        try:
            self._core.close()
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
