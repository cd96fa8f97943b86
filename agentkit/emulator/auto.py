"""A client for the real API when a key is set, else for the in-process emulator.

Examples, the command line and quick experiments call :func:`auto_client` so the same code
runs against the provider with ``AGENTKIT_API_KEY`` set and fully offline without it. The
offline choice is announced on stderr, because answers from the emulator are not a model's.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from agentkit.client import AsyncClient, Client
from agentkit.emulator.scenarios import builtin_scenarios as _packaged
from agentkit.emulator.scenarios import load_scenarios
from agentkit.emulator.transport import EmulatorTransport
from agentkit.errors import UserError

__all__ = [
    "EMULATOR_BASE_URL",
    "OFFLINE_NOTICE",
    "auto_async_client",
    "auto_client",
    "uses_emulator",
]

EMULATOR_BASE_URL = "http://emulator.agentkit.invalid/v1"
"""The base URL of clients on the in-process emulator (``.invalid`` never resolves)."""

_EMULATOR_KEY = "offline-emulator"
OFFLINE_NOTICE = "agentkit: no AGENTKIT_API_KEY set; using the offline emulator, not a real model"
"""The line announcing that a client runs on the emulator."""


def uses_emulator(use_emulator: bool | None = None, api_key: str | None = None) -> bool:
    """Whether :func:`auto_client` would pick the emulator for these arguments.

    Args:
        use_emulator: ``True`` or ``False`` forces the choice; ``None`` picks the emulator
            exactly when no key is given and ``AGENTKIT_API_KEY`` is unset or empty.
        api_key: A key given explicitly (it counts as set).

    Raises:
        UserError: ``use_emulator=False`` but there is no key.
    """
    has_key = bool(api_key or os.environ.get("AGENTKIT_API_KEY"))
    if use_emulator is None:
        return not has_key
    if not use_emulator and not has_key:
        raise UserError(
            "the real API was requested but no key is set: "
            "export AGENTKIT_API_KEY=... (or drop the option that disables the emulator)"
        )
    return use_emulator


def _options(
    use_emulator: bool | None,
    api_key: str | None,
    base_url: str | None,
    model: str | None,
    scenarios: Any,
    builtin: bool,
    quiet: bool,
    stream: TextIO | None,
    emulator_options: dict[str, Any],
) -> dict[str, Any]:
    """The client keyword arguments; shared by the sync and async builders."""
    if not uses_emulator(use_emulator, api_key):
        return {"api_key": api_key, "base_url": base_url, "model": model}
    found = load_scenarios(scenarios)
    if builtin:
        found += _packaged()
    transport = EmulatorTransport(scenarios=found, **emulator_options)
    if not quiet:
        print(OFFLINE_NOTICE, file=stream if stream is not None else sys.stderr, flush=True)
    return {
        "api_key": _EMULATOR_KEY,
        "base_url": EMULATOR_BASE_URL,
        "model": model,
        "transport": transport,
    }


def auto_client(
    *,
    use_emulator: bool | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    scenarios: Any = None,
    builtin_scenarios: bool = True,
    quiet: bool = False,
    stream: TextIO | None = None,
    **emulator_options: Any,
) -> Client:
    """A ``Client`` for the real API if a key is set, else one on the in-process emulator.

    Args:
        use_emulator: ``None`` (default) decides by the key; ``True`` always uses the
            emulator; ``False`` always uses the real API (``UserError`` without a key).
        api_key: The key for the real API (default: ``AGENTKIT_API_KEY``).
        base_url: The real API's root (default: ``AGENTKIT_BASE_URL``, then the
            provider's). Ignored on the emulator, which is reached in-process.
        model: The default model (default: ``AGENTKIT_MODEL``, then ``"gpt-5.4-mini"``).
        scenarios: Scenario files, directories or dicts for the emulator, tried before the
            built-in ones.
        builtin_scenarios: Also load the scenarios packaged with agentkit.
        quiet: Do not announce the emulator.
        stream: Where the announcement goes (default: ``sys.stderr``).
        **emulator_options: More ``Emulator`` keyword arguments (``faults=``, ``seed=``...).

    Returns:
        The client. On the emulator it announces so with one line on ``stream``.

    Raises:
        UserError: ``use_emulator=False`` without a key, or malformed scenarios.

    Example:
        >>> from agentkit.emulator import auto_client
        >>> client = auto_client(quiet=True)  # offline unless AGENTKIT_API_KEY is set
    """
    return Client(
        **_options(
            use_emulator,
            api_key,
            base_url,
            model,
            scenarios,
            builtin_scenarios,
            quiet,
            stream,
            emulator_options,
        )
    )


def auto_async_client(
    *,
    use_emulator: bool | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    scenarios: Any = None,
    builtin_scenarios: bool = True,
    quiet: bool = False,
    stream: TextIO | None = None,
    **emulator_options: Any,
) -> AsyncClient:
    """The ``AsyncClient`` twin of :func:`auto_client` (same arguments, same choice)."""
    return AsyncClient(
        **_options(
            use_emulator,
            api_key,
            base_url,
            model,
            scenarios,
            builtin_scenarios,
            quiet,
            stream,
            emulator_options,
        )
    )
