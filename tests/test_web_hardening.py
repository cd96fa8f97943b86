"""chat_app against hostile input: bodies that nest too deeply, text that is not valid
Unicode; on the in-memory store and a real SQLiteStore."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_web_app import store  # noqa: F401 (fixture)
from test_web_approval import http, refunded  # noqa: F401 (fixtures)

from agentkit.approvals import Reject

JSON = {"content-type": "application/json"}
POSTS = ["/chat", "/chat/stream", "/sessions/s1/approve"]


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 65 + b"]" * 65])
async def test_deeply_nested_json_is_a_400(
    http: httpx.AsyncClient,  # noqa: F811
    path: str,
    body: bytes,
) -> None:
    r = await http.post(path, content=body, headers=JSON)
    assert _error(r) == (400, "bad_json")
    assert "nests deeper" in r.json()["error"]["message"]


async def test_nesting_within_the_limit_is_still_parsed(
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    nested: Any = "x"
    for _ in range(60):
        nested = [nested]
    r = await http.post("/chat", json={"message": "查询北京天气", "extra": nested})
    assert r.status_code == 200, r.text


LONE = b"hi \\ud800"  # valid JSON for a str that UTF-8 cannot encode


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"session_id": "s1", "message": "' + LONE + b'"}', '"message"'),
        (
            b'{"id": "s1", "messages": [{"role": "user", "parts": [{"type": "text", "text": "'
            + LONE
            + b'"}]}]}',
            "the last user message",
        ),
        (b'{"threadId": "s1", "runId": "r\\udfff", "messages": []}', "runId"),
    ],
)
@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
async def test_text_that_is_not_unicode_is_a_400_and_the_session_stays_usable(
    http: httpx.AsyncClient,  # noqa: F811
    path: str,
    body: bytes,
    field: str,
) -> None:
    r = await http.post(path, content=body, headers=JSON)
    assert _error(r) == (400, "bad_request")
    assert r.json()["error"]["message"].startswith(f"{field} is not valid Unicode")
    assert (await http.get("/sessions/s1")).json()["messages"] == []
    ok = await http.post("/chat", json={"session_id": "s1", "message": "查询北京天气"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["output"] == "北京今天晴，气温 25°C。"
    assert len((await http.get("/sessions/s1")).json()["messages"]) == 4


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        (b'{"approve": true, "arguments": {"order_id": "' + LONE + b'"}}', ".arguments.order_id"),
        (b'{"approve": false, "reason": "' + LONE + b'"}', ".reason"),
        (b'{"type": "approve", "arguments": {"order_id": ["' + LONE + b'"]}}', ".arguments"),
    ],
)
async def test_decisions_that_are_not_unicode_are_a_400_and_keep_the_pause(
    http: httpx.AsyncClient,  # noqa: F811
    refunded: list[str],  # noqa: F811
    decision: bytes,
    field: str,
) -> None:
    paused = await http.post("/chat", json={"session_id": "s1", "message": "请退款 ORD7"})
    [pending] = paused.json()["approvals"]
    call_id = pending["tool_call_id"].encode()
    body = b'{"decisions": {"' + call_id + b'": ' + decision + b"}}"
    r = await http.post("/sessions/s1/approve", content=body, headers=JSON)
    assert _error(r) == (400, "bad_request")
    assert f"{field}" in r.json()["error"]["message"]
    assert (await http.get("/sessions/s1")).json()["approvals"] == [pending]
    ok = await http.post(
        "/sessions/s1/approve", json={"decisions": {pending["tool_call_id"]: True}}
    )
    assert ok.status_code == 200, ok.text
    assert refunded == ["ORD7"] and ok.json()["paused"] is False


@pytest.mark.parametrize("form", ["plain", "agentkit"])
async def test_a_reject_reason_over_the_message_limit_is_a_413_and_keeps_the_pause(
    http: httpx.AsyncClient,  # noqa: F811
    refunded: list[str],  # noqa: F811
    form: str,
) -> None:
    # The reason is what the model reads: it may not carry more than a chat message may.
    paused = await http.post("/chat", json={"session_id": "s1", "message": "请退款 ORD7"})
    [pending] = paused.json()["approvals"]
    reason = "不" * 32_001
    decision = {"approve": False, "reason": reason} if form == "plain" else Reject(reason).to_dict()
    body = {"decisions": {pending["tool_call_id"]: decision}}
    r = await http.post("/sessions/s1/approve", json=body)
    assert _error(r) == (413, "message_too_long")
    assert ".reason has 32001 characters; the limit is 32000" in r.json()["error"]["message"]
    assert (await http.get("/sessions/s1")).json()["approvals"] == [pending]
    body = {"decisions": {pending["tool_call_id"]: {"approve": False, "reason": "不" * 32_000}}}
    ok = await http.post("/sessions/s1/approve", json=body)
    assert ok.status_code == 200, ok.text
    assert refunded == [] and ok.json()["paused"] is False


@pytest.mark.parametrize("run_id", ["r" * 129, "r" * 900_000, "run 1", "-r"])
async def test_an_agui_run_id_that_is_not_an_id_is_a_400(
    http: httpx.AsyncClient,  # noqa: F811
    run_id: str,
) -> None:
    # The runId is echoed in every event's message id: 900 kB of it came back as 4.5 MB.
    user = {"id": "m1", "role": "user", "content": "查询北京天气"}
    body = {"threadId": "s1", "runId": run_id, "messages": [user]}
    r = await http.post("/chat/stream", json=body)
    assert _error(r) == (400, "bad_request")
    assert r.json()["error"]["message"].startswith("runId must be 1-128 characters")
    assert (await http.get("/sessions/s1")).json()["messages"] == []
    body["runId"] = "3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    ok = await http.post("/chat/stream", json=body)
    assert ok.status_code == 200 and body["runId"] in ok.text.splitlines()[0]
