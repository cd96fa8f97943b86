"""Configuration and the pure parts of ``Client`` and ``AsyncClient``.

Both clients inherit this; their modules (``sync.py``, ``async_.py``) add only the send
loops, which send, read and sleep as ``RetryPolicy`` decides.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote_plus

import httpx
from typing_extensions import TypeIs

from agentkit._checks import check_count
from agentkit.client._logmask import install as install_log_masking
from agentkit.client._redact import Redactor, is_secret_header, secrets_of
from agentkit.client.request import (
    Prepared,
    SecretHeaders,
    build_headers,
    chat_body,
    check_api_key,
    check_chat_kwargs,
    check_headers,
    check_timeout,
    encode_body,
    to_timeout,
)
from agentkit.client.response import parse_completion, redact_error
from agentkit.client.retry import RetryPolicy
from agentkit.defaults import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MODEL,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_LOG_BODIES,
    ENV_MODEL,
)
from agentkit.errors import APIError, APIResponseError, JSONContentError, UserError
from agentkit.messages import ChatCompletion, Message, ModelInfo
from agentkit.params import TimeoutTypes
from agentkit.profiles import Profile, resolve_profile

if TYPE_CHECKING:
    from agentkit.client.async_ import AsyncClient
    from agentkit.client.recording import CassetteRecorder
    from agentkit.client.stream_core import StreamCore
    from agentkit.images import ImageInput, ImagePartShape

logger = logging.getLogger("agentkit.client")

__all__ = ["BaseClient", "is_async", "logger"]


def _base_url(given: str | None) -> tuple[str, str, str, list[str]]:
    """The base URL (``base_url``, the environment or the default), checked: the URL (no
    trailing slash before its query), its path, its query (``""`` or ``"?..."``) and the
    credentials in that query (the values of ``key``, ``token``... parameters)."""
    base = given or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    try:
        url = httpx.URL(base)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UserError(f"Invalid base_url {base!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise UserError(f"base_url must be an http(s) URL, not {base!r}")
    if url.fragment:
        raise UserError("base_url must not have a '#' fragment: it would swallow the path")
    if url.userinfo:
        # httpx would send them as Basic auth in place of the Bearer key. Not quoted: secret.
        raise UserError(
            "base_url must not hold 'user:password@': httpx would send them instead of the "
            "API key; pass the key as api_key (a proxy's credentials: your own http_client)"
        )
    # A query (Azure's ?api-version=, a gateway's ?key=) stays after the endpoint's path:
    # appended to the whole string, the path would land inside the query.
    root, mark, query = base.partition("?")
    # Each credential as written (``%2B`` for ``+``) and decoded: logs quote the URL.
    secrets: list[str] = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if is_secret_header(unquote_plus(name)):
            secrets += [value, unquote_plus(value)]
    return root.rstrip("/") + mark + query, url.path.rstrip("/"), mark + query, secrets


def _profile(profile: str | Profile | None, image_part: ImagePartShape | None) -> Profile:
    if image_part is not None:
        from agentkit.images import IMAGE_PART_SHAPES  # only an explicit image_part needs it

        if image_part not in IMAGE_PART_SHAPES:
            raise UserError(f"image_part must be 'image' or 'image_url', not {image_part!r}")
    resolved = resolve_profile(profile)
    if image_part is not None and image_part != resolved.image_part:
        # an explicit image_part wins over the profile's, for every request
        resolved = dataclasses.replace(resolved, image_part=image_part)
    return resolved


def _redactor(api_key: str | None, headers: Mapping[str, str], in_url: list[str]) -> Redactor:
    secrets = [api_key or "", *secrets_of(headers), *in_url]
    if api_key:
        secrets.append(f"Bearer {api_key}")
    return Redactor(secrets)


def is_async(client: object) -> TypeIs[AsyncClient]:
    """Whether ``client`` is an ``AsyncClient``: asked without loading the async client (or,
    asked of a ``Client``, the sync one), which ``isinstance`` would need."""
    return isinstance(client, BaseClient) and client._async_io


class BaseClient:
    """Configuration and the pure logic of ``Client`` and ``AsyncClient``."""

    _rand: Callable[[], float] = random.random
    _async_io: ClassVar[bool] = False  # True on AsyncClient: see ``is_async``

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        *,
        model: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        image_part: ImagePartShape | None,
        max_retry_delay: float,
        max_image_bytes: int,
        record_to: str | os.PathLike[str] | None,
        max_concurrent_requests: int | None = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        log_bodies: bool | None = None,
        profile: str | Profile | None = None,
    ) -> None:
        if api_key is not None:
            self._api_key = check_api_key(api_key, "api_key")
        else:
            self._api_key = check_api_key(os.environ.get(ENV_API_KEY) or None, ENV_API_KEY)
        self._base_url, self._base_path, self._query, url_secrets = _base_url(base_url)
        self._root = self._base_url[: len(self._base_url) - len(self._query)]
        self._urls: dict[str, httpx.URL] = {}  # path -> parsed URL; a client uses only a few
        self._model = model or os.environ.get(ENV_MODEL) or DEFAULT_MODEL
        self._profile = _profile(profile, image_part)
        self._max_concurrent: int | None = check_count(
            "max_concurrent_requests", max_concurrent_requests, none=True
        )
        self._max_response_bytes: int = check_count("max_response_bytes", max_response_bytes)
        self._timeout = check_timeout(timeout, "timeout")
        self._default_headers = check_headers(default_headers or {}, "default_headers")
        self._image_part: ImagePartShape = self._profile.image_part
        self._policy = RetryPolicy(max_retries=max_retries, max_retry_delay=max_retry_delay)
        self.max_image_bytes: int = check_count("max_image_bytes", max_image_bytes)
        if log_bodies is not None and not isinstance(log_bodies, bool):
            raise UserError(f"log_bodies must be a bool or None, not {log_bodies!r}")
        self._record_to = record_to
        self._log_bodies = (
            log_bodies if log_bodies is not None else os.environ.get(ENV_LOG_BODIES) == "1"
        )
        self._redactor = _redactor(self._api_key, self._default_headers, url_secrets)
        if any(secret in self._base_path for secret in self._redactor.secrets):
            # shown in logs and reprs; checked first, as most paths hold none
            self._base_path = self._redactor.text(self._base_path)
        install_log_masking()
        self._recorder: CassetteRecorder | None = None
        if record_to is not None:
            from agentkit.client.recording import CassetteRecorder  # only cassettes need it

            self._recorder = CassetteRecorder(record_to, secrets=self._redactor.secrets)

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
        return self._policy.max_retries

    @property
    def max_retry_delay(self) -> float:
        """The longest wait honoured from ``Retry-After`` / ``retry-after-ms``."""
        return self._policy.max_retry_delay

    @max_retry_delay.setter
    def max_retry_delay(self, value: float) -> None:
        self._policy = dataclasses.replace(self._policy, max_retry_delay=value)

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy deciding which failures are retried and how long to wait."""
        return self._policy

    @property
    def max_concurrent_requests(self) -> int | None:
        """The most requests this client has in flight at once (``None``: no limit)."""
        return self._max_concurrent

    @property
    def max_response_bytes(self) -> int:
        """The largest decoded body (or whole stream) read before ``APIResponseError``."""
        return self._max_response_bytes

    @property
    def image_part(self) -> ImagePartShape:
        """The shape of image content parts this client builds."""
        return self._image_part

    @property
    def profile(self) -> Profile:
        """The server profile shaping this client's requests (``agentkit.profiles``)."""
        return self._profile

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout of each network operation (not of the whole request)."""
        return self._timeout

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._redactor.text(self._base_url)!r}, "
            f"model={self._model!r}, "
            f"max_retries={self.max_retries}, profile={self._profile.name!r})"
        )

    def _twin_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key,
            "base_url": self._base_url,
            "model": self._model,
            "timeout": self._timeout,
            "max_retries": self.max_retries,
            "default_headers": self._default_headers,
            "image_part": self._image_part,
            "max_retry_delay": self.max_retry_delay,
            "max_image_bytes": self.max_image_bytes,
            "record_to": self._record_to,
            "max_concurrent_requests": self._max_concurrent,
            "max_response_bytes": self._max_response_bytes,
            "log_bodies": self._log_bodies,
            "profile": self._profile,
        }

    def _retry_delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        """The wait before retry ``attempt + 1`` (the policy's, with this client's jitter)."""
        return self._policy.delay(attempt, headers, self._rand())

    # ------------------------------------------------------------------ requests

    def user_message(self, text: str, images: Sequence[ImageInput] = ()) -> Message:
        """A user message with ``text`` and ``images`` (paths, bytes or data URLs).

        Image parts follow this client's ``image_part`` shape; MIME types are detected from
        the bytes; images over ``max_image_bytes`` are refused.

        Raises:
            UserError: an image is missing, not PNG/JPEG/GIF/WebP, or too large.
        """
        from agentkit.images import user_message  # only images need it

        return user_message(
            text, list(images), shape=self._image_part, max_bytes=self.max_image_bytes
        )

    def _prepare(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        stream: bool = False,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        deadline: float | None = None,
    ) -> Prepared:
        content = encode_body(body)
        headers = build_headers(
            self._default_headers, extra_headers, self._api_key, stream=stream, env_name=ENV_API_KEY
        )
        redactor = self._redactor
        if extra_headers:
            redactor = redactor.with_secrets(secrets_of(headers))
        url = self._root + path + self._query
        http_url = self._urls.get(path)
        if http_url is None:
            http_url = self._urls[path] = httpx.URL(url)
        return Prepared(
            method,
            url,
            self._base_path + path,
            content,
            SecretHeaders(headers),
            to_timeout(timeout, self._timeout),
            http_url,
            redactor,
            deadline,
        )

    def _prepare_chat_kwargs(
        self,
        messages: Sequence[Message],
        kwargs: Mapping[str, Any],
        *,
        stream: bool,
        caller: str,
    ) -> Prepared:
        """The request of ``caller(messages, **kwargs)``, checking the names."""
        check_chat_kwargs(kwargs, stream=stream, caller=caller)
        body = chat_body(
            messages,
            model=kwargs.get("model") or self._model,
            stream=stream,
            kwargs=kwargs,
            profile=self._profile,
        )
        return self._prepare(
            "POST",
            "/chat/completions",
            body,
            stream=stream,
            extra_headers=kwargs.get("extra_headers"),
            timeout=kwargs.get("timeout"),
            deadline=kwargs.get("deadline"),
        )

    # Kept for tools/bench_micro.py and callers of the old private API.
    def _prepare_chat(
        self,
        messages: Sequence[Message],
        *,
        stream: bool,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutTypes = None,
        params: Mapping[str, Any] | None = None,
    ) -> Prepared:
        kwargs = {
            **(params or {}),
            "model": model,
            "extra_body": extra_body,
            "extra_headers": extra_headers,
            "timeout": timeout,
        }
        return self._prepare_chat_kwargs(messages, kwargs, stream=stream, caller="create")

    # ------------------------------------------------------------------ logging

    def _log_request(self, prep: Prepared, attempt: int) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        size = len(prep.content) if prep.content else 0
        if self._log_bodies:
            body = prep.content.decode("utf-8", "replace") if prep.content else ""
            logger.debug(
                "Request %s %s (attempt %d, %d bytes) body=%s",
                prep.method,
                prep.path,
                attempt + 1,
                size,
                prep.redactor.text(body[:2000]),
            )
        else:
            logger.debug(
                "Request %s %s (attempt %d, %d bytes)", prep.method, prep.path, attempt + 1, size
            )

    def _log_response(
        self, prep: Prepared, status: int, headers: Mapping[str, str], raw: bytes | None
    ) -> None:
        if not logger.isEnabledFor(logging.DEBUG):
            return
        request_id = prep.redactor.text(headers.get("x-request-id", "-"))
        size = "stream" if raw is None else f"{len(raw)} bytes"
        if self._log_bodies and raw is not None:
            text = prep.redactor.text(raw[:2000].decode("utf-8", "replace"))
            logger.debug(
                "Response %s %s: %d (%s, request id %s) body=%s",
                prep.method,
                prep.path,
                status,
                size,
                request_id,
                text,
            )
        else:
            logger.debug(
                "Response %s %s: %d (%s, request id %s)",
                prep.method,
                prep.path,
                status,
                size,
                request_id,
            )

    def _log_retry(self, prep: Prepared, err: Exception, delay: float, attempt: int) -> None:
        logger.info(
            "Retrying %s %s in %.2f s (retry %d of %d): %s",
            prep.method,
            prep.path,
            delay,
            attempt + 1,
            self.max_retries,
            err,
        )

    def _retry_outcome(
        self,
        prep: Prepared,
        err: APIError,
        attempt: int,
        headers: Mapping[str, str] | None,
        stream: StreamCore | None = None,
    ) -> float | APIError:
        """After attempt ``attempt`` failed with ``err``: the delay before the next one
        (logged), or the error to raise. For a ``stream`` the error is marked with the
        chunks already delivered, and redacted."""
        # An error object inside a stream is built without the request's redactor: mask it
        # before it is logged, or kept as the ``__cause__`` of a deadline error.
        redact_error(err, prep.redactor)
        decision = self._policy.decide(
            err,
            attempt,
            headers=headers,
            rand=self._rand(),
            now=time.monotonic(),
            deadline=prep.deadline,
            delivered=stream is not None and stream.delivered > 0,
        )
        if isinstance(decision, APIError):
            decision.retries = attempt
            if stream is None:
                return decision
            if decision is err:
                decision = stream.broken(err)
            decision.__suppress_context__ = True
            return redact_error(decision, prep.redactor)
        self._log_retry(prep, err, decision, attempt)
        return decision

    # ------------------------------------------------------------------ parsing

    @staticmethod
    def _parse_models(data: Any) -> list[ModelInfo]:
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise APIResponseError("The model list has no 'data' list")
        return [ModelInfo.from_dict(item) for item in items]

    @staticmethod
    def _completion(data: Any, attempt: int, prep: Prepared) -> ChatCompletion:
        """The parsed answer to a chat request that took ``attempt`` retries."""
        completion = parse_completion(data, prep.redactor)
        completion.retries = attempt
        return completion

    @staticmethod
    def _parse_json_content(completion: ChatCompletion) -> Any:
        content = completion.message.content
        if content is None:
            raise JSONContentError("JSON mode answered with no content", content="")
        from agentkit.jsonanswer import parse_json_answer  # JSON mode only

        try:
            return parse_json_answer(content)
        except ValueError as exc:
            raise JSONContentError(
                f"JSON mode answered with content that is {exc}: {content[:200]!r}",
                content=content,
            ) from None
