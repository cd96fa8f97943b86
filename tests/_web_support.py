"""Event sequences and fake results shared by the web tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from agentkit.events import (
    RunFinished,
    TextDelta,
    ToolCallArgsDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.result import RunResult
from agentkit.usage import Usage


@dataclass
class ApprovalRequested:
    """The approval work's event, as the encoders expect it (type + three fields)."""

    type: ClassVar[str] = "approval_requested"
    tool_call_id: str
    tool_name: str
    arguments: dict[str, Any]


@dataclass
class PausedResult:
    """A RunResult-shaped paused run (the approval work adds these attributes)."""

    approvals: list[Any]
    output: Any = None
    paused: bool = True
    messages: list[Any] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)
    tool_failures: list[Any] = field(default_factory=list)

    def new_messages(self) -> list[Any]:
        return self.messages


def turn(finish: str) -> TurnFinished:
    return TurnFinished(finish_reason=finish, response_usage=None, usage=Usage())


def weather_events() -> list[Any]:
    result = RunResult(output="北京今天晴，气温 25°C。", messages=[], usage=Usage())
    return [
        ToolCallArgsDelta(index=0, tool_call_id="call_1", name="get_weather", delta=""),
        ToolCallArgsDelta(index=0, tool_call_id=None, name=None, delta='{"city":'),
        ToolCallArgsDelta(index=0, tool_call_id=None, name=None, delta='"北京"}'),
        turn("tool_calls"),
        ToolCallStarted(tool_call_id="call_1", name="get_weather", arguments='{"city":"北京"}'),
        ToolCallResult(
            tool_call_id="call_1",
            name="get_weather",
            content='{"city":"北京","temperature_c":25}',
            is_error=False,
        ),
        TextDelta(text="北京今天晴，"),
        TextDelta(text="气温 25°C。"),
        turn("stop"),
        RunFinished(result=result),
    ]


def approval_events() -> list[Any]:
    request = ApprovalRequested("call_9", "refund", {"order_id": "ORD1", "amount": "50"})
    return [turn("tool_calls"), request, RunFinished(result=PausedResult([request]))]  # type: ignore[arg-type]


def failing_events() -> list[Any]:
    return [
        TextDelta(text="Let me"),
        ToolCallStarted(tool_call_id="call_5", name="get_weather", arguments='{"city":"上海"}'),
        ToolCallResult(
            tool_call_id="call_5",
            name="get_weather",
            content="Error: the tool failed",
            is_error=True,
        ),
    ]


class Served:
    """An ASGI app on a free loopback port, run by uvicorn on a thread."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        import time

        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
