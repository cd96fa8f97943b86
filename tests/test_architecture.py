"""The package's shape: imports flow one way, and ``__all__`` is exactly the public API."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agentkit

PACKAGE = Path(agentkit.__file__).parent

# Lower layers never import higher ones. Modules in one layer may not import each other
# either, except inside a package (``emulator``, ``testing``), which is one unit; ``testing``
# sits on ``emulator`` (it re-exports the emulator's names).
LAYERS: dict[str, int] = {
    "errors": 0,
    "_json": 0,
    "_text": 0,
    "_checks": 1,
    "_callables": 0,
    "_tool_options": 1,
    "defaults": 0,
    "_pydantic_errors": 0,
    "jsonanswer": 1,
    "messages": 1,
    "_history": 2,
    "params": 1,
    "usage": 2,
    "approvals": 3,
    "schema": 2,
    "images": 2,
    "_sandbox": 1,
    "templates": 2,
    "sessions": 3,
    "context": 3,
    "prices": 3,
    "profiles": 3,
    "_workers": 0,
    "_aio": 0,
    "_lazy": 0,
    "_record": 0,
    "_turns": 0,
    "_execute": 3,
    "tool": 4,
    "client": 5,
    "result": 5,
    "events": 6,
    "streaming": 6,
    "agent": 8,
    "emulator": 9,
    "mcp": 9,
    "instrumentation": 9,
    "durable": 9,
    "testing": 10,
    "_demo": 10,
    "web": 10,
    "_check_probes": 10,
    "check": 11,
    "cli": 12,
    "__main__": 13,
    "__init__": 14,
}

# Third-party packages only some layers may import.
RESTRICTED = {
    "httpx": {"client", "params", "emulator", "testing", "cli", "check", "_check_probes"},
    "jinja2": {"templates", "_sandbox", "emulator"},
    "uvicorn": {"emulator", "cli"},
    "starlette": {"web"},
    "docstring_parser": {"schema"},
    "mcp": {"mcp"},
    "anyio": {"mcp"},
    "dbos": {"durable"},
    "psycopg": {"sessions"},
    "opentelemetry": {"instrumentation"},
}


def _module_key(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    return rel.parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _package_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    missing = {_module_key(p) for p in _package_modules()} - set(LAYERS)
    assert not missing, f"give these modules a layer in LAYERS: {sorted(missing)}"


def test_imports_flow_downwards() -> None:
    bad: list[str] = []
    for path in _package_modules():
        here = _module_key(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "agentkit" or len(parts) < 2:
                continue
            target = parts[1]
            if target not in LAYERS or target == here:
                continue
            if LAYERS[target] >= LAYERS[here]:
                bad.append(f"{path.relative_to(PACKAGE)} imports agentkit.{target}")
    assert not bad, "upward or sideways imports:\n" + "\n".join(sorted(set(bad)))


def test_restricted_third_party_imports() -> None:
    bad: list[str] = []
    for path in _package_modules():
        here = _module_key(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top in RESTRICTED and here not in RESTRICTED[top]:
                bad.append(f"{path.relative_to(PACKAGE)} imports {top}")
    assert not bad, "\n".join(sorted(set(bad)))


def test_all_lists_exactly_the_public_names() -> None:
    for name in agentkit.__all__:  # loaded on first use: load them all
        getattr(agentkit, name)
    public = {
        name
        for name, value in vars(agentkit).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }
    public |= {n for n, v in vars(type(agentkit)).items() if isinstance(v, property)}
    assert set(agentkit.__all__) == public
    assert list(agentkit.__all__) == sorted(agentkit.__all__)


def test_every_public_name_is_documented() -> None:
    for name in agentkit.__all__:
        obj = getattr(agentkit, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_import_does_not_load_optional_dependencies() -> None:
    code = (
        "import sys, agentkit; "
        "bad = [m for m in ('jinja2', 'docstring_parser', 'uvicorn', 'starlette', "
        "'agentkit.testing', 'agentkit.emulator', 'mcp', 'agentkit.mcp', 'opentelemetry', "
        "'dbos', 'agentkit.durable', 'psycopg') "
        "if m in sys.modules]; print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"import agentkit loaded: {out}"


def _fresh(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_import_agentkit_loads_no_submodule_until_a_name_is_used() -> None:
    out = _fresh(
        "import sys, agentkit; print(sorted(m for m in sys.modules if m.startswith('agentkit.')))"
    )
    assert out == "[]"
    out = _fresh(
        "import sys, agentkit; agentkit.Client; "
        "print('agentkit.agent' in sys.modules, 'agentkit.client' in sys.modules)"
    )
    assert out == "False True"  # the client alone does not load the agent loop


def test_agentkit_tool_stays_the_decorator_once_its_module_is_imported() -> None:
    out = _fresh(
        "import agentkit, agentkit.tool, agentkit.agent; print(callable(agentkit.tool), "
        "agentkit.tool.__module__, type(agentkit.tool).__name__)"
    )
    assert out == "True agentkit.tool function"


def test_submodules_and_unknown_names_on_the_package() -> None:
    out = _fresh("import agentkit; print(agentkit.sessions.__name__)")
    assert out == "agentkit.sessions"
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        agentkit.no_such_name  # noqa: B018
    assert "Agent" in dir(agentkit)


_LOADED = (
    "import sys; "
    "watch = ('asyncio', 'agentkit.client.sync', 'agentkit.client.async_', "
    "'agentkit.messages.chunk', 'agentkit.client.chunks', 'agentkit.client.sse', "
    "'agentkit.agent.streams', 'agentkit.approvals', 'agentkit.agent.text_calls'); "
    "print(' '.join(m for m in watch if m in sys.modules))"
)


def test_an_async_program_loads_neither_the_sync_client_nor_streams_nor_asyncio() -> None:
    # asyncio itself is loaded by the program's own asyncio.run, never by agentkit's import
    assert _fresh(f"from agentkit import Agent, AsyncClient, tool\n{_LOADED}") == (
        "agentkit.client.async_"
    )


def test_a_sync_program_never_loads_asyncio_nor_the_async_client() -> None:
    # A whole sync run, tool call included, on a scripted server (agentkit's emulator has
    # an async side of its own, so it is not used here).
    code = textwrap.dedent(
        '''
        import json, httpx
        from agentkit import Agent, Client, tool

        answers = iter([
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1",
             "type": "function", "function": {"name": "get_weather",
             "arguments": json.dumps({"city": "Paris"})}}]},
            {"role": "assistant", "content": "Sunny in Paris."},
        ])

        def reply(request):
            message = next(answers)
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            return httpx.Response(200, json={"choices": [
                {"index": 0, "message": message, "finish_reason": finish}]})

        @tool
        def get_weather(city: str) -> str:
            """Look up the weather.

            Args:
                city: The city.
            """
            return "sunny"

        client = Client(api_key="k", transport=httpx.MockTransport(reply))
        result = Agent(tools=[get_weather], client=client).run_sync("Weather in Paris?")
        assert result.output == "Sunny in Paris.", result.output
        assert [m["role"] for m in result.messages][-2:] == ["tool", "assistant"]
        '''
    )
    assert _fresh(f"{code}\n{_LOADED}") == "agentkit.client.sync"


def test_streams_and_approvals_load_when_used() -> None:
    code = (
        "import agentkit\n"
        "agentkit.ChatCompletionChunk, agentkit.PausedRun, agentkit.AgentStream\n"
        "agentkit.AsyncChatStream, agentkit.ChatStream\n"
        f"{_LOADED}"
    )
    out = _fresh(code).split()
    for module in ("agentkit.messages.chunk", "agentkit.approvals", "agentkit.agent.streams"):
        assert module in out
