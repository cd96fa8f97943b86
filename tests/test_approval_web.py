"""Approval over HTTP with ``examples/service.py`` served by uvicorn on loopback: one
request returns the pending call, a second approves or rejects it; conversations in
memory and in a SQLite session store."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import starlette  # noqa: F401  (the dev extra installs it; missing must fail, not skip)
import uvicorn  # noqa: F401
from _web_support import Served

from agentkit.sessions import SQLiteStore

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REFUND = "给订单 ORD1 退款 50 元"


@pytest.fixture(params=["memory", "sqlite"])
def http(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[httpx.Client]:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delenv("AGENTKIT_API_KEY", raising=False)
    monkeypatch.delenv("SERVICE_TOKEN", raising=False)
    import service

    store = SQLiteStore(str(tmp_path / "chat.db")) if request.param == "sqlite" else None
    try:
        with (
            Served(service.create_app(store=store)) as served,
            httpx.Client(base_url=served.url, timeout=30) as client,
        ):
            yield client
    finally:
        if store is not None:
            store.close()
        for name in ("service", "weather_agent"):
            sys.modules.pop(name, None)


def _pause(http: httpx.Client, session: str) -> dict[str, Any]:
    response = http.post("/chat", json={"session_id": session, "message": REFUND})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["paused"] is True and body["output"] is None
    (pending,) = body["approvals"]
    assert pending["tool_name"] == "refund"
    assert pending["arguments"] == {"order_id": "ORD1", "amount": "50"}
    return dict(pending)


def test_one_request_pauses_and_a_second_approves(http: httpx.Client) -> None:
    pending = _pause(http, "u1")
    shown = http.get("/sessions/u1").json()["approvals"]
    assert [a["tool_call_id"] for a in shown] == [pending["tool_call_id"]]

    busy = http.post("/chat", json={"session_id": "u1", "message": "查询北京天气"})
    assert busy.status_code in (400, 409), busy.text
    assert "approv" in busy.text or "paused" in busy.text

    decided = http.post(
        "/sessions/u1/approve", json={"decisions": {pending["tool_call_id"]: {"approve": True}}}
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["paused"] is False and body["output"] == "已给订单 ORD1 退款 50 元。"
    after = http.get("/sessions/u1").json()
    assert after["approvals"] == []
    tool_results = [m for m in after["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_results] == [pending["tool_call_id"]]
    assert http.post("/chat", json={"session_id": "u1", "message": "谢谢"}).status_code == 200


def test_a_second_request_rejects_with_a_reason(http: httpx.Client) -> None:
    pending = _pause(http, "u2")
    decision = {"approve": False, "reason": "超出退款上限"}
    decided = http.post(
        "/sessions/u2/approve", json={"decisions": {pending["tool_call_id"]: decision}}
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["paused"] is False and "超出退款上限" in body["output"]
    assert "已给订单" not in json.dumps(http.get("/sessions/u2").json(), ensure_ascii=False)


def test_decisions_for_another_call_are_refused_and_the_run_stays_paused(
    http: httpx.Client,
) -> None:
    pending = _pause(http, "u3")
    wrong = http.post("/sessions/u3/approve", json={"decisions": {"call_x": {"approve": True}}})
    assert 400 <= wrong.status_code < 500, wrong.text
    assert "unknown call" in wrong.text
    still = http.get("/sessions/u3").json()["approvals"]
    assert [a["tool_call_id"] for a in still] == [pending["tool_call_id"]]
    changed = http.post(
        "/sessions/u3/approve",
        json={"decisions": {pending["tool_call_id"]: {"approve": True,
                                                      "arguments": {"order_id": "ORD1"}}}},
    )  # fmt: skip
    assert 400 <= changed.status_code < 500 and "do not fit" in changed.text


def test_a_streamed_run_announces_the_approval_before_it_finishes(http: httpx.Client) -> None:
    with http.stream("POST", "/chat/stream", json={"session_id": "u4", "message": REFUND}) as r:
        assert r.status_code == 200
        text = r.read().decode()
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event"), json.loads(fields["data"])))
    kinds = [kind for kind, _ in events]
    assert kinds[-2:] == ["approval_requested", "run_finished"]
    asked = events[-2][1]
    assert asked["tool_name"] == "refund"
    assert events[-1][1]["result"]["paused"] is True
    decided = http.post(
        "/sessions/u4/approve", json={"decisions": {asked["tool_call_id"]: {"approve": True}}}
    )
    assert decided.json()["output"] == "已给订单 ORD1 退款 50 元。"


def test_approving_twice_refunds_once(http: httpx.Client) -> None:
    pending = _pause(http, "u5")
    body = {"decisions": {pending["tool_call_id"]: {"approve": True}}}
    assert http.post("/sessions/u5/approve", json=body).status_code == 200
    again = http.post("/sessions/u5/approve", json=body)
    assert 400 <= again.status_code < 500, again.text
    stored = http.get("/sessions/u5").json()["messages"]
    assert sum(m["role"] == "tool" for m in stored) == 1
