"""Approval over HTTP: a paused run's pending call, approve (the tool runs), reject (the
model is told), on the in-memory store and a real SQLiteStore."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _web_support import shop_agent
from test_web_app import assert_valid_history, frames, store  # noqa: F401 (fixture)

from agentkit.web import chat_app


@pytest.fixture
def refunded() -> list[str]:
    return []


@pytest.fixture
async def http(store: Any, refunded: list[str]) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    app = chat_app(shop_agent(refunded), store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def _pause(http: httpx.AsyncClient, session_id: str) -> str:
    r = await http.post("/chat", json={"session_id": session_id, "message": "请退款 ORD7"})
    body = r.json()
    assert r.status_code == 200 and body["paused"] is True and body["output"] is None
    [pending] = body["approvals"]
    assert pending["tool_name"] == "refund" and pending["arguments"] == {"order_id": "ORD7"}
    return str(pending["tool_call_id"])


async def test_approve_runs_the_tool_and_finishes_the_answer(
    http: httpx.AsyncClient, refunded: list[str]
) -> None:
    call_id = await _pause(http, "p")
    assert refunded == []  # nothing ran before the decision
    stored = (await http.get("/sessions/p")).json()
    assert [a["tool_call_id"] for a in stored["approvals"]] == [call_id]
    assert stored["messages"][-1]["tool_calls"][0]["id"] == call_id  # the call is shown
    refused = await http.post("/chat", json={"session_id": "p", "message": "查询北京天气"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "session_paused")
    streamed = await http.post("/chat/stream", json={"session_id": "p", "message": "谢谢"})
    assert (streamed.status_code, streamed.json()["error"]["code"]) == (409, "session_paused")

    done = await http.post("/sessions/p/approve", json={"decisions": {call_id: {"approve": True}}})
    assert done.status_code == 200, done.text
    assert done.json()["output"] == "订单 ORD7 已退款。"
    assert done.json()["paused"] is False and done.json()["approvals"] == []
    assert [m["role"] for m in done.json()["messages"]] == ["tool", "assistant"]
    assert refunded == ["ORD7"]
    after = (await http.get("/sessions/p")).json()
    assert after["approvals"] == []
    assert_valid_history(after["messages"])
    assert [m["role"] for m in after["messages"]] == ["user", "assistant", "tool", "assistant"]
    again = await http.post("/sessions/p/approve", json={"decisions": {call_id: True}})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_paused")
    chat = await http.post("/chat", json={"session_id": "p", "message": "谢谢"})
    assert chat.json()["output"] == "不客气！还有别的想查的吗？"  # the session takes prompts again


async def test_reject_tells_the_model_and_runs_nothing(
    http: httpx.AsyncClient, refunded: list[str]
) -> None:
    call_id = await _pause(http, "r")
    decision = {"approve": False, "reason": "金额不对"}
    done = await http.post("/sessions/r/approve", json={"decisions": {call_id: decision}})
    assert done.status_code == 200, done.text
    assert done.json()["output"].startswith("没有退款：")
    assert "金额不对" in done.json()["output"]
    assert refunded == []
    tool_message = done.json()["messages"][0]
    assert tool_message["role"] == "tool" and "金额不对" in tool_message["content"]
    assert_valid_history((await http.get("/sessions/r")).json()["messages"])


async def test_agentkit_decision_json_is_accepted(
    http: httpx.AsyncClient, refunded: list[str]
) -> None:
    call_id = await _pause(http, "k")
    done = await http.post(
        "/sessions/k/approve", json={"decisions": {call_id: {"type": "approve"}}}
    )
    assert done.json()["output"] == "订单 ORD7 已退款。" and refunded == ["ORD7"]


async def test_a_decision_for_another_call_is_a_400_and_keeps_the_pause(
    http: httpx.AsyncClient, refunded: list[str]
) -> None:
    call_id = await _pause(http, "w")
    wrong = await http.post("/sessions/w/approve", json={"decisions": {"other": True}})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "user_error")
    assert wrong.json()["error"]["message"]
    assert (await http.get("/sessions/w")).json()["approvals"][0]["tool_call_id"] == call_id
    ok = await http.post("/sessions/w/approve", json={"decisions": {call_id: True}})
    assert ok.status_code == 200 and refunded == ["ORD7"]


@pytest.mark.parametrize(
    ("fmt", "kind"),
    [("agentkit", "approval_requested"), ("vercel", "tool-approval-request"),
     ("ag-ui", "RUN_FINISHED")],
)  # fmt: skip
async def test_streams_announce_the_pending_call(
    http: httpx.AsyncClient, refunded: list[str], fmt: str, kind: str
) -> None:
    body = {"session_id": f"s-{fmt}", "message": "退款 ORD7", "format": fmt}
    parts = frames((await http.post("/chat/stream", json=body)).text)
    found = [p for p in parts if p.get("type") == kind]
    assert found, parts
    if fmt == "ag-ui":
        assert found[0]["outcome"]["type"] == "interrupt"
    pending = (await http.get(f"/sessions/s-{fmt}")).json()["approvals"]
    assert [p["tool_name"] for p in pending] == ["refund"]
    decisions = {"decisions": {pending[0]["tool_call_id"]: True}}
    done = await http.post(f"/sessions/s-{fmt}/approve", json=decisions)
    assert done.json()["output"] == "订单 ORD7 已退款。" and refunded == ["ORD7"]
