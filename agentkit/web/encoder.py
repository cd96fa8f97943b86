"""The encoder interface shared by the three stream formats.

An encoder turns agentkit's stream events into the payloads of one UI protocol. It keeps a
little state (which text block or tool call is open) but does no I/O::

    enc = VercelEncoder()
    frames = [enc.frame(p) for p in enc.start()]
    for event in events:
        frames += [enc.frame(p) for p in enc.event(event)]
    frames.append(enc.done())

:func:`encode_stream` does exactly that for an iterable of events.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from agentkit.web._common import dumps, sse

__all__ = ["StreamEncoder", "encode_stream"]


class StreamEncoder(ABC):
    """Base of the stream encoders: payload methods plus SSE framing.

    Attributes:
        format: The name clients use to ask for this format (``format`` field).
        headers: Response headers the protocol needs besides ``content-type``.
    """

    format: ClassVar[str]
    headers: ClassVar[dict[str, str]] = {}

    def start(self) -> list[dict[str, Any]]:
        """Payloads that open the stream (before the first event)."""
        return []

    @abstractmethod
    def event(self, event: Any) -> list[dict[str, Any]]:
        """The payloads for one agentkit stream event (possibly none)."""

    @abstractmethod
    def error(self, message: str, code: str | None = None) -> list[dict[str, Any]]:
        """Payloads that report a failed run; the stream ends after them."""

    def frame(self, payload: dict[str, Any]) -> str:
        """One payload as a server-sent event."""
        return sse(dumps(payload))

    def done(self) -> str:
        """Text that terminates the stream (empty unless the protocol has a marker)."""
        return ""


def encode_stream(encoder: StreamEncoder, events: Iterable[Any]) -> Iterator[str]:
    """The SSE text of a whole run: the opening frames, every event's frames, the end."""
    for payload in encoder.start():
        yield encoder.frame(payload)
    for event in events:
        for payload in encoder.event(event):
            yield encoder.frame(payload)
    end = encoder.done()
    if end:
        yield end
