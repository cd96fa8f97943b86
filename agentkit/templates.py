"""Jinja2 templates for instructions, strict about missing variables.

jinja2 is imported only when a ``Template`` is created, so ``import agentkit`` and runs with
plain-string instructions never load it.

- A missing variable is an error (``StrictUndefined``), never an empty string.
- ``sandboxed=True`` renders with jinja2's ``SandboxedEnvironment``: use it for templates
  that come from users or a database. Attribute tricks such as ``{{ ''.__class__ }}`` then
  fail instead of reaching Python internals, and operations that would allocate without
  bound (``{{ 'a' * 10**9 }}``, ``{{ ''|center(10**9) }}``, ``{{ 9**9**9 }}``) are refused.
- Every render failure is a ``UserError`` (a ``TypeError``, ``ZeroDivisionError``,
  ``RecursionError``... of the template's own making included), and the rendered text
  is at most ``max_chars`` characters.
- Autoescaping is off: instructions are prompt text, not HTML.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentkit.errors import UserError

__all__ = ["Template"]

MAX_CHARS = 1_000_000  # the default limit on a rendered text
_envs: dict[bool, Any] = {}
_envs_lock = threading.Lock()


def _environment(sandboxed: bool) -> Any:
    env = _envs.get(sandboxed)
    if env is not None:
        return env
    with _envs_lock:
        env = _envs.get(sandboxed)
        if env is None:
            import jinja2

            from agentkit._sandbox import BoundedSandbox

            cls = BoundedSandbox if sandboxed else jinja2.Environment
            env = cls(
                undefined=jinja2.StrictUndefined,
                autoescape=False,
                keep_trailing_newline=True,
            )
            _envs[sandboxed] = env
    return env


class Template:
    """A jinja2 template of an agent's instructions, rendered on every run.

    The source is compiled once, when the template is created, so syntax errors surface
    early and rendering a run's instructions costs only the rendering.

    Args:
        source: The template text, e.g. ``"You help {{ user_name }} plan trips."``.
        sandboxed: Render in jinja2's sandbox; use it for templates from untrusted sources.
        name: A name shown in error messages (the file name for ``from_file``).
        max_chars: Most characters a render may produce (``None``: no limit); a longer
            render stops there with a ``UserError``.

    Raises:
        UserError: The source is not a valid jinja2 template.

    Example:
        >>> Template("Hello {{ name }}!").render({"name": "Ada"})
        'Hello Ada!'
    """

    __slots__ = ("_compiled", "max_chars", "name", "sandboxed", "source")

    def __init__(
        self,
        source: str,
        *,
        sandboxed: bool = False,
        name: str | None = None,
        max_chars: int | None = MAX_CHARS,
    ) -> None:
        if not isinstance(source, str):
            raise UserError(f"Template source must be a str, got {type(source).__name__}")
        if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 1):
            raise UserError(f"max_chars must be a positive int or None, got {max_chars!r}")
        self.source = source
        self.max_chars = max_chars
        self.sandboxed = sandboxed
        self.name = name or "<string>"
        import jinja2

        try:
            self._compiled: Any = _environment(sandboxed).from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(
                f"Invalid template {self.name!r} at line {exc.lineno}: {exc.message}"
            ) from None

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        sandboxed: bool = False,
        encoding: str = "utf-8",
        max_chars: int | None = MAX_CHARS,
    ) -> Template:
        """Read a template from a file (read once, now).

        Args:
            path: The template file.
            sandboxed: Render in jinja2's sandbox.
            encoding: The file's text encoding.
            max_chars: Most characters a render may produce.

        Raises:
            UserError: The file cannot be read or is not a valid template.
        """
        p = Path(path)
        try:
            source = p.read_text(encoding=encoding)
        except OSError as exc:
            raise UserError(f"Cannot read template file {str(p)!r}: {exc.strerror}") from None
        return cls(source, sandboxed=sandboxed, name=str(p), max_chars=max_chars)

    def render(self, variables: Mapping[str, Any] | None = None) -> str:
        """Render with ``variables``.

        Raises:
            UserError: A variable the template uses is missing, the template failed in any
                other way (a ``TypeError``, ``ZeroDivisionError``, ``RecursionError``...),
                its text would exceed ``max_chars``, or (sandboxed) it tried an unsafe or
                unbounded operation.
        """
        import jinja2
        from jinja2.exceptions import SecurityError

        try:
            return self._render(dict(variables or {}))
        except jinja2.UndefinedError as exc:
            raise UserError(f"Template {self.name!r} failed to render: {exc.message}") from None
        except SecurityError as exc:
            raise UserError(f"Template {self.name!r} tried an unsafe operation: {exc}") from None
        except UserError:
            raise
        except Exception as exc:  # the template's own fault, whatever it is
            why = _short(f"{type(exc).__name__}: {exc}")
            raise UserError(f"Template {self.name!r} failed to render ({why})") from None

    def _render(self, variables: dict[str, Any]) -> str:
        # Rendered piece by piece, so an over-long text stops at the limit instead of
        # being built whole first.
        limit = self.max_chars
        pieces: list[str] = []
        size = 0
        for piece in self._compiled.generate(variables):
            size += len(piece)
            if limit is not None and size > limit:
                raise UserError(
                    f"Template {self.name!r} renders more than max_chars={limit:,} characters"
                )
            pieces.append(piece)
        return "".join(pieces)

    def __repr__(self) -> str:
        kind = "sandboxed " if self.sandboxed else ""
        return f"<{kind}Template {self.name!r}>"


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
