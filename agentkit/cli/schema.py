"""``agentkit schema``: the JSON definition the model is shown for a tool or typed function."""

from __future__ import annotations

import argparse

from agentkit.cli.loading import as_tools, load


def print_schema(args: argparse.Namespace) -> int:
    """Run ``agentkit schema``: one definition, or a list for a list of tools."""
    import json

    tools = as_tools(load(args.tool, "tool"), args.tool, "tool")
    definitions = [t.to_openai() for t in tools]
    shown = definitions[0] if len(definitions) == 1 else definitions
    print(json.dumps(shown, ensure_ascii=False, indent=2))
    return 0
