"""Testing kit: scripted models, the pytest plugin, and the emulator's names.

- :class:`ScriptedModel`: a transport answering from a list of responses or a function,
  recording every request it received in ``.requests``; :func:`tool_call` builds a scripted
  tool call.
- The pytest plugin (:mod:`agentkit.testing.pytest_plugin`): the ``emulator`` and
  ``emulator_server`` fixtures.
- The offline emulator now lives in :mod:`agentkit.emulator`; its public names
  (:class:`Emulator`, :class:`EmulatorTransport`, :func:`auto_client`, :func:`serve`...)
  are re-exported here so code written as ``from agentkit.testing import ...`` keeps working.

Importing this package does not import uvicorn or jinja2; ``import agentkit`` does not import
this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.emulator import (
        FAULT_HEADER,
        FAULT_KINDS,
        Emulator,
        EmulatorServer,
        EmulatorTransport,
        Fault,
        FaultSpecError,
        Quirks,
        Reply,
        ReplyTransport,
        Scenario,
        auto_async_client,
        auto_client,
        builtin_scenarios,
        load_scenarios,
        parse_faults,
        serve,
    )
    from agentkit.testing.scripted import ScriptedModel, ScriptedResponse, tool_call

_SCRIPTED = frozenset({"ScriptedModel", "ScriptedResponse", "tool_call"})
# The pytest plugin lives in this package and is imported by every pytest run, so importing
# the package itself must cost nothing: names are loaded on first access.
_EMULATOR = frozenset(
    {
        "FAULT_HEADER",
        "FAULT_KINDS",
        "Emulator",
        "EmulatorServer",
        "EmulatorTransport",
        "Fault",
        "FaultSpecError",
        "Quirks",
        "Reply",
        "ReplyTransport",
        "Scenario",
        "auto_async_client",
        "auto_client",
        "builtin_scenarios",
        "load_scenarios",
        "parse_faults",
        "serve",
    }
)


def __getattr__(name: str) -> Any:
    if name in _SCRIPTED:
        module = importlib.import_module("agentkit.testing.scripted")
    elif name in _EMULATOR:
        module = importlib.import_module("agentkit.emulator")
    else:
        raise AttributeError(f"module 'agentkit.testing' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SCRIPTED | _EMULATOR)


__all__ = [
    "FAULT_HEADER",
    "FAULT_KINDS",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "Fault",
    "FaultSpecError",
    "Quirks",
    "Reply",
    "ReplyTransport",
    "Scenario",
    "ScriptedModel",
    "ScriptedResponse",
    "auto_async_client",
    "auto_client",
    "builtin_scenarios",
    "load_scenarios",
    "parse_faults",
    "serve",
    "tool_call",
]
