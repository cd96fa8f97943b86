"""Masking of every credential a request carried, in text and in decoded JSON.

A credential is the API key and the value of any header whose name looks like one
(``Authorization``, ``X-Api-Key``, ``Cookie``, any ``*token*``/``*secret*``...), whether it
came from ``api_key``, ``default_headers`` or ``extra_headers``. The ``Bearer`` scheme is
dropped so the bare token is masked too. A server may echo a credential JSON-escaped
(``\\u002d`` for ``-``): the text pattern matches every character in either spelling, and
decoded JSON is walked string by string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "Redactor", "is_secret_header", "secrets_of"]

MASK = "***"
_MIN_SECRET = 4  # shorter values would mask ordinary text without protecting anything
_SECRET_WORDS = ("auth", "key", "token", "secret", "cookie", "password", "signature")


def is_secret_header(name: str) -> bool:
    """Whether a header of this name carries a credential."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def secrets_of(headers: Mapping[str, str]) -> list[str]:
    """The credential values in ``headers`` (with and without an auth scheme)."""
    found: list[str] = []
    for name, value in headers.items():
        if not is_secret_header(name) or not value:
            continue
        found.append(value)
        scheme, _, token = value.partition(" ")
        if token and scheme.isalpha():
            found.append(token.strip())
    return found


def _pattern(secret: str) -> str:
    # Each character literally or as a JSON \\uXXXX escape (either case of hex digits).
    parts = []
    for ch in secret:
        code = ord(ch)
        if code > 0xFFFF:
            parts.append(re.escape(ch))
            continue
        hexes = f"{code:04x}"
        escaped = "".join(f"[{h}{h.upper()}]" if h.isalpha() else h for h in hexes)
        parts.append(f"(?:{re.escape(ch)}|\\\\u{escaped})")
    return "".join(parts)


class Redactor:
    """Masks a fixed set of secrets; cheap to build, the pattern is compiled on first use."""

    __slots__ = ("_regex", "secrets")

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {s for s in secrets if s and len(s) >= _MIN_SECRET}
        # Longest first, so a token inside "Bearer <token>" never leaves the scheme's tail.
        self.secrets: tuple[str, ...] = tuple(sorted(unique, key=len, reverse=True))
        self._regex: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"

    def with_secrets(self, more: Iterable[str]) -> Redactor:
        """A redactor masking these secrets and ``more``."""
        extra = [s for s in more if s not in self.secrets]
        return Redactor((*self.secrets, *extra)) if extra else self

    def text(self, text: str) -> str:
        """``text`` with every secret (plain or JSON-escaped) replaced by ``***``."""
        if not self.secrets or not text:
            return text
        if self._regex is None:
            self._regex = re.compile("|".join(_pattern(s) for s in self.secrets))
        return self._regex.sub(MASK, text)

    def leaks(self, text: str) -> bool:
        """Whether ``text`` holds a secret."""
        return bool(self.secrets) and self.text(text) != text

    def value(self, value: Any) -> Any:
        """A copy of decoded JSON with every string (keys too) masked; iterative, any depth."""
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if not isinstance(value, (dict, list)):
            return value
        root: list[Any] = [None]
        stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
        while stack:
            item, parent, slot = stack.pop()
            if isinstance(item, dict):
                copy: Any = {}
                for k, v in item.items():
                    key = self.text(k) if isinstance(k, str) else k
                    copy[key] = None
                    stack.append((v, copy, key))
            elif isinstance(item, list):
                copy = [None] * len(item)
                stack.extend((v, copy, i) for i, v in enumerate(item))
            elif isinstance(item, str):
                copy = self.text(item)
            else:
                copy = item
            parent[slot] = copy
        return root[0]


NO_SECRETS = Redactor(())
