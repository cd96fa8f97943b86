"""Server-sent events decoding, as pure code: bytes in, ``data`` payloads out.

Lines end at CR, LF or CRLF only: ``str.splitlines`` would also split at U+2028, which may
appear unescaped inside JSON. Every step is linear in the input: events run together on
one line (``data: {...}data: {...}``) are split by scanning forward with indices, never by
re-slicing the rest of the line.
"""

from __future__ import annotations

import json

__all__ = ["DONE", "SSEDecoder"]

DONE = "[DONE]"
"""The payload that ends an OpenAI-style stream."""

_RAW_DECODER = json.JSONDecoder()
_FIELDS = ("event:", "id:", "retry:")
_WS = " \t\n\r"


class SSEDecoder:
    """Incremental decoder of a ``text/event-stream`` body.

    Feed it bytes as they arrive, split anywhere (mid-line, mid-UTF-8 character, between
    CR and LF); it returns the ``data`` payload of each event completed so far. Besides the
    standard format it accepts events run together on one line
    (``data: {...}data: {...}``), as printed in the provider's document.

    ``"[DONE]"`` is returned like any payload; after it the decoder ignores all input, so
    the caller can stop there.
    """

    __slots__ = ("_data", "_done", "_pending", "_skip_lf", "_started", "saw_field")

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # bytes of the current, unterminated line
        self._data: list[str] = []  # data lines of the current event
        self._skip_lf = False  # the last byte seen was CR: a following LF ends nothing
        self._started = False
        self._done = False
        self.saw_field = False  # some line was SSE (a field or a comment): see StreamCore

    @property
    def done(self) -> bool:
        """Whether ``"[DONE]"`` has been seen."""
        return self._done

    def feed(self, data: bytes) -> list[str]:
        """Consume more bytes; return the payloads of the events they complete."""
        if self._done or not data:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
                if not data:
                    return []
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last < 0:
            self._pending.append(data)
            return []
        if self._pending:
            self._pending.append(data[: last + 1])
            block = b"".join(self._pending)
        else:
            block = data[: last + 1]
        rest = data[last + 1 :]
        self._pending = [rest] if rest else []
        if block.endswith(b"\r") and not rest:
            # only a CR that ends the input can pair with an LF at the start of the next feed
            self._skip_lf = True
        # CR and LF never occur inside a multi-byte UTF-8 sequence, so the block decodes whole.
        text = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n").decode("utf-8", "replace")
        lines = text.split("\n")
        lines.pop()  # the empty string after the final terminator
        return self._lines(lines)

    def flush(self) -> list[str]:
        """End of stream: return the payload of a last event lacking its final newline(s)."""
        if self._done:
            return []
        lines = []
        if self._pending:
            lines.append(b"".join(self._pending).decode("utf-8", "replace"))
            self._pending = []
        lines.append("")
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        if not self._started and lines:
            self._started = True
            if lines[0].startswith("\ufeff"):
                lines[0] = lines[0][1:]
        for line in lines:
            if not line:
                if self._data:
                    self._emit("\n".join(self._data), out)
                    self._data = []
            elif line[0] == ":":
                self.saw_field = True
                continue  # comment, e.g. ": keep-alive"
            elif line.startswith("data:"):
                self.saw_field = True
                self._data_line(line, 6 if line[5:6] == " " else 5, out)
            elif not self.saw_field and line.startswith(_FIELDS):
                self.saw_field = True
            # Other fields (event, id, retry) carry nothing a completion stream needs.
            if self._done:
                break
        return out

    def _data_line(self, line: str, start: int, out: list[str]) -> None:
        # Run-together events: a JSON value (or [DONE]) followed directly by "data:".
        # Only split where a complete JSON value ends, so "data:" inside a string is safe.
        if line.find("data:", start) < 0:
            self._data.append(line[start:])
            return
        while True:
            end = _json_end(line, start)
            if end is None:
                break
            nxt = end
            while nxt < len(line) and line[nxt] in " \t":
                nxt += 1
            if not line.startswith("data:", nxt):
                break
            self._data.append(line[start:end])
            self._emit("\n".join(self._data), out)
            self._data = []
            if self._done:
                return
            start = nxt + (6 if line[nxt + 5 : nxt + 6] == " " else 5)
        self._data.append(line[start:])

    def _emit(self, payload: str, out: list[str]) -> None:
        payload = payload.strip()
        if not payload:
            return
        out.append(payload)
        if payload == DONE:
            self._done = True


def _json_end(line: str, start: int) -> int | None:
    """The index just past the JSON value (or ``[DONE]``) that starts at ``line[start:]``."""
    pos = start
    while pos < len(line) and line[pos] in _WS:
        pos += 1
    if line.startswith(DONE, pos):
        return pos + len(DONE)
    try:
        _, end = _RAW_DECODER.raw_decode(line, pos)
    except (ValueError, RecursionError):
        return None
    return int(end)
