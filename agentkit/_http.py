"""Everything the sync and async clients share that does no network I/O.

Configuration and its environment variables, request building, response classification,
the retry policy, redaction of the API key, and ``StreamCore`` (the state of one stream:
SSE decoding, chunk parsing, accumulation and recording). ``client.py`` adds only the two
thin I/O shells around this.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import math
import os
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
from typing_extensions import TypedDict

from agentkit._cassette import CassetteRecorder, Recording
from agentkit.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    JSONContentError,
    RateLimitError,
    UserError,
)
from agentkit.images import DEFAULT_MAX_IMAGE_BYTES, ImageInput, user_message
from agentkit.messages import ChatCompletion, ChatCompletionChunk, Message, ModelInfo
from agentkit.streaming import (
    DONE,
    ChunkAccumulator,
    SSEDecoder,
    error_from_body,
    parse_chunk,
)

logger = logging.getLogger("agentkit.client")

DEFAULT_BASE_URL = "https://api.yisu.com/v1"
DEFAULT_MODEL = "gpt-5.4-mini"
ENV_API_KEY = "AGENTKIT_API_KEY"
ENV_BASE_URL = "AGENTKIT_BASE_URL"
ENV_MODEL = "AGENTKIT_MODEL"

BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 8.0
_MASK = "***"
_RETRY_STATUSES = frozenset({408, 409, 429})
_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})

TimeoutTypes = float | httpx.Timeout | None


class ChatParams(TypedDict, total=False):
    """The keyword arguments of ``create``, ``stream`` and ``create_json`` (both clients).

    Every key is optional; an unset (or ``None``) parameter is not sent. Any other keyword
    raises ``UserError``: pass other body fields in ``extra_body``.

    Keys:
        model: Overrides the client's model.
        temperature: Sampling temperature.
        top_p: Nucleus sampling.
        max_completion_tokens: Most output tokens (``max_tokens`` is never sent).
        response_format: E.g. ``{"type": "json_object"}``.
        tools: ``agentkit.Tool`` objects or wire-format tool dicts.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or a named function.
        parallel_tool_calls: Whether the model may call several tools at once.
        extra_body: Other body fields, sent as given (they win over the above).
        extra_headers: Headers for this request only.
        timeout: Overrides the client's timeout for this request.
    """

    model: str | None
    temperature: float | None
    top_p: float | None
    max_completion_tokens: int | None
    response_format: Mapping[str, Any] | None
    tools: Sequence[Any] | None
    tool_choice: str | Mapping[str, Any] | None
    parallel_tool_calls: bool | None
    extra_body: Mapping[str, Any] | None
    extra_headers: Mapping[str, str] | None
    timeout: TimeoutTypes


# Request options handled by agentkit; every other ``ChatParams`` key is a body field.
_CHAT_OPTIONS = frozenset({"model", "extra_body", "extra_headers", "timeout"})
_CHAT_KEYS = frozenset(ChatParams.__optional_keys__)
# The body fields, in declaration order (the order they are sent in).
_CHAT_PARAMS = tuple(k for k in ChatParams.__annotations__ if k not in _CHAT_OPTIONS)


@dataclass(slots=True)
class Prepared:
    """A request ready to send (and to resend on retry)."""

    method: str
    url: str
    path: str
    content: bytes | None
    headers: dict[str, str]
    timeout: httpx.Timeout
    http_url: httpx.URL  # ``url`` parsed once per client, not once per request


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """The delay the server asked for via ``retry-after-ms`` or ``Retry-After``, if any.

    ``Retry-After`` may be seconds or an HTTP date.
    """
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms) / 1000
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        value = when.timestamp() - (time.time() if now is None else now)
        return max(value, 0.0)
    return value if math.isfinite(value) and value >= 0 else None


def _is_json(headers: Mapping[str, str]) -> bool:
    return "json" in headers.get("content-type", "")


class _Releasable(Protocol):
    def release(self) -> None: ...


class Slot:
    """One place in a client's request gate, given back exactly once by ``release()``.

    The sync client's gate is a ``threading.BoundedSemaphore`` and the async client's an
    ``asyncio.Semaphore``; both release without I/O, so one class serves both.
    """

    __slots__ = ("_gate",)

    def __init__(self, gate: _Releasable | None) -> None:
        self._gate = gate

    def release(self) -> None:
        """Give the place back (no-op the second time, or for an ungated client)."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()


NO_SLOT = Slot(None)  # what an ungated client hands out; releasing it does nothing


def _check_max_concurrent(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"max_concurrent_requests must be an int >= 1 or None, not {value!r}")
    return value


