"""Pure classification of responses and transport failures into agentkit's errors.

Every error built here passes through the request's ``Redactor``: its message and none of
its attributes (``.body``, ``.code``, ``.error_type``, ``.request_id``...) hold a credential
the request carried, however the server echoed it (verbatim, JSON-escaped, in a header).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from agentkit._json import loads
from agentkit.client._redact import MASK, Redactor, is_secret_header
from agentkit.errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APITimeoutError,
    error_from_body,
    is_error_body,
)
from agentkit.messages import ChatCompletion

# What httpx raises for a failed exchange; each becomes an agentkit error via ``mapped``.
HTTPX_ERRORS = (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL)

__all__ = [
    "HTTPX_ERRORS",
    "body_text",
    "check_response",
    "close_delimited",
    "is_json",
    "mapped",
    "parse_completion",
    "redact_error",
    "too_large",
    "transport_error",
]


def is_json(headers: Mapping[str, str]) -> bool:
    """Whether the response says its body is JSON."""
    return "json" in headers.get("content-type", "")


def close_delimited(headers: Mapping[str, str]) -> bool:
    """Whether the body's end is the connection's end (no length, not chunked)."""
    return "content-length" not in headers and "transfer-encoding" not in headers


def too_large(limit: int) -> APIResponseError:
    """The error of a body (or stream) larger than ``max_response_bytes``."""
    return APIResponseError(
        f"The response is larger than max_response_bytes ({limit} bytes, decoded); "
        "reading stopped there"
    )


def redact_error(err: APIError, redactor: Redactor) -> APIError:
    """``err`` with every secret masked in its message and every attribute (in place).

    Every instance attribute is walked, not a list of known ones: a server may echo a
    credential in any field (``error.code``, ``error.type``...) that lands on an error.
    """
    if not redactor.secrets:
        return err
    err.args = tuple(redactor.value(a) for a in err.args)
    for name, value in list(vars(err).items()):
        if isinstance(value, (str, dict, list)):
            setattr(err, name, redactor.value(value))
    return err


_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)


def body_text(raw: bytes, headers: Mapping[str, str]) -> str:
    """A body as text: UTF-8 (as JSON must be) when it is, else the charset its
    ``content-type`` declares (a proxy's GBK error page), else UTF-8 with replacements."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Only now: a server labelling its UTF-8 JSON "charset=ISO-8859-1" must not be misread.
    declared = _CHARSET.search(headers.get("content-type", ""))
    if declared is not None:
        try:
            return raw.decode(declared.group(1), "replace")
        except LookupError:  # an unknown name, or a codec that is not a text encoding
            pass
    return raw.decode("utf-8", "replace")


def status_error(
    status: int | None,
    headers: Mapping[str, str],
    raw: bytes,
    redactor: Redactor,
    where: str | None = None,
) -> APIError:
    """The typed error of an error status (or, ``status`` ``None``, of a 200 with an
    ``error`` object; ``where`` then says so in the message)."""
    text = body_text(raw, headers)
    body: object = text
    if text.strip():
        try:
            body = loads(text)
        except ValueError:
            body = text
    err = error_from_body(
        body, status_code=status, request_id=headers.get("x-request-id"), where=where
    )
    return redact_error(err, redactor)


def check_response(
    status: int, headers: Mapping[str, str], raw: bytes | None, redactor: Redactor
) -> tuple[Any, APIError | None]:
    """Classify a response: ``(data, None)`` or ``(None, error)``; ``raw`` is ``None`` for
    a stream whose body is not read yet."""
    if status >= 400:
        return None, status_error(status, headers, raw or b"", redactor)
    if raw is None:
        return None, None
    try:
        data = loads(raw)
    except ValueError as exc:
        text = redactor.text(body_text(raw, headers))
        if close_delimited(headers) and isinstance(exc, json.JSONDecodeError):
            # HTTP/1.0-style body: a cut connection looks like a short, complete body.
            cut = APIConnectionError(
                f"The response body ended early (the connection closed after {len(raw)} "
                f"bytes, {exc.msg} at position {exc.pos})"
            )
            return None, cut
        return None, APIResponseError(
            f"HTTP {status} with a body that is not JSON: {text.strip()[:200]!r}",
            body=text[:200],
        )
    if is_error_body(data):
        # No status on the error: what is retried is decided by its type, as in a stream.
        where = f"HTTP {status} with an error object"
        return None, status_error(None, headers, raw, redactor, where)
    return data, None


def transport_error(exc: Exception, redactor: Redactor) -> APIError:
    """Map an httpx exception; ``RetryPolicy.retryable`` reads whether it is transient."""
    detail = redactor.text(str(exc)) or type(exc).__name__
    err: APIError
    if isinstance(exc, httpx.TimeoutException):
        err = APITimeoutError(f"Request timed out ({type(exc).__name__}): {detail}")
    else:
        err = APIConnectionError(f"Connection failed ({type(exc).__name__}): {detail}")
        transient = isinstance(exc, httpx.TransportError) and not isinstance(
            exc, httpx.UnsupportedProtocol
        )
        err._transient = transient  # type: ignore[attr-defined]
    return err


def detach(exc: BaseException) -> BaseException:
    """``exc`` (and its causes) without traceback frames, whose locals hold the headers,
    and with any request an httpx error holds replaced by one whose secret headers are
    masked (``err.__cause__.request.headers["authorization"]`` must not be the key).

    The httpx exception stays ``__cause__`` of agentkit's error, for its type and message.
    """
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        node.__traceback__ = None
        if isinstance(node, httpx.HTTPError):
            _mask_request(node)
        node = node.__cause__ or node.__context__
    return exc


def _mask_request(err: httpx.HTTPError) -> None:
    try:
        request = err.request
    except RuntimeError:  # httpx raises this for an error made without a request
        return
    headers = [(k, MASK if is_secret_header(k) else v) for k, v in request.headers.multi_items()]
    err.request = httpx.Request(request.method, request.url, headers=headers)


def mapped(exc: Exception, redactor: Redactor) -> APIError:
    """The agentkit error for an httpx exception, with the exception (frameless) as cause."""
    err = transport_error(exc, redactor)
    err.__cause__ = detach(exc)
    err.__suppress_context__ = True
    return err


def parse_completion(data: Any, redactor: Redactor) -> ChatCompletion:
    """A response body as a ``ChatCompletion``; an unusable one raises, redacted."""
    try:
        return ChatCompletion.from_dict(data)
    except APIError as err:
        raise redact_error(err, redactor) from None
