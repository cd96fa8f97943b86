"""``agentkit demo``: the weather agent, showing a tool call, its result and a streamed answer."""

from __future__ import annotations

import argparse
import sys

from agentkit.cli.connect import client_for
from agentkit.cli.output import render_events


def demo(args: argparse.Namespace) -> int:
    """Run ``agentkit demo`` (on the emulator unless a key is set)."""
    from agentkit import _demo as weather

    client = client_for(args, extra_scenarios=[weather.DEMO_SCENARIO])
    agent = weather.build_agent(client)
    prompt = args.prompt or weather.DEMO_PROMPT
    print(f"> {prompt}", flush=True)
    render_events(agent.stream_sync(prompt), sys.stdout)
    return 0
