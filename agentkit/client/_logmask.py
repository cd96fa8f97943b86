"""Masking credentials in the log records of httpx and httpcore.

httpcore logs each step of an exchange at DEBUG with its arguments, return value or
exception formatted into the message: the response headers
(``receive_response_headers.complete return_value=(..., [(b'x-echo', b'Bearer sk-...')])``),
a malformed chunk quoted by h11 (``.failed exception=...``). httpx logs the reason phrase at
INFO. A server that echoes a credential back puts it there, and neither library has a hook
to change what it logs. (A record's traceback is masked too: an exception's message may
quote the URL.) So a filter on their loggers masks each record with the redactor
of the request this thread or task is exchanging, which the send loops and streams name
with ``MaskedLogs`` around every send and read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextvars import ContextVar, Token

from agentkit.client._redact import Redactor

__all__ = ["LOGGERS", "MaskedLogs", "install", "mask_loggers"]

LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""Every logger httpx and httpcore log an exchange on (a filter sees only its own records)."""

_current: ContextVar[Redactor | None] = ContextVar("agentkit_log_redactor", default=None)


class _MaskFilter(logging.Filter):
    """Masks the credentials of the request in progress in every record; drops none."""

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _current.get()
        if redactor is None or not redactor.secrets:
            return True
        message = record.getMessage()
        masked = redactor.text(message)
        if masked != message:
            # Formatted once here: a handler must not format the original arguments again.
            record.msg, record.args = masked, None
        if record.exc_text or (record.exc_info and record.exc_info[1] is not None):
            _mask_traceback(record, redactor)
        return True


_TRACEBACKS = logging.Formatter()


def _mask_traceback(record: logging.LogRecord, redactor: Redactor) -> None:
    # An exception's message can quote a credential (httpx2's HTTPStatusError names the
    # URL, user info and query included), and a handler prints the traceback it formats
    # from exc_info. Formatted and masked here instead; exc_info goes, so no handler
    # formats the original exception again.
    text = record.exc_text or _TRACEBACKS.formatException(record.exc_info)  # type: ignore[arg-type]
    masked = redactor.text(text)
    if masked != text:
        record.exc_text, record.exc_info = masked, None


_FILTER = _MaskFilter()
_installed = False


def install() -> None:
    """Put the masking filter on every logger of ``LOGGERS`` (once; idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    mask_loggers(LOGGERS)


def mask_loggers(names: Iterable[str]) -> None:
    """Put the masking filter on each of these loggers too (idempotent).

    For libraries that log an exchange on loggers of their own (the MCP SDK, and the
    ``httpx2``/``httpcore2`` it uses): their records are masked with the redactor that
    ``MaskedLogs`` names in the context they are logged from.
    """
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class MaskedLogs:
    """Within the block, httpx's and httpcore's records in this context are masked.

    A class, not a generator: it is entered around every send and every streamed chunk.
    Setting the context variable costs less than asking six loggers whether they are on.
    """

    __slots__ = ("_redactor", "_token")
    _token: Token[Redactor | None]

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def __enter__(self) -> None:
        self._token = _current.set(self._redactor)

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)
