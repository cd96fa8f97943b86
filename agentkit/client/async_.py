"""``AsyncClient``: the async send loop (sends, reads, sleeps only); streams in ``async_stream``.

The twin of ``sync.py``; the deadline cuts an attempt in flight with ``Cutoff``. A client
reused from a new event loop (a second ``asyncio.run``) gets a new connection pool: the
old one belongs to a loop that is gone.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx
from typing_extensions import Unpack

from agentkit._lazy import exports
from agentkit.client._deadline import Cutoff, clamp, expired
from agentkit.client._gate import NO_SLOT, Slot
from agentkit.client._logmask import MaskedLogs
from agentkit.client.base import BaseClient
from agentkit.client.request import Prepared
from agentkit.client.response import (
    HTTPX_ERRORS,
    check_response,
    detach,
    is_json,
    mapped,
    redact_error,
    too_large,
)
from agentkit.client.retry import deadline_error
from agentkit.defaults import DEFAULT_MAX_RESPONSE_BYTES
from agentkit.errors import APIError, UserError
from agentkit.messages import ChatCompletion, Message, ModelInfo
from agentkit.params import ChatParams
from agentkit.profiles import Profile

if TYPE_CHECKING:
    import asyncio

    from agentkit.client.async_stream import AsyncChatStream
    from agentkit.client.sync import Client
    from agentkit.images import ImagePartShape

__all__ = ["AsyncChatStream", "AsyncClient"]


def _closed_loop(exc: RuntimeError) -> bool:
    return "Event loop is closed" in str(exc) or "attached to a different loop" in str(exc)


class AsyncClient(BaseClient):
    """The asynchronous twin of ``Client``: the same arguments, ``async`` methods.

    ``http_client`` is an ``httpx.AsyncClient`` and ``transport`` an
    ``httpx.AsyncBaseTransport``. See ``Client`` for every argument. The client may be
    used from one event loop after another (``asyncio.run`` per request): each new loop
    gets its own connection pool. Your own ``http_client`` cannot be moved that way; using
    it from a second loop raises ``UserError``.
    """

    _async_io = True

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
        image_part: ImagePartShape | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retry_delay: float = 60.0,
        max_image_bytes: int = 20 * 2**20,
        record_to: str | os.PathLike[str] | None = None,
        max_concurrent_requests: int | None = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        log_bodies: bool | None = None,
        profile: str | Profile | None = None,
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
            max_response_bytes=max_response_bytes,
            log_bodies=log_bodies,
            profile=profile,
        )
        if http_client is not None and transport is not None:
            raise UserError("Pass either http_client or transport, not both")
        self._transport = transport
        self._owns_http = http_client is None
        if http_client is None:
            http_client = self._new_http()
        elif self._recorder is not None:
            self._recorder.install(http_client)
        self._http = http_client
        self._sleep: Callable[[float], Any] = _sleep
        # Made on first use in each event loop: an asyncio.Semaphore that ever had to make a
        # waiter is bound to that loop, and a client may outlive one ``asyncio.run``.
        self._gate: asyncio.Semaphore | None = None
        self._gate_loop: asyncio.AbstractEventLoop | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    def _new_http(self) -> httpx.AsyncClient:
        # As in Client: httpx mounts the HTTP(S)_PROXY proxies only without a transport.
        http = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        if self._recorder is not None:
            self._recorder.install(http)
        return http

    async def aclose(self) -> None:
        """Close the pooled HTTP client (a client you passed in is left open)."""
        if self._owns_http:
            import asyncio  # as in every method here that runs on a loop: see agentkit._aio

            loop = self._http_loop
            if loop is not None and loop is not asyncio.get_running_loop() and loop.is_closed():
                _drop_pool(self._http)  # its connections belong to a loop that is gone
                self._http_loop = None
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
        from agentkit.client.sync import Client  # an async program never loads it otherwise

        return Client(**self._twin_kwargs(), transport=self._transport)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ I/O

    def _http_for_loop(self) -> httpx.AsyncClient:
        """The pool of the running loop: a loop that is gone takes its pool with it."""
        import asyncio

        loop = asyncio.get_running_loop()
        old = self._http_loop
        if old is not loop:
            if old is not None and self._owns_http and old.is_closed():
                _drop_pool(self._http)
                self._http = self._new_http()
            self._http_loop = loop
        return self._http

    async def _acquire(self) -> Slot:
        if self._max_concurrent is None:
            return NO_SLOT
        import asyncio

        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate_loop is not loop:
            self._gate, self._gate_loop = asyncio.Semaphore(self._max_concurrent), loop
        gate = self._gate
        await gate.acquire()
        return Slot(gate)

    async def _read(self, response: httpx.Response, prep: Prepared) -> bytes:
        parts: list[bytes] = []
        size, limit = 0, self._max_response_bytes
        try:
            async for part in response.aiter_bytes():
                size += len(part)
                if size > limit:
                    raise too_large(limit)
                parts.append(part)
        except HTTPX_ERRORS as exc:
            raise mapped(exc, prep.redactor) from detach(exc)
        finally:
            await response.aclose()
        return b"".join(parts)

    async def _attempt(self, prep: Prepared, stream: bool) -> tuple[httpx.Response, bytes | None]:
        http = self._http_for_loop()
        request = http.build_request(
            prep.method,
            prep.http_url,
            content=prep.content,
            headers=prep.headers.raw(),
            timeout=clamp(prep.timeout, prep.deadline, time.monotonic()),
        )
        if prep.deadline is not None:
            request.extensions["agentkit.deadline"] = prep.deadline
        try:
            response = await http.send(request, stream=True)
        except HTTPX_ERRORS as exc:
            if expired(prep.deadline):
                raise deadline_error() from None
            raise mapped(exc, prep.redactor) from detach(exc)
        except RuntimeError as exc:
            if not _closed_loop(exc):
                raise
            raise UserError(
                "This AsyncClient's own http_client was used from an event loop that is now "
                "closed (a second asyncio.run?); its connections belong to that loop. Build "
                "the http_client inside the loop, or let AsyncClient make its own pool"
            ) from None
        if stream and response.status_code < 400 and not is_json(response.headers):
            return response, None
        return response, await self._read(response, prep)

    async def _send(
        self, prep: Prepared, *, stream: bool, attempt: int = 0
    ) -> tuple[httpx.Response, Any, int, Slot]:
        """Send with retries, as the client's ``RetryPolicy`` decides; see ``Client._send``."""
        deadline = prep.deadline
        while True:
            if expired(deadline):
                raise deadline_error()
            self._log_request(prep, attempt)
            headers: httpx.Headers | None = None
            with Cutoff(deadline):
                slot = await self._acquire()
            try:
                with Cutoff(deadline), MaskedLogs(prep.redactor):
                    response, raw = await self._attempt(prep, stream)
            except APIError as err:
                slot.release()
                failure = err
            except BaseException:
                slot.release()
                raise
            else:
                self._log_response(prep, response.status_code, response.headers, raw)
                data, error = check_response(
                    response.status_code, response.headers, raw, prep.redactor
                )
                if error is None:
                    if raw is None:
                        return response, data, attempt, slot
                    slot.release()
                    return response, data, attempt, NO_SLOT
                await response.aclose()
                slot.release()
                failure, headers = error, response.headers
            outcome = self._retry_outcome(prep, failure, attempt, headers)
            if isinstance(outcome, APIError):
                raise outcome
            await self._sleep(outcome)
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
        del params  # a traceback printed with locals must not show extra_headers
        if stream:
            return await _stream_class()(self, prep)._open()
        # Awaited here, not in a helper: one coroutine less held by every request in flight.
        _, data, attempt, _ = await self._send(prep, stream=False)
        return self._completion(data, attempt, prep)

    def stream(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> AsyncChatStream:
        """A streamed completion, opened on ``async with``, ``await`` or the first ``async for``.

        Takes the same keyword arguments as ``create`` (except ``stream``); bad arguments
        raise here, request errors when the stream opens.
        """
        prep = self._prepare_chat_kwargs(messages, params, stream=True, caller="stream")
        del params
        return _stream_class()(self, prep)

    async def create_json(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> Any:
        """Ask in JSON mode and return the parsed content; see ``Client.create_json``."""
        params.setdefault("response_format", {"type": "json_object"})
        prep = self._prepare_chat_kwargs(messages, params, stream=False, caller="create_json")
        del params
        _, data, attempt, _ = await self._send(prep, stream=False)
        completion = self._completion(data, attempt, prep)
        try:
            return self._parse_json_content(completion)
        except APIError as err:
            raise redact_error(err, prep.redactor) from None

    async def list_models(self) -> list[ModelInfo]:
        """``GET /models``: the models the server offers."""
        return self._parse_models(await self._request_json(self._prepare("GET", "/models", None)))


async def _sleep(seconds: float) -> None:
    import asyncio  # loaded by now: this runs on a loop

    await asyncio.sleep(seconds)


def _stream_class() -> type[AsyncChatStream]:
    # Loaded with the first stream: a program that never streams never pays for the decoders.
    from agentkit.client.async_stream import AsyncChatStream

    return AsyncChatStream


# Still importable from here, as it always was.
__getattr__ = exports(__name__, {"AsyncChatStream": "agentkit.client.async_stream"})


def _drop_pool(http: httpx.AsyncClient) -> None:
    """Close the sockets of a pool whose event loop is gone (it cannot be closed normally).

    Best effort through httpx/httpcore/anyio internals: without it each pooled connection
    would keep its descriptor until garbage collection (with a ``ResourceWarning``).
    """
    transport: Any = getattr(http, "_transport", None)
    transport = getattr(transport, "_inner", transport)  # under a RecordingTransport
    pool: Any = getattr(transport, "_pool", None)
    for conn in list(getattr(pool, "_connections", ()) or ()):
        net = getattr(getattr(conn, "_connection", None), "_network_stream", None)
        aio: Any = getattr(getattr(net, "_stream", None), "_transport", None)
        sock = getattr(aio, "_sock", None)
        with contextlib.suppress(Exception):
            if sock is not None:
                sock.close()
                aio._sock = None
    with contextlib.suppress(Exception):
        pool._connections = []
