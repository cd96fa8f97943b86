"""The ``agentkit`` command line: chat, run an agent, list models, print a tool's schema,
serve the emulator, and a demo.

With ``AGENTKIT_API_KEY`` set, commands talk to the real API; without it they say so on
stderr and run on the in-process emulator. Exit codes: 0 success, 1 a runtime error (the
API failed, the run stopped, ``agentkit emulator``'s port is in use), 2 a usage error (bad
arguments, a wrong ``module:attr``, no key with ``--no-emulator``), 130 interrupted.

Text the model chose (answers, tool names and arguments, tool results) is printed with
terminal control characters removed, so an answer cannot move the cursor, retitle the window
or hide text.

Start-up stays light: everything beyond argparse is imported inside the command that needs
it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.client import Client
    from agentkit.events import StreamEvent
    from agentkit.result import RunResult
    from agentkit.tool import Tool

__all__ = ["main"]

_PROG = "agentkit"
DISTRIBUTION = "agentkit-lean"
"""The name agentkit is published under on the package index (the import name is agentkit)."""
_SHOWN_RESULT_CHARS = 500


def _version() -> str:
    """The installed distribution's version; the package's own when run from a checkout."""
    import importlib.metadata

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from agentkit import __version__

        return __version__


class CLIError(Exception):
    """An error reported as one line on stderr with an exit code (no traceback)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- arguments


