"""The argument tree of the ``agentkit`` command: the top-level options and one sub-parser per
command, each bound to the function that runs it."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, Protocol

from agentkit.cli import DEFAULT_CHAT_STORE, DISTRIBUTION, PROG
from agentkit.cli.chat import chat
from agentkit.cli.check import check
from agentkit.cli.demo import demo
from agentkit.cli.emulator import serve_emulator
from agentkit.cli.models import list_models
from agentkit.cli.run import run_agent
from agentkit.cli.schema import print_schema
from agentkit.cli.serve import serve_agent

Handler = Callable[[argparse.Namespace], int]


class _AddCommand(Protocol):
    def __call__(
        self, name: str, help: str, handler: Handler, *, client: bool = True
    ) -> argparse.ArgumentParser: ...


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``agentkit`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "agentkit: tool-using bots on OpenAI-compatible Chat Completions APIs. "
            "Without AGENTKIT_API_KEY, commands run on the offline emulator."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} ({DISTRIBUTION}) {_version()}"
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
        name: str, help: str, handler: Handler, *, client: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        subparsers[name] = sub
        if client:
            _connection_options(sub, top=False)
        sub.set_defaults(handler=handler)
        return sub

    for add in (_chat, _run, _models, _schema, _emulator, _serve, _check, _demo):
        add(command)
    return parser


def _version() -> str:
    """The installed distribution's version; the package's own when run from a checkout."""
    import importlib.metadata

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from agentkit import __version__

        return __version__


# --------------------------------------------------------------------------- shared options


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


def _listen_options(parser: argparse.ArgumentParser) -> None:
    """Where a command that serves HTTP listens."""
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=_port, default=8000, help="TCP port (default: 8000; 0: any free port)"
    )


# uvicorn's names, spelled here so that parsing a command line does not import uvicorn
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _log_level_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=_LOG_LEVELS,
        default="warning",
        help="uvicorn's log level (default: warning)",
    )


def _scenario_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenarios",
        action="append",
        default=[],
        metavar="PATH",
        help="emulator scenario file or directory (repeatable)",
    )


# --------------------------------------------------------------------------- one per command


def _chat(command: _AddCommand) -> None:
    sub = command("chat", "interactive chat that streams answers and shows tool calls", chat)
    sub.add_argument(
        "--tools",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="a tool, function or list of them to offer the model (repeatable); "
        "MODULE may be a dotted module or a path/to/file.py",
    )
    sub.add_argument("--instructions", help="the system message")
    sub.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="COMMAND",
        help='an MCP server to start over stdio, e.g. "python -m my_server" (repeatable; '
        "needs agentkit-lean[mcp])",
    )
    sub.add_argument(
        "--mcp-url",
        action="append",
        default=[],
        metavar="URL",
        help="an MCP server reached over streamable HTTP (repeatable; needs agentkit-lean[mcp])",
    )
    sub.add_argument(
        "--agent",
        metavar="MODULE:AGENT",
        help="chat with this Agent instead (not combinable with --tools/--instructions)",
    )
    sub.add_argument(
        "--session",
        metavar="NAME",
        help="keep the conversation in the session NAME of --store, across invocations",
    )
    sub.add_argument(
        "--store",
        metavar="PATH",
        default=None,
        help=f"the SQLite file that keeps --session (default: ./{DEFAULT_CHAT_STORE})",
    )
    _run_options(sub)
    _scenario_option(sub)


def _run(command: _AddCommand) -> None:
    sub = command("run", "run an agent on one prompt, streaming its answer", run_agent)
    sub.add_argument("agent", metavar="MODULE:AGENT", help="the Agent to run, e.g. app.bots:agent")
    sub.add_argument("prompt", nargs="?", help="the user's message (default: read stdin)")
    sub.add_argument(
        "--json", action="store_true", help="print the whole RunResult as JSON, not a stream"
    )
    _run_options(sub)
    _scenario_option(sub)


def _models(command: _AddCommand) -> None:
    command("models", "list the models the API offers", list_models)


def _schema(command: _AddCommand) -> None:
    sub = command(
        "schema", "print a tool's JSON definition (Tool.to_openai())", print_schema, client=False
    )
    sub.add_argument("tool", metavar="MODULE:FUNCTION", help="a tool or a typed function")


def _emulator(command: _AddCommand) -> None:
    sub = command(
        "emulator",
        "serve the offline emulator over HTTP (needs uvicorn)",
        serve_emulator,
        client=False,
    )
    _listen_options(sub)
    _scenario_option(sub)
    sub.add_argument("--replay", metavar="CASSETTE", help="answer from a JSONL cassette")
    sub.add_argument(
        "--replay-fallback",
        action="store_true",
        help="with --replay: emulate requests the cassette lacks instead of answering 400",
    )
    sub.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accept only these keys (repeatable; default: any non-empty key)",
    )
    sub.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="inject faults (repeatable)"
    )
    sub.add_argument(
        "--quirks",
        metavar="NAME",
        help="behave like another server family: agentkit (default), provider-examples, "
        "openai, llama.cpp, vllm, ollama, litellm, text-tool-calls, ignores-tool-choice, "
        "always-usage",
    )
    _log_level_option(sub)


def _serve(command: _AddCommand) -> None:
    sub = command(
        "serve", "serve an agent: HTTP API and chat page (needs agentkit-lean[web])", serve_agent
    )
    sub.add_argument(
        "agent", metavar="MODULE:AGENT", help="the Agent to serve, e.g. app.bots:agent"
    )
    _listen_options(sub)
    sub.add_argument("--store", metavar="PATH", help="keep conversations in this SQLite file")
    sub.add_argument(
        "--auth-token",
        default=os.environ.get("AGENTKIT_SERVE_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: AGENTKIT_SERVE_TOKEN)",
    )
    _log_level_option(sub)
    _scenario_option(sub)


def _check(command: _AddCommand) -> None:
    sub = command(
        "check",
        "probe an OpenAI-compatible server the way agentkit uses it; print the profile to use",
        check,
        client=False,
    )
    sub.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help="the server's API root, e.g. http://127.0.0.1:8080/v1",
    )
    sub.add_argument(
        "--model", default=argparse.SUPPRESS, help="the model to probe (default: the first listed)"
    )
    sub.add_argument("--json", action="store_true", help="print the report as JSON")


def _demo(command: _AddCommand) -> None:
    sub = command("demo", "the weather agent: a tool call, its result, a streamed answer", demo)
    sub.add_argument("prompt", nargs="?", help="the question (default: 查询北京天气)")
