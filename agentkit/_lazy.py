"""Package names loaded on first use (PEP 562), so a program pays only for what it touches.

A package lists which module each of its public names lives in; ``exports`` gives it the
module ``__getattr__`` that imports that module the first time the name is read, then
binds the name so that later reads are plain attribute lookups.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["exports"]


def exports(package: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: ``sources`` maps each lazy name to its module."""

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(source), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
