"""The client a command talks to: the real API with ``AGENTKIT_API_KEY``, else the emulator."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agentkit.cli.output import CLIError

if TYPE_CHECKING:
    from agentkit.client import Client


def client_for(args: argparse.Namespace, extra_scenarios: Iterable[Any] = ()) -> Client:
    """The client for this invocation: the real API with a key, else the emulator.

    It is kept on ``args.client`` so that ``main`` closes it whatever happens.
    """
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
