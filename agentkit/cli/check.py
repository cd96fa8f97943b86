"""``agentkit check``: the command-line face of :func:`agentkit.check.check_server`."""

from __future__ import annotations

import argparse

from agentkit.cli.output import CLIError


def check(args: argparse.Namespace) -> int:
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
