"""The one formatter of pydantic validation errors, compact and safe to show a model."""

from __future__ import annotations

from typing import Any

__all__ = ["compact_errors", "error_lines"]


def error_lines(exc: Any, limit: int = 8, skip: int = 0) -> list[str]:
    """One ``"loc: msg"`` line per error of a pydantic ``ValidationError``, at most ``limit``.

    The input is never echoed: with one line per error that would repeat the whole answer
    once per error. ``skip``: how many leading location parts to leave out (those of a
    wrapper the model never saw).
    """
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    lines = []
    for err in errors[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())[skip:]) or "(root)"
        lines.append(f"{loc}: {err.get('msg', 'invalid')}")
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more")
    return lines


def compact_errors(exc: Any, limit: int = 8, skip: int = 0) -> str:
    """The errors as a bulleted block (``"- loc: msg"`` lines), as models are shown them."""
    return "\n".join(f"- {line}" for line in error_lines(exc, limit, skip))
