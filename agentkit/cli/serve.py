"""``agentkit serve``: an agent over HTTP, its API and chat page (needs agentkit-lean[web])."""

from __future__ import annotations

import argparse
from typing import Any

from agentkit.cli.connect import client_for
from agentkit.cli.listen import announce, listen
from agentkit.cli.loading import load_agent, open_store
from agentkit.cli.output import CLIError


def serve_agent(args: argparse.Namespace) -> int:
    """Run ``agentkit serve`` until interrupted; the port is bound before the banner."""
    import importlib.util

    for needed in ("starlette", "uvicorn"):
        if importlib.util.find_spec(needed) is None:
            raise CLIError(f"`agentkit serve` needs {needed}: pip install 'agentkit-lean[web]'")
    import uvicorn

    app = _app(args)
    with listen(args.host, args.port) as sock:
        announce("serve", "chat page and API", sock, "/")
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level)
        uvicorn.Server(config).run(sockets=[sock])
    return 0


def _app(args: argparse.Namespace) -> Any:
    """The ASGI app of ``agentkit serve``: the agent, its store and the token.

    On a loopback address only loopback ``Host`` names are answered: a page on another
    site that rebinds its own name to 127.0.0.1 cannot reach the tools (DNS rebinding).
    """
    from agentkit.web import chat_app, loopback_hosts

    if args.auth_token is not None and not args.auth_token.strip():
        # "$TOKEN" of an unset variable must not quietly serve the tools to anyone.
        raise CLIError(
            "--auth-token (or AGENTKIT_SERVE_TOKEN) is empty: the API would be open to "
            "anyone; give a token, or leave both unset",
            2,
        )
    agent = load_agent(args.agent).with_client(client_for(args))
    store = open_store(args.store) if args.store else None
    return chat_app(
        agent,
        store=store,
        api_key=args.auth_token,
        allowed_hosts=loopback_hosts(args.host),
    )
