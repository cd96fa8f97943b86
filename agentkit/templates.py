"""Jinja2 templates for instructions, strict about missing variables.

jinja2 is imported only when a ``Template`` is created, so ``import agentkit`` and runs with
plain-string instructions never load it.

- A missing variable is an error (``StrictUndefined``), never an empty string.
- ``sandboxed=True`` renders with jinja2's ``SandboxedEnvironment``: use it for templates
  that come from users or a database. Attribute tricks such as ``{{ ''.__class__ }}`` then
  fail instead of reaching Python internals.
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
            import jinja2.sandbox

            cls = jinja2.sandbox.SandboxedEnvironment if sandboxed else jinja2.Environment
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

    Raises:
        UserError: The source is not a valid jinja2 template.

    Example:
        >>> Template("Hello {{ name }}!").render({"name": "Ada"})
        'Hello Ada!'
    """

    __slots__ = ("_compiled", "name", "sandboxed", "source")

    def __init__(self, source: str, *, sandboxed: bool = False, name: str | None = None) -> None:
        if not isinstance(source, str):
            raise UserError(f"Template source must be a str, got {type(source).__name__}")
        self.source = source
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
        cls, path: str | os.PathLike[str], *, sandboxed: bool = False, encoding: str = "utf-8"
    ) -> Template:
        """Read a template from a file (read once, now).

        Args:
            path: The template file.
            sandboxed: Render in jinja2's sandbox.
            encoding: The file's text encoding.

        Raises:
            UserError: The file cannot be read or is not a valid template.
        """
        p = Path(path)
        try:
            source = p.read_text(encoding=encoding)
        except OSError as exc:
            raise UserError(f"Cannot read template file {str(p)!r}: {exc.strerror}") from None
        return cls(source, sandboxed=sandboxed, name=str(p))

    def render(self, variables: Mapping[str, Any] | None = None) -> str:
        """Render with ``variables``.

        Raises:
            UserError: A variable the template uses is missing, or (sandboxed) the template
                tried an unsafe operation.
        """
        import jinja2
        from jinja2.exceptions import SecurityError

        try:
            return str(self._compiled.render(dict(variables or {})))
        except jinja2.UndefinedError as exc:
            raise UserError(f"Template {self.name!r} failed to render: {exc.message}") from None
        except SecurityError as exc:
            raise UserError(f"Template {self.name!r} tried an unsafe operation: {exc}") from None

    def __repr__(self) -> str:
        kind = "sandboxed " if self.sandboxed else ""
        return f"<{kind}Template {self.name!r}>"
