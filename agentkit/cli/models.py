"""``agentkit models``: the model ids the API offers, one a line."""

from __future__ import annotations

import argparse

from agentkit.cli.connect import client_for


def list_models(args: argparse.Namespace) -> int:
    """Run ``agentkit models``."""
    for model in client_for(args).list_models():
        print(model.id)
    return 0
