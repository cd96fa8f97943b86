"""``Client``: the synchronous send loop, which only sends, reads and sleeps.

Every decision is made elsewhere: ``RetryPolicy`` (retry or raise, how long to wait, the
deadline), ``response`` (what a response means), ``StreamCore`` (what the bytes mean).
Its streams are ``ChatStream`` (``sync_stream``), loaded with the first stream.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import httpx
from typing_extensions import Unpack

from agentkit._lazy import exports
from agentkit.client._deadline import clamp, expired
from agentkit.client._gate import NO_SLOT, Slot
from agentkit.client._logmask import MaskedLogs
from agentkit.client._watchdog import Watch, watch_response
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
    from agentkit.client.async_ import AsyncClient
    from agentkit.client.sync_stream import ChatStream
    from agentkit.images import ImagePartShape

__all__ = ["ChatStream", "Client"]


class Client(BaseClient):
    """A synchronous client for an OpenAI-compatible Chat Completions API.

    Args:
        api_key: The API key; defaults to ``AGENTKIT_API_KEY``. No other provider's variable
            is ever read. A missing key is reported at the first request; a key with
            surrounding whitespace or characters a header cannot carry is a ``UserError``
            here (which does not quote it).
        base_url: The API root; defaults to ``AGENTKIT_BASE_URL``, then
            ``https://api.yisu.com/v1``.
        model: The default model; defaults to ``AGENTKIT_MODEL``, then ``"gpt-5.4-mini"``.
        timeout: Seconds (or an ``httpx.Timeout``) for each network operation (connect,
            each read, each write); a request's total is bounded by ``deadline=``.
        max_retries: Retries of connection errors, timeouts, 408, 409, 429 and 5xx.
        default_headers: Headers sent with every request.
        http_client: Your own ``httpx.Client`` (not closed by ``close()``).
        image_part: ``"image"`` (the provider's part shape) or ``"image_url"`` (OpenAI's);
            by default the profile's.
        transport: An httpx transport (e.g. ``httpx.MockTransport``) for the pooled client.
        max_retry_delay: The longest wait honoured from ``Retry-After`` / ``retry-after-ms``.
        max_image_bytes: The size limit of one image given to ``user_message``.
        record_to: A JSONL file to append every exchange to (no credential is written).
        max_concurrent_requests: The most requests in flight at once; the others wait their
            turn (first come, first served) in agentkit. A streamed request holds its place
            until the stream is closed; a retry gives its place up while it waits. The default
            100 is httpx's pool size: with more, requests queue in httpcore's pool, whose cost
            grows with the queue (encode/httpcore#1035). Raise it together with the pool of
            your own ``http_client``. ``None``: no limit.
        max_response_bytes: The largest decoded body, or whole stream, read (32 MiB);
            beyond it ``APIResponseError``.
        log_bodies: Let DEBUG logging show request and response bodies (default: only
            sizes and ids; ``AGENTKIT_LOG_BODIES=1`` also switches it on).
        profile: The server profile shaping requests: a name in
            ``agentkit.profiles.PROFILES`` or a ``Profile``; defaults to ``AGENTKIT_PROFILE``,
            then ``"gpt-5.4-mini"``.
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
        image_part: ImagePartShape | None = None,
        transport: httpx.BaseTransport | None = None,
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
            # transport=None lets httpx mount the proxies of HTTP(S)_PROXY; a transport
            # given to it would turn them off, so a recorder wraps what httpx built.
            http_client = httpx.Client(transport=transport, timeout=self._timeout)
        if self._recorder is not None:
            self._recorder.install(http_client)
        self._http = http_client
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
        from agentkit.client.async_ import AsyncClient

        return AsyncClient(**self._twin_kwargs(), transport=self._transport)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ I/O

    def _acquire(self, deadline: float | None) -> Slot:
        if self._gate is None:
            return NO_SLOT
        if deadline is None:
            self._gate.acquire()
        elif not self._gate.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise deadline_error()
        return Slot(self._gate)

    def _read(self, response: httpx.Response, prep: Prepared, watch: Watch | None) -> bytes:
        """The whole (decoded) body, within ``max_response_bytes`` and the deadline."""
        parts: list[bytes] = []
        size, limit, deadline = 0, self._max_response_bytes, prep.deadline
        try:
            for part in response.iter_bytes():
                size += len(part)
                if size > limit:
                    raise too_large(limit)
                parts.append(part)
                if deadline is not None and time.monotonic() >= deadline:
                    raise deadline_error()
        except HTTPX_ERRORS as exc:
            if expired(deadline, watch):
                raise deadline_error() from None
            raise mapped(exc, prep.redactor) from detach(exc)
        finally:
            response.close()
        if watch is not None and watch.fired:  # the cut looked like a close-delimited end
            raise deadline_error()
        return b"".join(parts)

    def _attempt(
        self, prep: Prepared, stream: bool
    ) -> tuple[httpx.Response, bytes | None, Watch | None]:
        """One try: the response and its body (``None``: a stream left open, and its watch)."""
        request = self._http.build_request(
            prep.method,
            prep.http_url,
            content=prep.content,
            headers=prep.headers.raw(),
            timeout=clamp(prep.timeout, prep.deadline, time.monotonic()),
        )
        if prep.deadline is not None:
            request.extensions["agentkit.deadline"] = prep.deadline
        try:
            response = self._http.send(request, stream=True)
        except HTTPX_ERRORS as exc:
            if expired(prep.deadline):
                raise deadline_error() from None
            raise mapped(exc, prep.redactor) from detach(exc)
        watch = watch_response(response, prep.deadline)
        if stream and response.status_code < 400 and not is_json(response.headers):
            return response, None, watch
        try:
            return response, self._read(response, prep, watch), None
        finally:
            if watch is not None:
                watch.cancel()

    def _send(
        self, prep: Prepared, *, stream: bool, attempt: int = 0
    ) -> tuple[httpx.Response, Any, int, Slot, Watch | None]:
        """Send with retries, as the client's ``RetryPolicy`` decides.

        Returns the response, its parsed JSON (if read), the attempt, the gate's slot (held
        only for a stream whose body is unread) and that stream's deadline watch.
        """
        deadline = prep.deadline
        while True:
            if expired(deadline):
                raise deadline_error()
            self._log_request(prep, attempt)
            headers: httpx.Headers | None = None
            slot = self._acquire(deadline)
            try:
                with MaskedLogs(prep.redactor):
                    response, raw, watch = self._attempt(prep, stream)
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
                    if raw is None:  # an open stream keeps its connection busy
                        return response, data, attempt, slot, watch
                    slot.release()
                    return response, data, attempt, NO_SLOT, None
                response.close()
                slot.release()
                failure, headers = error, response.headers
            outcome = self._retry_outcome(prep, failure, attempt, headers)
            if isinstance(outcome, APIError):
                raise outcome
            self._sleep(outcome)
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
                ``parallel_tool_calls``, ``extra_body``, ``extra_headers``, ``timeout``,
                ``deadline``), each documented on ``agentkit.ChatParams``.

        Unset (``None``) parameters are not sent. ``timeout`` bounds each network
        operation; ``deadline`` (an absolute ``time.monotonic()``) the whole request.

        Raises:
            APIStatusError: (a subclass) the server answered with an error.
            APIConnectionError: no response (``APITimeoutError`` on timeout or deadline).
            APIResponseError: the response could not be understood, or was too large.
            UserError: a missing API key or invalid arguments (an unknown keyword: use
                ``extra_body``).
        """
        prep = self._prepare_chat_kwargs(messages, params, stream=stream, caller="create")
        del params  # a traceback printed with locals must not show extra_headers
        if stream:
            return _stream_class()(self, prep)._open()
        _, data, attempt, _, _ = self._send(prep, stream=False)
        return self._completion(data, attempt, prep)

    def stream(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> ChatStream:
        """``create(..., stream=True)``: a ``ChatStream`` to iterate, used as a context manager.

        Takes the same keyword arguments as ``create`` (except ``stream``).
        """
        prep = self._prepare_chat_kwargs(messages, params, stream=True, caller="stream")
        del params
        return _stream_class()(self, prep)._open()

    def create_json(self, messages: Sequence[Message], **params: Unpack[ChatParams]) -> Any:
        """Ask in JSON mode and return the parsed content.

        ``response_format`` defaults to ``{"type": "json_object"}``; other keyword arguments
        are those of ``create`` (except ``stream``). The content is parsed by
        ``agentkit.jsonanswer.parse_json_answer`` (one code fence is accepted), as
        structured output parses it.

        Raises:
            JSONContentError: the content is not JSON (the error quotes its start).
        """
        params.setdefault("response_format", {"type": "json_object"})
        prep = self._prepare_chat_kwargs(messages, params, stream=False, caller="create_json")
        del params
        _, data, attempt, _, _ = self._send(prep, stream=False)
        completion = self._completion(data, attempt, prep)
        try:
            return self._parse_json_content(completion)
        except APIError as err:
            raise redact_error(err, prep.redactor) from None

    def list_models(self) -> list[ModelInfo]:
        """``GET /models``: the models the server offers."""
        return self._parse_models(self._request_json(self._prepare("GET", "/models", None)))


def _stream_class() -> type[ChatStream]:
    # Loaded with the first stream: a program that never streams never pays for the decoders.
    from agentkit.client.sync_stream import ChatStream

    return ChatStream


# Still importable from here, as it always was.
__getattr__ = exports(__name__, {"ChatStream": "agentkit.client.sync_stream"})
