"""The README's runnable examples run, offline, and print what the README says they print.

A ```python block right after a ``<!-- readme-test -->`` line is run in a fresh interpreter
with no API key (so on the emulator); the plain ``` block that follows it, if any, must be
exactly its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _examples() -> list[tuple[str, str | None]]:
    text = README.read_text(encoding="utf-8")
    found = []
    for marker in re.finditer(r"<!-- readme-test -->\n```python\n(.*?)```\n", text, re.S):
        rest = text[marker.end() :]
        # The expected output is the next fence without a language, before any other code.
        out = re.match(r"(?:[^`]*?\n)?```\n(.*?)```", rest, re.S)
        found.append((marker.group(1), out.group(1) if out else None))
    return found


def test_readme_has_runnable_examples() -> None:
    assert len(_examples()) >= 2


@pytest.mark.parametrize("code,expected", _examples())
def test_readme_example_runs_offline(code: str, expected: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTKIT_")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    if expected is not None:
        assert proc.stdout == expected


def test_every_test_the_readme_cites_exists() -> None:
    """The Reliability section proves each guarantee by naming a test; it must exist."""
    cited = set(re.findall(r"`(test_\w+)`", README.read_text(encoding="utf-8")))
    # The session conformance suite's tests live in the package, run by tests/.
    files = [*(README.parent / "tests").glob("test_*.py"),
             *(README.parent / "agentkit" / "testing" / "session_conformance").glob("*.py")]
    sources = "\n".join(p.read_text(encoding="utf-8") for p in files)
    defined = set(re.findall(r"def (test_\w+)", sources))
    assert cited, "the README cites no test"
    assert cited <= defined, f"cited but not defined: {sorted(cited - defined)}"