def _connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before and after the command (``agentkit --model m chat`` and
    ``agentkit chat --model m``); after it they default to SUPPRESS so they never overwrite
    what was given before it."""
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--model", default=default, help="model name (default: AGENTKIT_MODEL or gpt-5.4-mini)"
    )
    group.add_argument(
        "--base-url",
        default=default,
        help="API root of the real API (default: AGENTKIT_BASE_URL or the provider's)",
    )
    group.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=default,
        metavar="SECONDS",
        help="seconds each request attempt to the API may take (default: 60)",
    )
    modes = group.add_mutually_exclusive_group()
    modes.add_argument(
        "--no-emulator",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="always use the real API; fail if AGENTKIT_API_KEY is not set",
    )
    modes.add_argument(
        "--offline",
        dest="force_emulator",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="always use the offline emulator, even with AGENTKIT_API_KEY set",
    )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be a TCP port 0-65535 (0: any free one), got {text!r}"
        )
    return int(text)


def _variable(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"must look like KEY=VALUE, got {text!r}")
    return key, value


def _run_options(parser: argparse.ArgumentParser) -> None:
    """What a run of an agent may need: template variables and deps."""
    parser.add_argument(
        "--var",
        dest="variables",
        action="append",
        type=_variable,
        default=[],
        metavar="KEY=VALUE",
        help="a variable for the agent's instructions template (repeatable; values are text)",
    )
    parser.add_argument(
        "--deps",
        metavar="MODULE:FACTORY",
        help="a function called with no arguments whose return value is the run's deps",
    )


def _scenario_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenarios",
        action="append",
        default=[],
        metavar="PATH",
        help="emulator scenario file or directory (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``agentkit`` command."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "agentkit: tool-using bots on OpenAI-compatible Chat Completions APIs. "
            "Without AGENTKIT_API_KEY, commands run on the offline emulator."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"{_PROG} ({DISTRIBUTION}) {_version()}"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log each step at DEBUG level on stderr, with tracebacks of failing tools",
    )
    _connection_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers: dict[str, argparse.ArgumentParser] = {}
    parser.set_defaults(subparsers=subparsers)

    def command(
        name: str, help: str, handler: Callable[[argparse.Namespace], int], *, client: bool = True
    ) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        subparsers[name] = sub
        if client:
            _connection_options(sub, top=False)
        sub.set_defaults(handler=handler)
        return sub

    chat = command("chat", "interactive chat that streams answers and shows tool calls", _chat)
    chat.add_argument(
        "--tools",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a tool, function or list of them to offer the model (repeatable); "
        "MODULE may be a dotted module or a path/to/file.py",
    )
    chat.add_argument("--instructions", help="the system message")
    chat.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="COMMAND",
        help='an MCP server to start over stdio, e.g. "python -m my_server" (repeatable; '
        "needs agentkit-lean[mcp])",
    )
    chat.add_argument(
        "--mcp-url",
        action="append",
        default=[],
        metavar="URL",
        help="an MCP server reached over streamable HTTP (repeatable; needs agentkit-lean[mcp])",
    )
    chat.add_argument(
        "--agent",
        metavar="MODULE:AGENT",
        help="chat with this Agent instead (not combinable with --tools/--instructions)",
    )
    chat.add_argument(
        "--session",
        metavar="NAME",
        help="keep the conversation in the session NAME of --store, across invocations",
    )
    chat.add_argument(
        "--store",
        metavar="PATH",
        default=None,
        help=f"the SQLite file that keeps --session (default: ./{DEFAULT_CHAT_STORE})",
    )
    _run_options(chat)
    _scenario_option(chat)

    run = command("run", "run an agent on one prompt, streaming its answer", _run)
    run.add_argument("agent", metavar="MODULE:AGENT", help="the Agent to run, e.g. app.bots:agent")
    run.add_argument("prompt", nargs="?", help="the user's message (default: read stdin)")
    run.add_argument(
        "--json", action="store_true", help="print the whole RunResult as JSON, not a stream"
    )
    _run_options(run)
    _scenario_option(run)

    command("models", "list the models the API offers", _models)

    schema = command(
        "schema", "print a tool's JSON definition (Tool.to_openai())", _schema, client=False
    )
    schema.add_argument("tool", metavar="MODULE:FUNCTION", help="a tool or a typed function")

    emulator = command(
        "emulator", "serve the offline emulator over HTTP (needs uvicorn)", _serve, client=False
    )
    emulator.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    emulator.add_argument(
        "--port", type=_port, default=8000, help="TCP port (default: 8000; 0: any free port)"
    )
    _scenario_option(emulator)
    emulator.add_argument("--replay", metavar="CASSETTE", help="answer from a JSONL cassette")
    emulator.add_argument(
        "--replay-fallback",
        action="store_true",
        help="with --replay: emulate requests the cassette lacks instead of answering 400",
    )
    emulator.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accept only these keys (repeatable; default: any non-empty key)",
    )
    emulator.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="inject faults (repeatable)"
    )
    emulator.add_argument(
        "--quirks",
        metavar="NAME",
        help="behave like another server family: agentkit (default), provider-examples, "
        "openai, llama.cpp, vllm, ollama, litellm, text-tool-calls, ignores-tool-choice, "
        "always-usage",
    )
    emulator.add_argument("--log-level", default="warning", help="uvicorn's log level")

    web = command(
        "serve", "serve an agent: HTTP API and chat page (needs agentkit-lean[web])", _web
    )
    web.add_argument(
        "agent", metavar="MODULE:AGENT", help="the Agent to serve, e.g. app.bots:agent"
    )
    web.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    web.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    web.add_argument("--store", metavar="PATH", help="keep conversations in this SQLite file")
    web.add_argument(
        "--auth-token",
        default=os.environ.get("AGENTKIT_SERVE_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: AGENTKIT_SERVE_TOKEN)",
    )
    web.add_argument("--log-level", default="warning", help="uvicorn's log level")
    _scenario_option(web)

    check = command(
        "check",
        "probe an OpenAI-compatible server the way agentkit uses it; print the profile to use",
        _check,
        client=False,
    )
    check.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help="the server's API root, e.g. http://127.0.0.1:8080/v1",
    )
    check.add_argument(
        "--model", default=argparse.SUPPRESS, help="the model to probe (default: the first listed)"
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")

    demo = command("demo", "the weather agent: a tool call, its result, a streamed answer", _demo)
    demo.add_argument("prompt", nargs="?", help="the question (default: 查询北京天气)")
    return parser


# --------------------------------------------------------------------------- helpers


def _client(args: argparse.Namespace, extra_scenarios: Iterable[Any] = ()) -> Client:
    """The client for this invocation: the real API with a key, else the emulator."""
    from agentkit.emulator import auto_client
    from agentkit.errors import UserError

    has_key = bool(os.environ.get("AGENTKIT_API_KEY"))
    if args.no_emulator and not has_key:
        raise CLIError("--no-emulator was given but AGENTKIT_API_KEY is not set", 2)
    if args.base_url and not has_key and not args.force_emulator:
        raise CLIError(
            "--base-url needs AGENTKIT_API_KEY (any value works for a local "
            "`agentkit emulator`); without a key agentkit runs on the in-process emulator",
            2,
        )
    use: bool | None = False if args.no_emulator else (True if args.force_emulator else None)
    scenarios = [*getattr(args, "scenarios", []), *extra_scenarios]
    try:
        client = auto_client(
            use_emulator=use, base_url=args.base_url, model=args.model, scenarios=scenarios
        )
    except UserError as exc:
        raise CLIError(str(exc), 2) from None
    if args.timeout is not None and has_key and not args.force_emulator:
        from agentkit.client import Client

        # auto_client has no timeout option: the same real-API client, with the timeout.
        client.close()
        client = Client(base_url=args.base_url, model=args.model, timeout=args.timeout)
    args.resolved_base_url = client.base_url
    args.client = client  # closed by main() whatever happens
    return client


def _load(spec: str, option: str) -> Any:
    """Import ``module:attr`` (``module`` may be a path to a ``.py`` file)."""
    import importlib
    import importlib.util

    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"{option} must look like 'module:attr', got {spec!r}", 2)
    if module_name.endswith(".py") or "/" in module_name or os.sep in module_name:
        path = os.path.abspath(module_name)
        if not os.path.isfile(path):
            raise CLIError(f"{option} {spec!r}: no such file {module_name!r}", 2)
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
            raise CLIError(
                f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
            ) from None
    else:
        # A console script does not put the working directory on the path; `python -m` does.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
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
            raise CLIError(
                f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
            ) from None
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise CLIError(
                f"{option} {spec!r}: module {module_name!r} has no attribute {attr!r}", 2
            )
        value = getattr(value, part)
    return value


def _kind(value: Any) -> str:
    """``"a module"``, ``"an Agent"``, ``"a dict"``: what ``value`` is, with its article."""
    kind = "module" if isinstance(value, type(sys)) else type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' else 'a'} {kind}"


def _as_tools(value: Any, spec: str, option: str) -> list[Tool[Any, Any]]:
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
                f"{option} {spec!r} is {_kind(item)}, not a tool "
                "(expected an @tool function, a typed function or a list of them)",
                2,
            )
    return tools


def _load_agent(spec: str) -> Agent[Any]:
    from agentkit.agent import Agent

    value = _load(spec, "agent")
    if not isinstance(value, Agent):
        raise CLIError(f"agent {spec!r} is {_kind(value)}, not an agentkit Agent", 2)
    return value


# C0 controls but tab and newline, DEL, and C1 controls (CSI included): without ESC or CSI an
# escape sequence is inert text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` without terminal control characters (tab and newline are kept)."""
    return _CONTROL.sub("", text)


