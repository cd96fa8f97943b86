"""The user's code a command names: ``module:attr`` (a module or a ``.py`` file, loaded once
per process under a private name), tools and agents checked for what they are,
``--var``/``--deps``, and the SQLite file of ``--store``."""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agentkit.cli.output import CLIError, clean

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.sessions import SQLiteStore
    from agentkit.tool import Tool

# Each .py file loaded so far, by resolved path: `--deps app.py:make` and `app.py:agent`
# must see one module, or the agent's deps_type and the factory's class would differ.
_FILES: dict[str, ModuleType] = {}


def load(spec: str, option: str) -> Any:
    """Import ``module:attr`` (``module`` may be a path to a ``.py`` file)."""
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"{option} must look like 'module:attr', got {spec!r}", 2)
    if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
        module = _load_file(spec, module_name, option)
    else:
        module = _import_module(spec, module_name, option)
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise CLIError(
                f"{option} {spec!r}: module {module_name!r} has no attribute {attr!r}", 2
            )
        value = getattr(value, part)
    return value


def _load_file(spec: str, module_name: str, option: str) -> ModuleType:
    import importlib.util

    path = os.path.realpath(module_name)
    if not os.path.isfile(path):
        raise CLIError(f"{option} {spec!r}: no such file {module_name!r}", 2)
    if path in _FILES:
        return _FILES[path]
    # A private name: ./json.py must not replace the standard library's json module.
    stem = os.path.splitext(os.path.basename(path))[0]
    name = f"_agentkit_user_{len(sys.modules)}_{stem}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise CLIError(f"{option} {spec!r}: {module_name!r} is not a Python file", 2)
    module = importlib.util.module_from_spec(loader_spec)
    # Registered first and with its folder on the path, as `python file.py` would have it.
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(path))
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:
        raise CLIError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    _FILES[path] = module
    return module


def _import_module(spec: str, module_name: str, option: str) -> ModuleType:
    import importlib

    # A console script does not put the working directory on the path; `python -m` does.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise CLIError(
                f"{option} {spec!r}: no module named {module_name!r} "
                "(is it importable from this directory?)",
                2,
            ) from None
        raise CLIError(f"importing {module_name!r} failed: {exc}") from None
    except Exception as exc:
        raise CLIError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None


def kind(value: Any) -> str:
    """``"a module"``, ``"an Agent"``, ``"a dict"``: what ``value`` is, with its article."""
    name = "module" if isinstance(value, type(sys)) else type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def as_tools(value: Any, spec: str, option: str) -> list[Tool[Any, Any]]:
    """A tool, a plain function (made a tool here) or a list/tuple of them."""
    import inspect

    from agentkit.errors import UserError
    from agentkit.tool import Tool, tool

    items = list(value) if isinstance(value, (list, tuple)) else [value]
    tools: list[Tool[Any, Any]] = []
    for item in items:
        if isinstance(item, Tool):
            tools.append(item)
        elif callable(item) and not inspect.isclass(item):
            try:
                tools.append(tool(item))
            except UserError as exc:
                raise CLIError(f"{option} {spec!r}: {exc}", 2) from None
        else:
            raise CLIError(
                f"{option} {spec!r} is {kind(item)}, not a tool "
                "(expected an @tool function, a typed function or a list of them)",
                2,
            )
    return tools


def load_agent(spec: str) -> Agent[Any]:
    """The :class:`~agentkit.Agent` that ``spec`` (``module:attr``) names."""
    from agentkit.agent import Agent

    value = load(spec, "agent")
    if not isinstance(value, Agent):
        raise CLIError(f"agent {spec!r} is {kind(value)}, not an agentkit Agent", 2)
    return value


def run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``variables=`` and ``deps=`` for the agent's runs, from ``--var`` and ``--deps``."""
    kwargs: dict[str, Any] = {}
    if args.variables:
        kwargs["variables"] = dict(args.variables)
    if args.deps is not None:
        factory = load(args.deps, "--deps")
        if not callable(factory):
            raise CLIError(f"--deps {args.deps!r} is {kind(factory)}, not a function", 2)
        try:
            kwargs["deps"] = factory()
        except Exception as exc:
            raise CLIError(
                f"--deps {args.deps!r} failed: {type(exc).__name__}: {clean(str(exc))}"
            ) from None
    return kwargs


def open_store(path: str) -> SQLiteStore:
    """The SQLite file of ``--store PATH``, created if missing.

    Raises:
        CLIError: The file cannot be created or opened (2, as for other bad paths).
    """
    import sqlite3

    from agentkit.errors import AgentkitError
    from agentkit.sessions import SQLiteStore

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):  # said plainly: the store's lock file would be named
        raise CLIError(f"--store {path!r}: no such directory {folder!r}", 2)
    try:
        return SQLiteStore(path)
    except (OSError, sqlite3.Error, AgentkitError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CLIError(f"--store {path!r}: cannot open it: {clean(reason)}", 2) from None
