"""What the command line prints: model text without terminal control characters, a streamed
run as lines, and every failure as one line (errors and agentkit's log records)."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TextIO

from agentkit.cli import PROG

if TYPE_CHECKING:
    import argparse

    from agentkit.events import StreamEvent
    from agentkit.result import RunResult

_SHOWN_RESULT_CHARS = 500

# C0 controls but tab and newline, DEL, and C1 controls (CSI included): without ESC or CSI an
# escape sequence is inert text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class CLIError(Exception):
    """An error reported as one line on stderr with an exit code (no traceback)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def clean(text: str) -> str:
    """``text`` without terminal control characters (tab and newline are kept)."""
    return _CONTROL.sub("", text)


def shorten(text: str) -> str:
    """``text`` on one line without control characters, cut after 500 characters."""
    text = clean(text).replace("\n", " ")
    if len(text) <= _SHOWN_RESULT_CHARS:
        return text
    return f"{text[:_SHOWN_RESULT_CHARS]}... ({len(text)} characters)"


def render_events(events: Iterable[StreamEvent], out: TextIO) -> RunResult[Any] | None:
    """Print a streamed run: text as it arrives, one line per tool call and per result.

    Returns:
        The run's result (from its last event), or ``None`` if the stream ended early.
    """
    from agentkit.events import RunFinished, TextDelta, ToolCallResult, ToolCallStarted

    line_open = False
    for event in events:
        if isinstance(event, TextDelta):
            text = clean(event.text)
            out.write(text)
            out.flush()
            line_open = not text.endswith("\n") if text else line_open
            continue
        if isinstance(event, (ToolCallStarted, ToolCallResult, RunFinished)) and line_open:
            out.write("\n")
            line_open = False
        if isinstance(event, ToolCallStarted):
            out.write(f"[tool call] {clean(event.name)}({clean(event.arguments)})\n")
        elif isinstance(event, ToolCallResult):
            label = "tool error" if event.is_error else "tool result"
            out.write(f"[{label}] {clean(event.name)}: {shorten(event.content)}\n")
        elif isinstance(event, RunFinished):
            out.flush()
            return event.result
        out.flush()
    return None


def describe(exc: BaseException, args: argparse.Namespace) -> str:
    """One line saying what failed and what to check."""
    from agentkit.errors import (
        AgentRunError,
        APIConnectionError,
        APIStatusError,
        AuthenticationError,
    )

    where = getattr(args, "resolved_base_url", None) or args.base_url or "the API"
    if isinstance(exc, AuthenticationError):
        return f"the API at {where} rejected the key ({exc}); check AGENTKIT_API_KEY"
    if isinstance(exc, APIConnectionError):
        return (
            f"cannot reach the API at {where}: {exc}; check --base-url / AGENTKIT_BASE_URL "
            "and that the server is running"
        )
    if isinstance(exc, APIStatusError):
        status = f"HTTP {exc.status_code}" if exc.status_code is not None else "an error"
        detail = str(exc)
        if detail.startswith(status):  # the error's own text already names the status
            detail = detail[len(status) :].strip(" :")
            detail = detail[1:-1] if detail.startswith("(") and detail.endswith(")") else detail
        return f"the API at {where} answered {status}" + (f": {detail}" if detail else "")
    if isinstance(exc, AgentRunError):
        return f"the run stopped: {type(exc).__name__}: {exc}"
    return str(exc)


def tolerant_streams() -> None:
    """Make stdout and stderr replace what their encoding cannot show instead of failing."""
    # A terminal that cannot show Chinese must not turn an answer into a traceback.
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
        reconfigure = getattr(stream, "reconfigure", None)
        if encoding != "utf8" and callable(reconfigure):
            reconfigure(errors="backslashreplace")


class _OneLine(logging.Formatter):
    """``agentkit: warning: message (ValueError: why)``: one line, no traceback unless
    debugging."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        text = f"{PROG}: {record.levelname.lower()}: {clean(record.getMessage())}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if self.debug:
                return f"{text}\n{self.formatException(record.exc_info)}"
            text += f" ({type(exc).__name__}: {clean(str(exc))})"
        return text


@contextlib.contextmanager
def log_to_stderr(*, debug: bool) -> Iterator[None]:
    """agentkit's log records on stderr, one line each, while a command runs (the library only
    logs; the command line shows). The logger is put back as it was afterwards."""
    logger = logging.getLogger("agentkit")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(debug))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