def _shorten(text: str) -> str:
    text = clean(text).replace("\n", " ")
    if len(text) <= _SHOWN_RESULT_CHARS:
        return text
    return f"{text[:_SHOWN_RESULT_CHARS]}... ({len(text)} characters)"


def render_events(events: Iterable[StreamEvent], out: TextIO) -> RunResult[Any] | None:
    """Print a streamed run: text as it arrives, one line per tool call and per result.

    Returns:
        The run's result (from its last event), or ``None`` if the stream ended early.
    """
    from agentkit.events import RunFinished, TextDelta, ToolCallResult, ToolCallStarted

    line_open = False
    for event in events:
        if isinstance(event, TextDelta):
            text = clean(event.text)
            out.write(text)
            out.flush()
            line_open = not text.endswith("\n") if text else line_open
            continue
        if isinstance(event, (ToolCallStarted, ToolCallResult, RunFinished)) and line_open:
            out.write("\n")
            line_open = False
        if isinstance(event, ToolCallStarted):
            out.write(f"[tool call] {clean(event.name)}({clean(event.arguments)})\n")
        elif isinstance(event, ToolCallResult):
            label = "tool error" if event.is_error else "tool result"
            out.write(f"[{label}] {clean(event.name)}: {_shorten(event.content)}\n")
        elif isinstance(event, RunFinished):
            out.flush()
            return event.result
        out.flush()
    return None


