"""Event sequences and fake results shared by the web tests."""

from __future__ import annotations

from typing import Any

from agentkit.approvals import ApprovalRequest, PausedRun, arguments_hash
from agentkit.events import (
    ApprovalRequested,
    RunFinished,
    TextDelta,
    ToolCallArgsDelta,
    ToolCallResult,
    ToolCallStarted,
    TurnFinished,
)
from agentkit.result import RunResult
from agentkit.usage import Usage


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
    arguments = {"order_id": "ORD1", "amount": "50"}
    request = ApprovalRequested("call_9", "refund", arguments)
    pending = ApprovalRequest("call_9", "refund", arguments, arguments_hash(arguments))
    pause = PausedRun(messages=[], requests=[pending], fingerprint="f")
    result = RunResult(output=None, messages=[], usage=Usage(), pause=pause)
    return [turn("tool_calls"), request, RunFinished(result=result)]


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


REFUND_SCENARIO = {
    "name": "refund",
    "description": "A refund request: call refund (which needs a person's approval).",
    "match": {"regex": "退款\\s*(?P<order>ORD\\d+)"},
    "tool_calls": [{"name": "refund", "arguments": {"order_id": "{{ groups.order }}"}}],
    "reply": (
        "{% if result is mapping %}订单 {{ result.order_id }} 已退款。"
        "{% else %}没有退款：{{ result }}{% endif %}"
    ),
}


TWO_REFUNDS_SCENARIO = {
    "name": "two refunds",
    "description": "Two refunds in one answer: two calls waiting for a person at once.",
    "match": {"regex": "两笔退款\\s*(?P<a>ORD\\d+)\\s*和\\s*(?P<b>ORD\\d+)"},
    "tool_calls": [
        {"name": "refund", "arguments": {"order_id": "{{ groups.a }}"}},
        {"name": "refund", "arguments": {"order_id": "{{ groups.b }}"}},
    ],
    "reply": "两笔退款已处理。",
}


def shop_agent(refunded: list[str], **emulator: Any) -> Any:
    """The weather agent plus ``refund``, a tool that waits for approval; every refund that
    really ran is appended to ``refunded``."""
    import sys
    from pathlib import Path

    from agentkit import Agent, tool
    from agentkit.testing import auto_async_client

    examples = Path(__file__).resolve().parents[1] / "examples"
    sys.path.insert(0, str(examples))
    try:
        from weather_agent import SCENARIOS, get_weather
    finally:
        sys.path.remove(str(examples))

    @tool(needs_approval=True)
    def refund(order_id: str) -> dict[str, Any]:
        """Refund an order in full.

        Args:
            order_id: The order, e.g. ORD1.
        """
        refunded.append(order_id)
        return {"order_id": order_id, "refunded": True}

    client = auto_async_client(
        scenarios=[TWO_REFUNDS_SCENARIO, REFUND_SCENARIO, SCENARIOS], quiet=True, **emulator
    )
    return Agent(instructions="你是一个商店助手。", tools=[get_weather, refund], client=client)
