"""``agentkit run``: run an agent on one prompt, streaming its answer or printing its result."""

from __future__ import annotations

import argparse
import sys

from agentkit.cli.connect import client_for
from agentkit.cli.loading import load_agent, run_kwargs
from agentkit.cli.output import CLIError, render_events


def run_agent(args: argparse.Namespace) -> int:
    """Run ``agentkit run``: the prompt from the arguments or, without one, from stdin."""
    import json

    agent = load_agent(args.agent).with_client(client_for(args))
    kwargs = run_kwargs(args)
    prompt = args.prompt if args.prompt is not None else sys.stdin.read().strip()
    if not prompt:
        raise CLIError("no prompt: give one after the agent or pipe it on stdin", 2)
    if args.json:
        result = agent.run_sync(prompt, **kwargs)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        render_events(agent.stream_sync(prompt, **kwargs), sys.stdout)
    return 0
