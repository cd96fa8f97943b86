"""Offline testing kit: the provider emulator, scripted models and the pytest plugin.

- :class:`Emulator`: an ASGI app emulating the provider's HTTP API (scenarios, a generic
  stand-in model, fault injection, cassette replay); :func:`serve` and
  :class:`EmulatorServer` run it on a real port (uvicorn, imported only then).
- :class:`EmulatorTransport`: the same emulator in-process, as an httpx transport that is
  both sync and async, for ``Client(transport=...)`` and ``AsyncClient(transport=...)``.
- :class:`ScriptedModel`: a transport answering from a list of responses or a function,
  recording every request it received in ``.requests``.

Importing this package does not import uvicorn or jinja2; ``import agentkit`` does not import
this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.testing._auto import auto_async_client, auto_client
    from agentkit.testing._faults import KINDS as FAULT_KINDS
    from agentkit.testing._faults import Fault, FaultSpecError, parse_faults
    from agentkit.testing._scenarios import Scenario, builtin_scenarios, load_scenarios
    from agentkit.testing._wire import Reply
    from agentkit.testing.emulator import FAULT_HEADER, Emulator
    from agentkit.testing.scripted import ScriptedModel, ScriptedResponse, tool_call
    from agentkit.testing.server import EmulatorServer, serve
    from agentkit.testing.transport import EmulatorTransport, ReplyTransport

# Public names are loaded on first access: the pytest plugin lives in this package and is
# imported by every pytest run, so importing the package itself must cost nothing.
_WHERE = {
    "FAULT_HEADER": ("emulator", "FAULT_HEADER"),
    "FAULT_KINDS": ("_faults", "KINDS"),
    "Emulator": ("emulator", "Emulator"),
    "EmulatorServer": ("server", "EmulatorServer"),
    "EmulatorTransport": ("transport", "EmulatorTransport"),
    "Fault": ("_faults", "Fault"),
    "FaultSpecError": ("_faults", "FaultSpecError"),
    "Reply": ("_wire", "Reply"),
    "ReplyTransport": ("transport", "ReplyTransport"),
    "Scenario": ("_scenarios", "Scenario"),
    "ScriptedModel": ("scripted", "ScriptedModel"),
    "ScriptedResponse": ("scripted", "ScriptedResponse"),
    "auto_async_client": ("_auto", "auto_async_client"),
    "auto_client": ("_auto", "auto_client"),
    "builtin_scenarios": ("_scenarios", "builtin_scenarios"),
    "load_scenarios": ("_scenarios", "load_scenarios"),
    "parse_faults": ("_faults", "parse_faults"),
    "serve": ("server", "serve"),
    "tool_call": ("scripted", "tool_call"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'agentkit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentkit.testing.{where[0]}"), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "FAULT_HEADER",
    "FAULT_KINDS",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "Fault",
    "FaultSpecError",
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
