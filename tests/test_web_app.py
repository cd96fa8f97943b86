"""chat_app's endpoints through an ASGI client, and a client that leaves mid-stream."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit import Agent
from agentkit.errors import UserError
from agentkit.sessions import SQLiteStore
from agentkit.testing import auto_async_client
from agentkit.web import chat_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def weather_agent(**emulator: Any) -> Agent[str]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from weather_agent import SCENARIOS, build_agent
    finally:
        sys.path.remove(str(EXAMPLES))
    return build_agent(auto_async_client(scenarios=SCENARIOS, quiet=True, **emulator))


def frames(text: str) -> list[dict[str, Any]]:
    out = []
    for block in text.strip().split("\n\n"):
        data = "\n".join(
            line.removeprefix("data: ") for line in block.splitlines() if line.startswith("data:")
        )
        out.append({"DONE": True} if data == "[DONE]" else json.loads(data))
    return out


def assert_valid_history(messages: list[dict[str, Any]]) -> None:
    """Every tool call answered by its result, every result after its call."""
    open_calls: set[str] = set()
    for m in messages:
        if m["role"] == "assistant":
            assert not open_calls, f"tool calls without results: {open_calls}"
            open_calls = {c["id"] for c in m.get("tool_calls") or []}
        elif m["role"] == "tool":
            assert m["tool_call_id"] in open_calls, f"a result without its call: {m}"
            open_calls.discard(m["tool_call_id"])
        else:
            assert not open_calls, f"tool calls without results: {open_calls}"
    assert not open_calls, f"tool calls without results: {open_calls}"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """``None`` (chat_app's in-memory default) or a real SQLiteStore in a temp file."""
    if request.param == "memory":
        yield None
        return
    sqlite = SQLiteStore(tmp_path / "chat.db")
    yield sqlite
    sqlite.close()


@pytest.fixture
async def http(store: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = chat_app(weather_agent(), store, max_body_bytes=2000, max_message_chars=100)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_chat_keeps_the_conversation_per_session(http: httpx.AsyncClient) -> None:
    first = await http.post("/chat", json={"session_id": "a", "message": "查询北京天气"})
    assert first.status_code == 200
    assert first.json()["output"] == "北京今天晴，气温 25°C。"
    assert first.json()["paused"] is False
    await http.post("/chat", json={"session_id": "b", "message": "查询上海天气"})
    second = await http.post("/chat", json={"session_id": "a", "message": "谢谢"})
    assert second.json()["output"] == "不客气！还有别的想查的吗？"
    stored = (await http.get("/sessions/a")).json()
    assert [m["role"] for m in stored["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert stored["approvals"] == []
    assert len((await http.get("/sessions/b")).json()["messages"]) == 4


async def test_chat_without_session_id_gets_a_new_one(http: httpx.AsyncClient) -> None:
    body = (await http.post("/chat", json={"message": "查询北京天气"})).json()
    history = (await http.get(f"/sessions/{body['session_id']}")).json()
    assert history["messages"][0] == {"role": "user", "content": "查询北京天气"}


async def test_stream_default_is_agentkit_events(http: httpx.AsyncClient) -> None:
    r = await http.post("/chat/stream", json={"session_id": "s", "message": "查询上海天气"})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-agentkit-session-id"] == "s"
    events = frames(r.text)
    kinds = [e["type"] for e in events]
    assert "tool_call_started" in kinds and kinds[-1] == "run_finished"
    text = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert text == events[-1]["result"]["output"] == "上海今天多云，气温 27°C。"
    assert len((await http.get("/sessions/s")).json()["messages"]) == 4


@pytest.mark.parametrize(
    ("request_kwargs", "first", "last"),
    [
        ({"headers": {"x-vercel-ai-ui-message-stream": "v1"}}, "start", "DONE"),
        ({"json_extra": {"format": "vercel"}}, "start", "DONE"),
        ({"json_extra": {"format": "ag-ui"}}, "RUN_STARTED", "RUN_FINISHED"),
    ],
)
async def test_stream_format_is_chosen_by_the_request(
    http: httpx.AsyncClient, request_kwargs: dict[str, Any], first: str, last: str
) -> None:
    body = {"session_id": "f", "message": "查询北京天气", **request_kwargs.get("json_extra", {})}
    r = await http.post("/chat/stream", json=body, headers=request_kwargs.get("headers"))
    events = frames(r.text)
    assert events[0]["type"] == first
    assert ("DONE" if events[-1].get("DONE") else events[-1]["type"]) == last
    if first == "start":
        assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"


async def test_stream_accepts_use_chat_and_agui_bodies(http: httpx.AsyncClient) -> None:
    use_chat = {
        "id": "chat-1",
        "messages": [
            {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "查询北京天气"}]}
        ],
    }
    vercel = frames((await http.post("/chat/stream", json=use_chat)).text)
    assert vercel[0]["type"] == "start" and vercel[-1] == {"DONE": True}
    agui_input = {
        "threadId": "t-1",
        "runId": "r-1",
        "messages": [{"id": "u1", "role": "user", "content": "查询上海天气"}],
        "tools": [],
        "context": [],
        "state": None,
        "forwardedProps": None,
    }
    agui = frames((await http.post("/chat/stream", json=agui_input)).text)
    assert agui[0] == {"type": "RUN_STARTED", "threadId": "t-1", "runId": "r-1"}
    assert len((await http.get("/sessions/chat-1")).json()["messages"]) == 4
    assert len((await http.get("/sessions/t-1")).json()["messages"]) == 4


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"not json", 400, "bad_json"),
        (b"[1]", 400, "bad_request"),
        (b'{"session_id": "x"}', 400, "bad_message"),
        (b'{"message": "   "}', 400, "bad_message"),
        (b'{"message": 5}', 400, "bad_message"),
        (b'{"session_id": "../etc", "message": "hi"}', 400, "bad_session_id"),
        (b'{"message": "hi", "format": "xml"}', 400, "bad_request"),
        (json.dumps({"message": "x" * 101}).encode(), 413, "message_too_long"),
        (json.dumps({"message": "x", "pad": "y" * 3000}).encode(), 413, "body_too_large"),
        (b"\xff\xfe", 400, "bad_json"),
    ],
)
@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
async def test_bad_bodies_get_clear_4xx_json(
    http: httpx.AsyncClient, path: str, content: bytes, status: int, code: str
) -> None:
    r = await http.post(path, content=content)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]


