"""The documented way to tell stream events apart type-checks under ``mypy --strict``:
``event.type`` is a ``Literal`` tag, so comparing it narrows the event to its class."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api as mypy_api

SNIPPET = """
from agentkit import Agent

agent = Agent(instructions="Be brief.")


async def main() -> None:
    async with agent.stream("hi") as events:
        async for event in events:
            if event.type == "text_delta":
                print(event.text)
            elif event.type == "approval_requested":
                print(event.tool_name, event.tool_call_id)
            elif event.type == "tool_call_result":
                print(event.name, event.is_error)
            elif event.type == "run_finished":
                print(event.result.output)
            print(event.text)  # E: not every event has text
            if event.type == "text_delta":
                print(event.tool_name)  # E: a text delta has no tool name
            if event.type == "approval_requested":
                print(event.text)  # E: an approval request has no text


def main_sync() -> None:
    with agent.stream_sync("hi") as events:
        for event in events:
            if event.type == "text_delta":
                print(event.text.upper())
            if event.type == "text-delta":  # E: no such tag
                pass
"""


def test_event_type_tags_narrow_events_under_mypy_strict(tmp_path: Path) -> None:
    source = tmp_path / "snippet.py"
    source.write_text(textwrap.dedent(SNIPPET), encoding="utf-8")
    stdout, stderr, _ = mypy_api.run(
        [
            "--strict",
            "--strict-equality",
            "--follow-imports=silent",
            f"--cache-dir={tmp_path / 'mypy_cache'}",
            "--config-file=",
            "--no-error-summary",
            str(source),
        ]
    )
    assert not stderr, stderr
    expected = {n for n, line in enumerate(SNIPPET.splitlines(), start=1) if "# E: " in line}
    flagged = {
        int(line.split(":")[1])
        for line in stdout.splitlines()
        if line.startswith(str(source)) and ": error:" in line
    }
    assert flagged == expected, stdout
