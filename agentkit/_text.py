"""Text that cannot travel: lone surrogates, which no UTF-8 request or database takes.

Python strings may hold them (``errors="surrogateescape"`` turns undecodable bytes into
them, and JSON's ``"\\ud800"`` decodes to one); ``json.dumps`` writes them, and the failure
comes only when the text is encoded for a request or a row.
"""

from __future__ import annotations

__all__ = ["lone_surrogate"]


def lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, or ``None`` if it is valid."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None