def _describe(exc: BaseException, args: argparse.Namespace) -> str:
    """One line saying what failed and what to check."""
    from agentkit.errors import (
        AgentRunError,
        APIConnectionError,
        APIStatusError,
        AuthenticationError,
    )

    where = getattr(args, "resolved_base_url", None) or args.base_url or "the API"
    if isinstance(exc, AuthenticationError):
        return f"the API at {where} rejected the key ({exc}); check AGENTKIT_API_KEY"
    if isinstance(exc, APIConnectionError):
        return (
            f"cannot reach the API at {where}: {exc}; check --base-url / AGENTKIT_BASE_URL "
            "and that the server is running"
        )
    if isinstance(exc, APIStatusError):
        status = f"HTTP {exc.status_code}" if exc.status_code is not None else "an error"
        detail = str(exc)
        if detail.startswith(status):  # the error's own text already names the status
            detail = detail[len(status) :].strip(" :")
            detail = detail[1:-1] if detail.startswith("(") and detail.endswith(")") else detail
        return f"the API at {where} answered {status}" + (f": {detail}" if detail else "")
    if isinstance(exc, AgentRunError):
        return f"the run stopped: {type(exc).__name__}: {exc}"
    return str(exc)


# --------------------------------------------------------------------------- commands


def _chat(args: argparse.Namespace) -> int:
    from agentkit.agent import Agent

    agent: Agent[Any]
    sources: list[Any] = []
    if args.agent is not None:
        if args.tools or args.mcp or args.mcp_url or args.instructions is not None:
            raise CLIError(
                "--agent brings its own tools and instructions; "
                "do not combine it with --tools, --mcp, --mcp-url or --instructions",
                2,
            )
        agent = _load_agent(args.agent)
        client = _client(args)
        agent = agent.with_client(client)
        tools = agent.tools
    else:
        tools = [
            t for spec in args.tools for t in _as_tools(_load(spec, "--tools"), spec, "--tools")
        ]
        client = _client(args)
        sources = _mcp_servers(args)
        agent = Agent(instructions=args.instructions, tools=[*tools, *sources], client=client)
    try:
        for server in sources:  # start them now: a broken one fails here, not mid-chat
            tools = [*tools, *server.list_tools_sync()]
        return _chat_loop(args, agent, client.model, tools)
    finally:
        agent.close()


def _mcp_servers(args: argparse.Namespace) -> list[Any]:
    if not args.mcp and not args.mcp_url:
        return []
    import shlex

    from agentkit.mcp import MCPServer

    servers = []
    for line in args.mcp:
        words = shlex.split(line)
        if not words:
            raise CLIError("--mcp needs a command, e.g. --mcp 'python -m my_server'", 2)
        servers.append(MCPServer.stdio(words[0], words[1:], cwd=os.getcwd()))
    servers.extend(MCPServer.http(url) for url in args.mcp_url)
    return servers


def _chat_loop(
    args: argparse.Namespace, agent: Any, model: str, tools: list[Tool[Any, Any]]
) -> int:
    from agentkit.errors import AgentkitError

    run_kwargs = _run_kwargs(args)
    interactive = sys.stdin.isatty()
    if interactive:
        _line_editing()
        names = ", ".join(t.name for t in tools) or "none"
        print(f"agentkit chat with {model} (tools: {names}). {_CHAT_HELP_SHORT}")
    history: list[dict[str, Any]] = []
    session = _chat_session(args)
    if session is not None:
        run_kwargs["session"] = session
        if interactive and session.messages():
            print(f"(continuing session {session.id!r})", flush=True)
    while True:
        line = _read_line(interactive)
        if line is None:
            return 0
        text = line.strip()
        if not text:
            continue  # an empty Enter is not the end of the conversation
        if text in ("/exit", "/quit"):
            return 0
        if text == "/reset":
            history = []
            if session is not None:
                session.clear()
            print("(conversation forgotten)", flush=True)
            continue
        if text in ("/help", "/?"):
            print(_CHAT_HELP, flush=True)
            continue
        if session is None:
            run_kwargs["history"] = history
        try:
            result = render_events(agent.stream_sync(text, **run_kwargs), sys.stdout)
        except AgentkitError as exc:
            if not interactive:
                raise
            # Keep talking: the error carries the conversation so far, valid as history.
            print(f"{_PROG}: error: {_describe(exc, args)}", file=sys.stderr)
            history = list(exc.messages) or history
            continue
        if result is not None:
            history = result.messages


