"""Checks and lookups of ``MCPServer``'s options: per-tool values by pattern, and URLs
shown without their credentials."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from agentkit._callables import is_async
from agentkit._checks import check_seconds
from agentkit.errors import UserError

__all__ = ["check_patterns", "check_per_tool", "per_tool", "strip_credentials"]


def check_patterns(label: str, patterns: Any) -> None:
    """Refuse ``patterns`` (of the option ``label``) unless each is an fnmatch ``str``."""
    bad = [p for p in patterns if not isinstance(p, str)]
    if bad:
        raise UserError(f"{label} takes fnmatch patterns (str), got {bad[0]!r}")


def check_per_tool(timeout: Any, needs_approval: Any) -> None:
    """Check ``timeout`` and ``needs_approval`` (each one value, or a mapping of patterns)
    now, not at the first listing, where a bad one would fail every run."""
    timeouts = timeout if isinstance(timeout, Mapping) else {None: timeout}
    check_patterns("timeout", [p for p in timeouts if p is not None])
    for pattern, seconds in timeouts.items():
        check_seconds("timeout" if pattern is None else f"timeout[{pattern!r}]", seconds, none=True)
    approvals = needs_approval if isinstance(needs_approval, Mapping) else {None: needs_approval}
    check_patterns("needs_approval", [p for p in approvals if p is not None])
    for pattern, value in approvals.items():
        where = "needs_approval" if pattern is None else f"needs_approval[{pattern!r}]"
        if not isinstance(value, bool) and not callable(value):
            raise UserError(f"{where} must be True, False or a callable, got {value!r}")
        if callable(value) and is_async(value):  # Tool refuses it: at every listing
            raise UserError(f"{where} must be a plain (not async) callable, got {value!r}")


def per_tool(value: Any, name: str, default: Any) -> Any:
    """``value`` itself, or when it maps patterns to values, the first whose pattern
    matches the tool ``name`` (``default`` when none does)."""
    if not isinstance(value, Mapping):
        return value
    for pattern, v in value.items():
        if fnmatch.fnmatchcase(name, pattern):
            return v
    return default


def strip_credentials(url: str) -> str:
    """``url`` without its ``user:pass@`` and its query, to be shown in names and errors."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}".split("?")[0]