class BaseClient:
    """Configuration and the pure logic of ``Client`` and ``AsyncClient``."""

    _rand: Callable[[], float] = random.random

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        *,
        model: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        image_part: Literal["image", "image_url"],
        max_retry_delay: float,
        max_image_bytes: int,
        record_to: str | os.PathLike[str] | None,
        max_concurrent_requests: int | None = 100,
    ) -> None:
        self._api_key = api_key if api_key is not None else os.environ.get(ENV_API_KEY) or None
        base = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        try:
            url = httpx.URL(base)
        except (httpx.InvalidURL, TypeError) as exc:
            raise UserError(f"Invalid base_url {base!r}: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise UserError(f"base_url must be an http(s) URL, not {base!r}")
        self._base_url = base.rstrip("/")
        self._base_path = url.path.rstrip("/")
        self._urls: dict[str, httpx.URL] = {}  # path -> parsed URL; a client uses only a few
        self._model = model or os.environ.get(ENV_MODEL) or DEFAULT_MODEL
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise UserError(f"max_retries must be an int >= 0, not {max_retries!r}")
        if image_part not in ("image", "image_url"):
            raise UserError(f"image_part must be 'image' or 'image_url', not {image_part!r}")
        self._max_retries = max_retries
        self._max_concurrent = _check_max_concurrent(max_concurrent_requests)
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._default_headers = dict(default_headers or {})
        self._image_part: Literal["image", "image_url"] = image_part
        self.max_retry_delay = float(max_retry_delay)
        self.max_image_bytes = max_image_bytes
        self._record_to = record_to
        self._recorder = (
            CassetteRecorder(record_to, secrets=self._secrets()) if record_to is not None else None
        )

    # ------------------------------------------------------------------ configuration

    @property
    def model(self) -> str:
        """The model used when a call does not name one."""
        return self._model

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``https://api.yisu.com/v1`` (no trailing slash)."""
        return self._base_url

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried."""
        return self._max_retries

    @property
    def max_concurrent_requests(self) -> int | None:
        """The most requests this client has in flight at once (``None``: no limit)."""
        return self._max_concurrent

    @property
    def image_part(self) -> Literal["image", "image_url"]:
        """The shape of image content parts this client builds."""
        return self._image_part

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout of each request."""
        return self._timeout

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, model={self._model!r}, "
            f"max_retries={self._max_retries})"
        )

    def _twin_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key,
            "base_url": self._base_url,
            "model": self._model,
            "timeout": self._timeout,
            "max_retries": self._max_retries,
            "default_headers": self._default_headers,
            "image_part": self._image_part,
            "max_retry_delay": self.max_retry_delay,
            "max_image_bytes": self.max_image_bytes,
            "record_to": self._record_to,
            "max_concurrent_requests": self._max_concurrent,
        }

    def _secrets(self) -> list[str]:
        return [self._api_key] if self._api_key else []

    def _redact(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, _MASK)
        return text

    # ------------------------------------------------------------------ requests

    def user_message(self, text: str, images: Sequence[ImageInput] = ()) -> Message:
        """A user message with ``text`` and ``images`` (paths, bytes or data URLs).

        Image parts follow this client's ``image_part`` shape; MIME types are detected from
        the bytes; images over ``max_image_bytes`` are refused.

        Raises:
            UserError: an image is missing, not PNG/JPEG/GIF/WebP, or too large.
        """
        return user_message(
            text, list(images), shape=self._image_part, max_bytes=self.max_image_bytes
        )

    def _headers(self, extra: Mapping[str, str] | None, *, stream: bool) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": "agentkit/0.1",
        }
        headers.update(self._default_headers)
        if extra:
            headers.update(extra)
        if not any(name.lower() == "authorization" for name in headers):
            if not self._api_key:
                raise UserError(
                    f"No API key: pass Client(api_key=...) or set the {ENV_API_KEY} "
                    "environment variable"
                )
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _prepare(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
    ) -> Prepared:
        content = None
        if body is not None:
            try:
                content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (TypeError, ValueError) as exc:
                raise UserError(f"The request body is not JSON-serializable: {exc}") from None
        url = self._base_url + path
        if timeout is None:
            to = self._timeout
        else:
            to = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        headers = self._headers(extra_headers, stream=stream)
        http_url = self._urls.get(path)
        if http_url is None:
            http_url = self._urls[path] = httpx.URL(url)
        return Prepared(method, url, self._base_path + path, content, headers, to, http_url)

    def _chat_body(
        self,
        messages: Sequence[Message],
        *,
        model: str | None,
        stream: bool,
        params: Mapping[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
            raise UserError(
                "messages must be a list of message dicts such as "
                f"[{{'role': 'user', 'content': '...'}}], not {type(messages).__name__!r}"
            )
        for i, msg in enumerate(messages):
            if not isinstance(msg, Mapping) or "role" not in msg:
                raise UserError(f"messages[{i}] must be a dict with a 'role', not {msg!r:.80}")
        body: dict[str, Any] = {"model": model or self._model, "messages": list(messages)}
        for name, value in params.items():
            if value is None:
                continue  # unset parameters are not sent
            if name == "tools":
                if not value:
                    continue  # servers reject an empty list; no tools means none sent
                value = [_tool_dict(t) for t in value]
            body[name] = value
        if stream:
            body["stream"] = True
        if extra_body:
            body.update(extra_body)
        return body

    def _prepare_chat(
        self,
        messages: Sequence[Message],
        *,
        stream: bool,
        model: str | None,
        extra_body: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None,
        timeout: TimeoutTypes,
        params: Mapping[str, Any],
    ) -> Prepared:
        body = self._chat_body(
            messages, model=model, stream=stream, params=params, extra_body=extra_body
        )
        return self._prepare(
            "POST",
            "/chat/completions",
            body,
            stream=stream,
            extra_headers=extra_headers,
            timeout=timeout,
        )

    @staticmethod
    def _check_chat_kwargs(kwargs: Mapping[str, Any], *, stream: bool, caller: str) -> None:
        """Refuse keyword names that are not ``ChatParams`` keys (``UserError``)."""
        unknown = set(kwargs) - _CHAT_KEYS
        if unknown:
            if "stream" in unknown:
                hint = "always streams" if stream else "never streams"
                raise UserError(f"{caller}() {hint}; do not pass stream=")
            raise UserError(
                f"Unknown argument(s) {sorted(unknown)!r} to {caller}(); "
                "pass other body fields in extra_body"
            )

    def _prepare_chat_kwargs(
        self,
        messages: Sequence[Message],
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
        caller: str,
    ) -> Prepared:
        """``_prepare_chat`` for ``caller(messages, **kwargs)``, checking the names."""
        self._check_chat_kwargs(kwargs, stream=stream, caller=caller)
        return self._prepare_chat(
            messages,
            stream=stream,
            model=kwargs.get("model"),
            extra_body=kwargs.get("extra_body"),
            extra_headers=kwargs.get("extra_headers"),
            timeout=kwargs.get("timeout"),
            params={k: kwargs[k] for k in _CHAT_PARAMS if k in kwargs},
        )

    def _log_request(self, prep: Prepared, attempt: int) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        headers = {
            k: (_MASK if k.lower() in _SECRET_HEADERS else self._redact(v))
            for k, v in prep.headers.items()
        }
        body = prep.content.decode("utf-8", "replace") if prep.content else ""
        logger.debug(
            "Request %s %s (attempt %d) headers=%s body=%s",
            prep.method,
            prep.url,
            attempt + 1,
            headers,
            self._redact(body[:2000]),
        )

    # ------------------------------------------------------------------ responses

    def _status_error(self, status: int | None, headers: Mapping[str, str], raw: bytes) -> APIError:
        text = raw.decode("utf-8", "replace")
        body: object = text
        if text.strip():
            with contextlib.suppress(ValueError):
                body = json.loads(text)
        err = error_from_body(body, status_code=status, request_id=headers.get("x-request-id"))
        return self._redact_error(err)

    def _redact_error(self, err: APIStatusError) -> APIStatusError:
        secrets = self._secrets()
        if secrets and any(s in str(err.args) or s in repr(err.body) for s in secrets):
            err.args = tuple(self._redact(str(a)) for a in err.args)
            err.body = json.loads(self._redact(json.dumps(err.body)))
        return err

    def _check_response(
        self, prep: Prepared, status: int, headers: Mapping[str, str], raw: bytes | None
    ) -> tuple[Any, APIError | None]:
        """Classify a response; ``raw`` is ``None`` for a stream not read yet."""
        if raw is not None and self._recorder is not None:
            self._recorder.record(prep.method, prep.path, prep.content, status, headers, raw)
        if status >= 400:
            return None, self._status_error(status, headers, raw or b"")
        if raw is None:
            return None, None
        try:
            data = json.loads(raw)
        except ValueError:
            text = raw.decode("utf-8", "replace")
            return None, APIResponseError(
                f"HTTP {status} with a body that is not JSON: {text.strip()[:200]!r}",
                body=self._redact(text[:200]),
            )
        if isinstance(data, dict) and data.get("error"):
            return None, self._status_error(None, headers, raw)
        return data, None

    def _transport_error(self, exc: Exception) -> tuple[APIError, bool]:
        """Map an httpx exception; the flag says whether retrying may help."""
        detail = self._redact(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(f"Request timed out ({type(exc).__name__}): {detail}"), True
        retryable = isinstance(exc, httpx.TransportError) and not isinstance(
            exc, httpx.UnsupportedProtocol
        )
        return APIConnectionError(f"Connection failed ({type(exc).__name__}): {detail}"), retryable

    @staticmethod
    def _retryable_status(err: APIError) -> bool:
        if isinstance(err, APIStatusError):
            if err.status_code is None:
                return isinstance(err, (RateLimitError, InternalServerError))
            return err.status_code in _RETRY_STATUSES or err.status_code >= 500
        return False

    def _retry_delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        """Seconds to wait before retry ``attempt + 1``: the server's wish, else backoff."""
        asked = retry_after(headers)
        if asked is not None:
            return min(asked, self.max_retry_delay)
        delay: float = min(BACKOFF_INITIAL * 2.0**attempt, BACKOFF_MAX)
        return min(delay * (1 - 0.25 * self._rand()), self.max_retry_delay)

    def _log_retry(self, prep: Prepared, err: APIError, delay: float, attempt: int) -> None:
        logger.info(
            "Retrying %s %s in %.2f s (retry %d of %d): %s",
            prep.method,
            prep.path,
            delay,
            attempt + 1,
            self._max_retries,
            err,
        )

    @staticmethod
    def _parse_models(data: Any) -> list[ModelInfo]:
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise APIResponseError("The model list has no 'data' list", body=json.dumps(data)[:200])
        return [ModelInfo.from_dict(item) for item in items]

    @staticmethod
    def _parse_json_content(completion: ChatCompletion) -> Any:
        content = completion.message.content
        if content is None:
            raise JSONContentError("JSON mode answered with no content", content="")
        text = content.strip()
        if text.startswith("```"):
            # Some models fence their JSON; the fence is not part of the value.
            text = text.split("\n", 1)[1] if "\n" in text else ""
            text = text.rsplit("```", 1)[0].strip()
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise JSONContentError(
                f"JSON mode answered with content that is not JSON ({exc.msg} at "
                f"position {exc.pos}): {content[:200]!r}",
                content=content,
            ) from None


def _tool_dict(tool: object) -> Any:
    to_openai = getattr(tool, "to_openai", None)  # agentkit.Tool, without importing it
    if callable(to_openai):
        return to_openai()
    if isinstance(tool, Mapping):
        return dict(tool)
    raise UserError(
        f"Each tool must be an agentkit Tool or a dict in the wire format, not {tool!r:.80}"
    )


class StreamCore:
    """The I/O-free state of one streamed response, fed bytes by the sync or async shell."""

    __slots__ = ("_decoder", "_eof", "_payloads", "accumulator", "delivered", "recording")

    def __init__(self, recording: Recording | None = None) -> None:
        self._decoder = SSEDecoder()
        self._payloads: deque[str] = deque()
        self._eof = False
        self.accumulator = ChunkAccumulator()
        self.delivered = 0
        self.recording = recording

    def feed(self, data: bytes) -> None:
        """Bytes of the body, as they arrive."""
        if self.recording is not None:
            self.recording.feed(data)
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
        self._eof = True

    def end(self) -> None:
        """The body ended (possibly without a final newline or ``[DONE]``)."""
        self._payloads.extend(self._decoder.flush())
        self._eof = True

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
                return None
            chunk = parse_chunk(payload)
            self.accumulator.add(chunk)
            self.delivered += 1
            return chunk
        return None

    def broken(self, err: APIError) -> APIError:
        """The error to raise when the body broke off: unchanged before the first chunk."""
        if not self.delivered:
            return err
        return APIConnectionError(
            f"The stream broke after {self.delivered} chunks and cannot be retried: {err}"
        )

    def close(self) -> None:
        """Write the recording, if any (once)."""
        if self.recording is not None:
            self.recording.finish()

    @staticmethod
    def start_recording(
        recorder: CassetteRecorder | None, prep: Prepared, status: int, headers: Mapping[str, str]
    ) -> Recording | None:
        """A ``Recording`` for this stream when the client records."""
        if recorder is None:
            return None
        return recorder.start(prep.method, prep.path, prep.content, status, headers)


__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_IMAGE_BYTES",
    "DEFAULT_MODEL",
    "NO_SLOT",
    "BaseClient",
    "ChatParams",
    "Prepared",
    "Slot",
    "StreamCore",
    "retry_after",
]