async def test_unknown_routes_and_methods_are_json(http: httpx.AsyncClient) -> None:
    assert (await http.get("/nowhere")).json()["error"]["code"] == "not_found"
    r = await http.get("/chat")
    assert (r.status_code, r.json()["error"]["code"]) == (405, "method_not_allowed")
    assert (await http.get("/sessions/bad%20id")).status_code == 400


@pytest.mark.parametrize(
    "decisions",
    [{}, {"c": {"approve": "yes"}}, {"c": {"type": "maybe"}}, {"c": 1}, {"c": {"approve": False,
     "arguments": {}}}, {"c": {"approve": False, "reason": 3}}],
)  # fmt: skip
async def test_approve_refuses_bad_decisions(http: httpx.AsyncClient, decisions: Any) -> None:
    bad = await http.post("/sessions/a/approve", json={"decisions": decisions})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_decisions")
    assert bad.json()["error"]["message"]


async def test_approve_needs_a_paused_run(http: httpx.AsyncClient) -> None:
    none = await http.post("/sessions/a/approve", json={"decisions": {"c": {"approve": True}}})
    assert (none.status_code, none.json()["error"]["code"]) == (409, "not_paused")


async def test_page_is_served_with_a_strict_policy(http: httpx.AsyncClient) -> None:
    r = await http.get("/")
    assert r.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" in r.text and "http://" not in r.text and "https://" not in r.text


