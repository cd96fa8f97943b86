"""``agentkit serve``: an agent over HTTP, its API and chat page (needs agentkit-lean[web])."""

from __future__ import annotations

import argparse
import sys

from agentkit.cli import PROG
from agentkit.cli.connect import client_for
from agentkit.cli.loading import load_agent, open_store
from agentkit.cli.output import CLIError


def serve_agent(args: argparse.Namespace) -> int:
    """Run ``agentkit serve`` until interrupted."""
    import importlib.util

    for needed in ("starlette", "uvicorn"):
        if importlib.util.find_spec(needed) is None:
            raise CLIError(f"`agentkit serve` needs {needed}: pip install 'agentkit-lean[web]'")
    import uvicorn

    from agentkit.web import chat_app

    agent = load_agent(args.agent).with_client(client_for(args))
    store = open_store(args.store) if args.store else None
    app = chat_app(agent, store=store, api_key=args.auth_token or None)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"{PROG} serve: chat page and API at http://{host}:{args.port}/ — Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
