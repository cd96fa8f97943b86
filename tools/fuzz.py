"""Run agentkit's fuzz properties with 100,000 examples each (the CI suite runs 2,000).

Usage::

    .venv/bin/python tools/fuzz.py            # all properties of tests/test_fuzz.py
    .venv/bin/python tools/fuzz.py -k sse     # a subset (any pytest arguments pass through)

It runs ``tests/test_fuzz.py`` under the hypothesis profile ``fuzz``
(``AGENTKIT_FUZZ_PROFILE=fuzz``) with hypothesis statistics, so the output shows, for each
property, how many examples passed, failed or were invalid. Over loopback HTTP the count is
a tenth (10,000), as in CI. Exit status is pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    """Run the fuzz suite; return pytest's exit status."""
    env = {**os.environ, "AGENTKIT_FUZZ_PROFILE": "fuzz"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "tests" / "test_fuzz.py"),
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        "-q",
        *argv,
    ]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
