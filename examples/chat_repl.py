"""A multi-turn chat: each turn sends the previous turns as ``history``.

Run it interactively, or pipe lines in (it reads until end of input)::

    python examples/chat_repl.py
    printf '查询北京天气\n谢谢\n' | python examples/chat_repl.py

``RunResult.messages`` holds the whole conversation (user, assistant and tool messages) as
plain JSON-ready dicts; passing it back as ``history`` continues the chat. The instructions
are not part of it: they are sent afresh on every run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from weather_agent import SCENARIOS, build_agent

from agentkit.events import RunFinished, TextDelta, ToolCallStarted
from agentkit.testing import auto_client


def main() -> None:
    agent = build_agent(auto_client(scenarios=SCENARIOS))
    interactive = sys.stdin.isatty()
    history: list[dict[str, Any]] = []
    while True:
        try:
            line = input("you> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not line:  # end of input
            break
        text = line.strip()
        if not text:
            continue
        if not interactive:
            print(f"you> {text}")
        print("bot> ", end="", flush=True)
        for event in agent.stream_sync(text, history=history):
            if isinstance(event, ToolCallStarted):
                print(f"[{event.name}({event.arguments})] ", end="", flush=True)
            elif isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, RunFinished):
                print()
                history = event.result.messages
    print(f"({len(history)} messages in history)")
    if len(sys.argv) > 1:  # save the conversation, e.g. to resume it later
        Path(sys.argv[1]).write_text(json.dumps(history, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
