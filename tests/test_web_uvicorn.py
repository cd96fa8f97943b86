"""chat_app over real HTTP: uvicorn on loopback, every endpoint, a client that hangs up."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx
import pytest
from _web_support import Served, shop_agent
from test_web_app import assert_valid_history, frames

from agentkit.sessions import SQLiteStore
from agentkit.web import chat_app


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    store = None
    if request.param == "sqlite":
        store = SQLiteStore(tmp_path_factory.mktemp("web") / "chat.db")
    agent = shop_agent([], faults="slow=0.05")
    with Served(chat_app(agent, store, api_key="tok")) as served:
        yield served
    if store is not None:
        store.close()


AUTH = {"authorization": "Bearer tok"}


def test_every_endpoint_over_loopback(server: Served) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert "agentkit chat" in c.get("/").text
        done = c.post("/chat", json={"session_id": "u", "message": "查询北京天气"}).json()
        assert done["output"] == "北京今天晴，气温 25°C。"
        with c.stream(
            "POST", "/chat/stream", json={"session_id": "u", "message": "查询上海天气"}
        ) as r:
            chunks = list(r.iter_text())
        assert len(chunks) > 3  # delivered as it ran, not in one piece
        assert frames("".join(chunks))[-1]["type"] == "run_finished"
        assert len(c.get("/sessions/u").json()["messages"]) == 8
        refused = c.post("/sessions/u/approve", json={"decisions": {"x": {"approve": True}}})
        assert refused.status_code == 409
        assert c.post("/chat", content=b"{", headers=AUTH).status_code == 400
        assert httpx.post(f"{server.url}/chat", json={"message": "hi"}).status_code == 401


def test_hanging_up_mid_stream_cancels_the_run(server: Served) -> None:
    body = {"session_id": "hangup", "message": "查询北京天气"}
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
        with c.stream("POST", "/chat/stream", json=body) as r:
            first = next(r.iter_text())
            assert "tool_call_args_delta" in first
        # The session is free at once (the run was cancelled, not left running) and valid.
        deadline = time.monotonic() + 5
        while True:
            again = c.post("/chat", json=body)
            if again.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert again.status_code == 200
        messages = c.get("/sessions/hangup").json()["messages"]
        # The hung-up run kept only whole turns; the next run answered after them.
        assert json.dumps(messages, ensure_ascii=False).count("查询北京天气") == 2
        assert_valid_history(messages)
        assert messages[-1]["content"] == "北京今天晴，气温 25°C。"


def test_approval_over_loopback(server: Served) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
        body = {"session_id": "appr", "message": "退款 ORD3", "format": "vercel"}
        parts = frames(c.post("/chat/stream", json=body).text)
        [ask] = [p for p in parts if p.get("type") == "tool-approval-request"]
        pending = c.get("/sessions/appr").json()["approvals"]
        assert [p["tool_call_id"] for p in pending] == [ask["toolCallId"]]
        decision = {"decisions": {ask["toolCallId"]: {"approve": False, "reason": "no"}}}
        done = c.post("/sessions/appr/approve", json=decision).json()
        assert done["output"].startswith("没有退款") and done["paused"] is False
        assert c.get("/sessions/appr").json()["approvals"] == []


def test_a_client_that_hangs_up_while_sending_its_body_is_no_server_error(
    server: Served, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    head = (
        "POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer tok\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    with caplog.at_level(logging.WARNING):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(head.encode() + b'{"message": "')  # then the client goes away
        time.sleep(0.3)
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
            assert c.get("/health").status_code == 200
    # An aborted upload was a logged 500 with two tracebacks (ours and uvicorn's).
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
