"""``python -m agentkit``: the same command line as the ``agentkit`` script."""

from __future__ import annotations

from agentkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