async def test_bearer_token_guards_the_api_but_not_the_page() -> None:
    app = chat_app(weather_agent(), api_key="s3cret")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/")).status_code == 200
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret"}):
            r = await c.post("/chat", json={"message": "查询北京天气"}, headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
            assert "s3cret" not in r.text
        assert (await c.get("/sessions/x")).status_code == 401
        ok = await c.post(
            "/chat", json={"message": "查询北京天气"}, headers={"authorization": "Bearer s3cret"}
        )
        assert ok.status_code == 200


async def test_run_errors_are_reported_not_500() -> None:
    app = chat_app(weather_agent(faults="status=500"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        plain = await c.post("/chat", json={"session_id": "e", "message": "查询北京天气"})
        assert plain.status_code == 502
        vercel = await c.post(
            "/chat/stream", json={"session_id": "e", "message": "查询北京天气", "format": "vercel"}
        )
        parts = frames(vercel.text)
    assert [p.get("type", "DONE") for p in parts] == ["start", "error", "DONE"]
    assert "500" in parts[1]["errorText"]


async def _drive(app: Any, body: dict[str, Any], leave_after: int) -> list[bytes]:
    """Call the ASGI app by hand and disconnect after ``leave_after`` body chunks."""
    left = asyncio.Event()
    sent: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent.append(message["body"])
            if len(sent) >= leave_after:
                left.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/chat/stream",
        "raw_path": b"/chat/stream",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "scheme": "http",
        "server": ("t", 80),
        "client": ("c", 1),
        "root_path": "",
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return sent


async def test_a_client_that_leaves_cancels_the_run_and_frees_the_session(store: Any) -> None:
    app = chat_app(weather_agent(faults="slow=0.3"), store)
    sent = await _drive(app, {"session_id": "gone", "message": "查询北京天气"}, leave_after=1)
    # The run stopped long before its answer: nothing after the first frames went out.
    assert not any(b"run_finished" in chunk for chunk in sent)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        stored = (await c.get("/sessions/gone")).json()["messages"]
        assert stored == [{"role": "user", "content": "查询北京天气"}]  # no half-done turn
        again = await c.post("/chat", json={"session_id": "gone", "message": "查询北京天气"})
        assert again.status_code == 200  # not "busy": the cancelled run released the lease
        after = (await c.get("/sessions/gone")).json()["messages"]
    assert_valid_history(after)
    assert [m["role"] for m in after] == ["user", "user", "assistant", "tool", "assistant"]


async def test_a_second_run_on_a_busy_session_is_409(store: Any) -> None:
    app = chat_app(weather_agent(faults="slow=0.2"), store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        first = asyncio.ensure_future(
            c.post("/chat/stream", json={"session_id": "b", "message": "查询北京天气"})
        )
        await asyncio.sleep(0.1)
        second = await c.post("/chat", json={"session_id": "b", "message": "查询上海天气"})
        assert (second.status_code, second.json()["error"]["code"]) == (409, "session_busy")
        body = {"session_id": "b", "message": "谢谢"}
        busy_stream = await c.post("/chat/stream", json=body)  # refused before any frame
        assert (busy_stream.status_code, busy_stream.json()["error"]["code"]) == (
            409,
            "session_busy",
        )
        assert (await first).status_code == 200
        streamed = await c.post("/chat/stream", json={"session_id": "b", "message": "谢谢"})
        assert streamed.status_code == 200  # free again once the first run ended


@pytest.mark.parametrize("key", ["", "   ", "\n"])
def test_an_empty_api_key_is_refused_not_an_open_api(key: str) -> None:
    # api_key=os.environ.get("TOKEN", "") must not quietly serve the agent to anyone.
    with pytest.raises(UserError, match="api_key is empty"):
        chat_app(weather_agent(), api_key=key)


async def test_an_api_key_read_with_its_newline_still_matches() -> None:
    app = chat_app(weather_agent(), api_key="s3cret\n")  # as open("token").read() gives it
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for token, status in (("s3cret", 200), ("", 401), ("s3cret2", 401)):
            headers = {"authorization": f"Bearer {token}".strip()}
            r = await c.post("/chat", json={"message": "hi"}, headers=headers)
            assert r.status_code == status


async def test_a_wrong_method_is_a_405_naming_the_allowed_ones(http: httpx.AsyncClient) -> None:
    for method, path, allowed in (
        ("GET", "/chat", "POST"),
        ("PUT", "/chat/stream", "POST"),
        ("DELETE", "/sessions/a", "GET"),
        ("GET", "/sessions/a/approve", "POST"),
    ):
        r = await http.request(method, path)
        assert r.status_code == 405
        assert r.json()["error"]["code"] == "method_not_allowed"
        assert allowed in r.headers["allow"].split(", ")  # RFC 9110: a 405 carries Allow


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"store": "chat.db"},
            "store must be a session store such as SQLiteStore('chat.db'), got str",
        ),
        ({"max_body_bytes": "1mb"}, "max_body_bytes must be a positive int, got '1mb'"),
        ({"max_message_chars": 10.5}, "max_message_chars must be a positive int, got 10.5"),
        ({"max_message_chars": 0}, "max_message_chars must be a positive int, got 0"),
        ({"api_key": 123}, "api_key must be a str (the token), got int"),
    ],
)
def test_bad_options_are_user_errors_when_the_app_is_built(
    options: dict[str, Any], message: str
) -> None:
    # A path as store used to build an app whose every request was a 500.
    with pytest.raises(UserError) as caught:
        chat_app(weather_agent(), **options)
    assert str(caught.value) == message