DEFAULT_CHAT_STORE = "agentkit-chat.db"
"""Where ``agentkit chat --session NAME`` keeps conversations without ``--store``."""


def _chat_session(args: argparse.Namespace) -> Any:
    """The session ``--session``/``--store`` name (``None``: the chat lives in memory)."""
    if args.session is None:
        if args.store is not None:
            raise CLIError("--store keeps a --session: give --session NAME too", 2)
        return None
    from agentkit.errors import AgentkitError
    from agentkit.sessions import SQLiteStore

    try:
        return SQLiteStore(args.store or DEFAULT_CHAT_STORE).session(args.session)
    except AgentkitError as exc:
        raise CLIError(f"--session {args.session!r}: {clean(str(exc))}", 2) from None


_CHAT_HELP_SHORT = "/help lists the commands; /exit or Ctrl-D quits."
_CHAT_HELP = """commands (not sent to the model):
  /reset        forget the conversation
  /help         this list
  /exit, /quit  leave (Ctrl-D too)
empty lines are ignored; arrow keys edit the line and recall earlier ones"""


def _read_line(interactive: bool) -> str | None:
    """The next line typed (``None`` at the end of input)."""
    if not interactive:
        line = sys.stdin.readline()
        return line or None
    try:
        return input("you> ")
    except EOFError:
        print()
        return None


def _line_editing() -> None:
    # Importing readline is what gives input() line editing and history (where available).
    # Windows has no readline: plain input() still works there.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401


def _run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``variables=`` and ``deps=`` for the agent's runs, from ``--var`` and ``--deps``."""
    kwargs: dict[str, Any] = {}
    if args.variables:
        kwargs["variables"] = dict(args.variables)
    if args.deps is not None:
        factory = _load(args.deps, "--deps")
        if not callable(factory):
            raise CLIError(f"--deps {args.deps!r} is {_kind(factory)}, not a function", 2)
        try:
            kwargs["deps"] = factory()
        except Exception as exc:
            raise CLIError(
                f"--deps {args.deps!r} failed: {type(exc).__name__}: {clean(str(exc))}"
            ) from None
    return kwargs


def _run(args: argparse.Namespace) -> int:
    import json

    agent = _load_agent(args.agent).with_client(_client(args))
    run_kwargs = _run_kwargs(args)
    prompt = args.prompt if args.prompt is not None else sys.stdin.read().strip()
    if not prompt:
        raise CLIError("no prompt: give one after the agent or pipe it on stdin", 2)
    if args.json:
        result = agent.run_sync(prompt, **run_kwargs)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        render_events(agent.stream_sync(prompt, **run_kwargs), sys.stdout)
    return 0


