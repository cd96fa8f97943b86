"""``agentkit emulator``: the offline emulator served over HTTP (needs uvicorn)."""

from __future__ import annotations

import argparse
import os
import sys

from agentkit.cli import PROG
from agentkit.cli.output import CLIError


def serve_emulator(args: argparse.Namespace) -> int:
    """Run ``agentkit emulator`` until interrupted; the port is checked before the banner."""
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
    port = free_port(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"{PROG} emulator: offline stand-in for the provider API (not a real model) at "
        f"http://{host}:{port}/v1 — Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    serve(args.host, port, emulator=emulator, log_level=args.log_level)
    return 0


def free_port(host: str, port: int) -> int:
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
