"""The names a model sees for an MCP server's tools: which listed tools are usable, and
each one's public name (sanitized, prefixed, cut, clashes resolved)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter

import mcp.types as mt

from agentkit.errors import UserError

__all__ = ["public_names", "usable"]

logger = logging.getLogger("agentkit.mcp")
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def usable(listed: list[mt.Tool], source: str) -> list[mt.Tool]:
    """The tools a model can call: a tool with no name is left out, and of a name listed
    twice (a buggy server, a page served again) the first is kept. One such tool must not
    cost the others; each is logged as a warning."""
    kept: dict[str, mt.Tool] = {}
    for t in listed:
        if not t.name:
            logger.warning("MCP server %r lists a tool with no name; it is left out", source)
        elif t.name in kept:
            logger.warning(
                "MCP server %r lists the tool %r more than once; the first is kept", source, t.name
            )
        else:
            kept[t.name] = t
    return list(kept.values())


def public_names(remote: list[str], prefix: str | None, source: str) -> dict[str, str]:
    """Each server-side tool name -> the name the model sees (sanitized, prefixed, cut).

    Sanitizing and cutting can give two tools one name (``get.weather``, ``get_weather``).
    The one already named so keeps the name; the others get ``_`` and 6 hex digits of a
    hash of their own server-side name, so each name depends on that tool alone (not on
    the listing order) and stays the same across listings and restarts.

    Raises:
        UserError: Two tools still share a name; the message names both and the source.
    """
    public: dict[str, str] = {}
    for name in remote:
        plain = f"{prefix}_{name}" if prefix else name
        public[name] = _BAD_NAME_CHARS.sub("_", plain)[:64]
    counts = Counter(public.values())
    for name, plain in public.items():
        if counts[plain] > 1 and plain != (f"{prefix}_{name}" if prefix else name):
            digest = hashlib.sha256(name.encode()).hexdigest()[:6]
            public[name] = f"{plain[:57]}_{digest}"
            logger.warning(
                "MCP tool %r of %r is named %r: %r would clash with another of its tools",
                name, source, public[name], plain,
            )  # fmt: skip
    owner: dict[str, str] = {}
    for name, shown in public.items():
        if shown in owner:
            raise UserError(
                f"MCP server {source!r} has two tools that would both be named {shown!r}: "
                f"{owner[shown]!r} and {name!r}; leave one out with deny=[{name!r}]"
            )
        owner[shown] = name
    return public