def _models(args: argparse.Namespace) -> int:
    for model in _client(args).list_models():
        print(model.id)
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    tools = _as_tools(_load(args.tool, "tool"), args.tool, "tool")
    definitions = [t.to_openai() for t in tools]
    shown = definitions[0] if len(definitions) == 1 else definitions
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("uvicorn") is None:
        raise CLIError(
            "`agentkit emulator` needs uvicorn, which is not installed: "
            "pip install 'agentkit-lean[emulator]'"
        )
    from agentkit.emulator import Emulator, builtin_scenarios, load_scenarios, serve
    from agentkit.emulator.scenarios import example_scenarios
    from agentkit.errors import UserError

    try:
        emulator = Emulator(
            api_keys=args.api_key or None,
            # the demo's scenario too, so `agentkit demo` answers as it does in-process
            scenarios=[*load_scenarios(args.scenarios), *builtin_scenarios(), *example_scenarios()],
            faults=args.fault or None,
            cassette=args.replay,
            cassette_fallback=args.replay_fallback,
            quirks=args.quirks,
            record_requests=False,  # a long-running server must not keep every body
        )
    except UserError as exc:
        raise CLIError(str(exc), 2) from None
    port = _free_port(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"{_PROG} emulator: offline stand-in for the provider API (not a real model) at "
        f"http://{host}:{port}/v1 — Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    serve(args.host, port, emulator=emulator, log_level=args.log_level)
    return 0


def _check(args: argparse.Namespace) -> int:
    """Exit code 0: the server can run agentkit agents (with the profile printed); 1: not."""
    import json

    from agentkit.check import check_server

    if not getattr(args, "base_url", None):
        raise CLIError("agentkit check needs --base-url URL (the server's API root)", 2)
    report = check_server(
        args.base_url, getattr(args, "model", None), timeout=getattr(args, "timeout", None) or 60.0
    )
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(report.table())
    return 0 if report.usable else 1


def _web(args: argparse.Namespace) -> int:
    import importlib.util

    for needed in ("starlette", "uvicorn"):
        if importlib.util.find_spec(needed) is None:
            raise CLIError(f"`agentkit serve` needs {needed}: pip install 'agentkit-lean[web]'")
    import uvicorn

    from agentkit.web import chat_app

    agent = _load_agent(args.agent).with_client(_client(args))
    store = None
    if args.store:
        from agentkit.sessions import SQLiteStore

        store = SQLiteStore(args.store)
    app = chat_app(agent, store=store, api_key=args.auth_token or None)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"{_PROG} serve: chat page and API at http://{host}:{args.port}/ — Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _free_port(host: str, port: int) -> int:
    """Check that ``host:port`` can be bound, before the banner; for port 0, pick one."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CLIError(f"--host {host!r}: {exc.strerror}", 2) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "is in use" if exc.errno in (48, 98, 10048) else f"cannot be used ({exc})"
            raise CLIError(f"port {port} on {host} {reason}; pick another with --port") from None
        chosen: int = probe.getsockname()[1]
    return chosen


def _demo(args: argparse.Namespace) -> int:
    from agentkit import _demo as demo

    client = _client(args, extra_scenarios=[demo.DEMO_SCENARIO])
    agent = demo.build_agent(client)
    prompt = args.prompt or demo.DEMO_PROMPT
    print(f"> {prompt}", flush=True)
    render_events(agent.stream_sync(prompt), sys.stdout)
    return 0


# --------------------------------------------------------------------------- entry point


def _tolerant_streams() -> None:
    # A terminal that cannot show Chinese must not turn an answer into a traceback.
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
        reconfigure = getattr(stream, "reconfigure", None)
        if encoding != "utf8" and callable(reconfigure):
            reconfigure(errors="backslashreplace")


class _OneLine(logging.Formatter):
    """``agentkit: warning: message (ValueError: why)``: one line, no traceback unless
    debugging."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        text = f"{_PROG}: {record.levelname.lower()}: {clean(record.getMessage())}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if self.debug:
                return f"{text}\n{self.formatException(record.exc_info)}"
            text += f" ({type(exc).__name__}: {clean(str(exc))})"
        return text


@contextlib.contextmanager
def _log_to_stderr(*, debug: bool) -> Iterator[None]:
    """agentkit's log records on stderr, one line each, while a command runs (the library only
    logs; the command line shows). The logger is put back as it was afterwards."""
    logger = logging.getLogger("agentkit")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(debug))
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``agentkit`` command line.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 runtime error, 2 usage error, 130 interrupted.
    """
    _tolerant_streams()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Report it with the command's own usage, not the top-level one.
        sub: argparse.ArgumentParser = args.subparsers.get(args.command, parser)
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from agentkit.errors import AgentkitError

    try:
        with _log_to_stderr(debug=args.debug):
            return handler(args)
    except CLIError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    except AgentkitError as exc:
        print(f"{_PROG}: error: {_describe(exc, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    finally:
        client: Client | None = getattr(args, "client", None)
        if client is not None:
            client.close()
