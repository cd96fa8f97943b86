"""The stream encoders against the protocols: AI SDK golden files, AG-UI's own models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _web_support import approval_events, failing_events, weather_events
from ag_ui.core import Event, EventType
from pydantic import TypeAdapter

from agentkit.web import AgentkitEncoder, AGUIEncoder, VercelEncoder, encode_stream, sse

GOLDEN = Path(__file__).with_name("web_golden")
AGUI_EVENT: TypeAdapter[Any] = TypeAdapter(Event)


def test_importing_the_encoders_does_not_import_starlette() -> None:
    code = "import sys, agentkit.web; print('starlette' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sse_splits_data_lines_on_newlines_only() -> None:
    assert sse("a\nb", event="x") == "event: x\ndata: a\ndata: b\n\n"
    assert sse("a\u2028b") == "data: a\u2028b\n\n"  # U+2028 is not a line break in SSE


@pytest.mark.parametrize(
    ("golden", "events", "message_id"),
    [
        ("vercel_tool_turn.sse", weather_events(), "msg-1"),
        ("vercel_approval.sse", approval_events(), "msg-2"),
    ],
)
def test_vercel_stream_matches_the_documented_parts(
    golden: str, events: list[Any], message_id: str
) -> None:
    text = "".join(encode_stream(VercelEncoder(message_id=message_id), events))
    assert text == (GOLDEN / golden).read_text(encoding="utf-8")


def test_vercel_failed_run_ends_with_an_error_part() -> None:
    enc = VercelEncoder(message_id="msg-3")
    frames = [enc.frame(p) for p in enc.start()]
    for event in failing_events():
        frames += [enc.frame(p) for p in enc.event(event)]
    frames += [enc.frame(p) for p in enc.error("the API answered HTTP 500")]
    frames.append(enc.done())
    assert "".join(frames) == (GOLDEN / "vercel_error.sse").read_text(encoding="utf-8")


def test_vercel_encoder_names_its_header() -> None:
    assert VercelEncoder.headers == {"x-vercel-ai-ui-message-stream": "v1"}


def _agui(events: list[Any]) -> list[dict[str, Any]]:
    enc = AGUIEncoder(thread_id="session-1", run_id="run-1")
    payloads = enc.start()
    for event in events:
        payloads += enc.event(event)
    return payloads


def _validated(payloads: list[dict[str, Any]]) -> list[Any]:
    models = [AGUI_EVENT.validate_python(p) for p in payloads]
    for payload, model in zip(payloads, models, strict=True):
        # Nothing we send is dropped or renamed by the protocol's own model.
        assert model.model_dump(mode="json", by_alias=True, exclude_none=True) == payload
    return models


def test_agui_events_validate_and_pair_up() -> None:
    models = _validated(_agui(weather_events()))
    kinds = [m.type for m in models]
    assert kinds[0] == EventType.RUN_STARTED and kinds[-1] == EventType.RUN_FINISHED
    assert kinds.count(EventType.TOOL_CALL_START) == kinds.count(EventType.TOOL_CALL_END) == 1
    assert kinds.index(EventType.TOOL_CALL_END) < kinds.index(EventType.TOOL_CALL_RESULT)
    assert kinds.count(EventType.TEXT_MESSAGE_START) == kinds.count(EventType.TEXT_MESSAGE_END)
    args = "".join(m.delta for m in models if m.type == EventType.TOOL_CALL_ARGS)
    assert json.loads(args) == {"city": "北京"}
    text = "".join(m.delta for m in models if m.type == EventType.TEXT_MESSAGE_CONTENT)
    assert text == models[-1].result == "北京今天晴，气温 25°C。"
    assert models[0].thread_id == models[-1].thread_id == "session-1"


def test_agui_paused_run_finishes_with_an_interrupt_per_request() -> None:
    models = _validated(_agui(approval_events()))
    finished = models[-1]
    assert finished.outcome.type == "interrupt"
    assert [i.tool_call_id for i in finished.outcome.interrupts] == ["call_9"]
    start = next(m for m in models if m.type == EventType.TOOL_CALL_START)
    assert start.tool_call_name == "refund"


def test_agui_error_closes_the_open_message() -> None:
    enc = AGUIEncoder(thread_id="s", run_id="r")
    payloads = [*enc.start(), *enc.event(failing_events()[0]), *enc.error("boom", "APIError")]
    models = _validated(payloads)
    assert [m.type for m in models][-2:] == [EventType.TEXT_MESSAGE_END, EventType.RUN_ERROR]
    assert models[-1].code == "APIError"


def test_agui_frames_are_what_the_protocol_encoder_writes() -> None:
    from ag_ui.encoder import EventEncoder

    enc = AGUIEncoder(thread_id="s", run_id="r")
    for payload in _agui(weather_events()):
        model = AGUI_EVENT.validate_python(payload)
        ours = json.loads(enc.frame(payload).removeprefix("data: "))
        theirs = json.loads(EventEncoder().encode(model).removeprefix("data: "))
        assert ours == theirs


def test_agentkit_events_name_each_frame_by_type() -> None:
    frames = list(encode_stream(AgentkitEncoder(), weather_events()))
    kinds = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert kinds[0] == "tool_call_args_delta" and kinds[-1] == "run_finished"
    last = json.loads(frames[-1].split("\n")[1].removeprefix("data: "))
    assert last["result"]["output"] == "北京今天晴，气温 25°C。"
    assert last["result"]["paused"] is False


def test_agentkit_approval_event_carries_the_call() -> None:
    payloads = AgentkitEncoder().event(approval_events()[1])
    assert payloads == [
        {
            "type": "approval_requested",
            "tool_call_id": "call_9",
            "tool_name": "refund",
            "arguments": {"order_id": "ORD1", "amount": "50"},
        }
    ]
