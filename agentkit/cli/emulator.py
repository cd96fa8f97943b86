"""``agentkit emulator``: the offline emulator served over HTTP (needs uvicorn)."""

from __future__ import annotations

import argparse

from agentkit.cli.listen import announce, listen
from agentkit.cli.output import CLIError


def serve_emulator(args: argparse.Namespace) -> int:
    """Run ``agentkit emulator`` until interrupted; the port is bound before the banner."""
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
    with listen(args.host, args.port) as sock:
        announce(
            "emulator", "offline stand-in for the provider API (not a real model)", sock, "/v1"
        )
        serve(args.host, args.port, emulator=emulator, log_level=args.log_level, sock=sock)
    return 0
