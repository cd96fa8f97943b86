"""agentkit's offline emulator of the provider's HTTP API.

- :class:`Emulator`: the emulator as an ASGI app around a pure core (scenarios, a generic
  stand-in model, fault injection, cassette replay, quirk modes of other servers).
- :class:`EmulatorTransport`: the same in-process, as an httpx transport that is both sync
  and async, for ``Client(transport=...)`` and ``AsyncClient(transport=...)``; it records the
  requests it served in ``.requests``.
- :func:`serve` and :class:`EmulatorServer`: the emulator on a real port (uvicorn, imported
  only then).
- :func:`auto_client` / :func:`auto_async_client`: the real API with a key, else the emulator.
- :class:`Quirks` and :data:`QUIRK_PRESETS`: behave like llama.cpp, vLLM, Ollama, LiteLLM,
  strict OpenAI, or the provider document's examples.

Modules, one job each: ``core`` (the pure request handler), ``asgi`` (its ASGI shell),
``transport``, ``server``, ``model`` and ``policy`` (the stand-in model), ``samples``
(plausible argument values), ``scenarios``, ``faults``, ``replay``, ``validate``, ``checks``
and ``quirks`` (server-family behaviour), ``text_calls``, ``wire`` (the wire format), ``auto``.
``agentkit.testing`` re-exports the names it had before they moved here.

Importing this package costs nothing: names load on first use, and it never imports
uvicorn or jinja2 until they are needed; ``import agentkit`` does not import it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.emulator.auto import (
        EMULATOR_BASE_URL,
        auto_async_client,
        auto_client,
        uses_emulator,
    )
    from agentkit.emulator.core import DEFAULT_MODEL, FAULT_HEADER, Emulator
    from agentkit.emulator.faults import KINDS as FAULT_KINDS
    from agentkit.emulator.faults import Fault, FaultSpecError, parse_faults
    from agentkit.emulator.quirks import PRESETS as QUIRK_PRESETS
    from agentkit.emulator.quirks import Quirks
    from agentkit.emulator.scenarios import Scenario, builtin_scenarios, load_scenarios
    from agentkit.emulator.server import EmulatorServer, serve
    from agentkit.emulator.transport import EmulatorTransport, ReplyTransport
    from agentkit.emulator.wire import Reply

# name -> (module, attribute); loaded on first access so the package import stays free
_WHERE = {
    "DEFAULT_MODEL": ("core", "DEFAULT_MODEL"),
    "EMULATOR_BASE_URL": ("auto", "EMULATOR_BASE_URL"),
    "FAULT_HEADER": ("core", "FAULT_HEADER"),
    "FAULT_KINDS": ("faults", "KINDS"),
    "Emulator": ("core", "Emulator"),
    "EmulatorServer": ("server", "EmulatorServer"),
    "EmulatorTransport": ("transport", "EmulatorTransport"),
    "Fault": ("faults", "Fault"),
    "FaultSpecError": ("faults", "FaultSpecError"),
    "QUIRK_PRESETS": ("quirks", "PRESETS"),
    "Quirks": ("quirks", "Quirks"),
    "Reply": ("wire", "Reply"),
    "ReplyTransport": ("transport", "ReplyTransport"),
    "Scenario": ("scenarios", "Scenario"),
    "auto_async_client": ("auto", "auto_async_client"),
    "auto_client": ("auto", "auto_client"),
    "builtin_scenarios": ("scenarios", "builtin_scenarios"),
    "load_scenarios": ("scenarios", "load_scenarios"),
    "parse_faults": ("faults", "parse_faults"),
    "serve": ("server", "serve"),
    "uses_emulator": ("auto", "uses_emulator"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'agentkit.emulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentkit.emulator.{where[0]}"), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "DEFAULT_MODEL",
    "EMULATOR_BASE_URL",
    "FAULT_HEADER",
    "FAULT_KINDS",
    "QUIRK_PRESETS",
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
    "uses_emulator",
]
