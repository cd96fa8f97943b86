"""The ``agentkit`` command line: chat, run an agent, list models, print a tool's schema,
serve the emulator, and a demo.

With ``AGENTKIT_API_KEY`` set, commands talk to the real API; without it they say so on
stderr and run on the in-process emulator. Exit codes: 0 success, 1 a runtime error (the
API failed, the run stopped, the port of ``agentkit emulator`` or ``serve`` is in use), 2 a
usage error (bad arguments or paths, a wrong ``module:attr``, no key with ``--no-emulator``),
130 interrupted.

Text the model chose (answers, tool names and arguments, tool results) is printed with
terminal control characters removed, so an answer cannot move the cursor, retitle the window
or hide text.

Start-up stays light: ``import agentkit.cli`` loads this module only, and everything beyond
argparse is imported inside the command that needs it. The package's modules: ``parser``
(the argument tree), ``output`` (what reaches the terminal), ``connect`` (the client),
``loading`` (user modules, ``--var``/``--deps``), and one module per command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from agentkit.client import Client

__all__ = ["main"]

PROG = "agentkit"
"""The command's name, as it prefixes every message it prints."""

DISTRIBUTION = "agentkit-lean"
"""The name agentkit is published under on the package index (the import name is agentkit)."""

DEFAULT_CHAT_STORE = "agentkit-chat.db"
"""Where ``agentkit chat --session NAME`` keeps conversations without ``--store``."""

# Names that lived in the single-module command line, loaded on first use so that importing
# this package stays as light as it was.
_LAZY = {
    "CLIError": ("agentkit.cli.output", "CLIError"),
    "clean": ("agentkit.cli.output", "clean"),
    "render_events": ("agentkit.cli.output", "render_events"),
    "_describe": ("agentkit.cli.output", "describe"),
    "build_parser": ("agentkit.cli.parser", "build_parser"),
}


def __getattr__(name: str) -> Any:
    """``agentkit.cli.clean`` and the like, imported from their module when first asked."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``agentkit`` command line.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 runtime error, 2 usage error, 130 interrupted.
    """
    from agentkit.cli.output import tolerant_streams
    from agentkit.cli.parser import build_parser

    tolerant_streams()
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
    return _dispatch(handler, args)


def _dispatch(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run the command, turning every expected failure into one line and an exit code."""
    from agentkit.cli.output import CLIError, describe, log_to_stderr
    from agentkit.errors import AgentkitError

    try:
        with log_to_stderr(debug=args.debug):
            return handler(args)
    except CLIError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.code
    except AgentkitError as exc:
        print(f"{PROG}: error: {describe(exc, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    finally:
        client: Client | None = getattr(args, "client", None)
        if client is not None:
            client.close()
