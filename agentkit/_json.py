"""``json.loads`` that fails with ``ValueError`` at any nesting depth.

CPython's decoder recurses once per nesting level and raises ``RecursionError`` on a few
kilobytes of ``[[[[``; every parser of server or model text goes through here so that such
input gives the caller's typed error instead.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads"]


def loads(text: str | bytes) -> Any:
    """Decode JSON; ``ValueError`` (a ``json.JSONDecodeError`` where possible) on bad input."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
