"""Every example runs offline (no key: the in-process emulator) and prints what it claims."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTICE = "agentkit: no AGENTKIT_API_KEY set; using the offline emulator, not a real model"


def run_example(name: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert NOTICE in proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_weather_agent() -> None:
    lines = run_example("weather_agent.py").stdout.splitlines()
    assert lines == [
        "> 查询北京天气",
        '[tool call] get_weather({"city":"北京"})',
        '[tool result] {"city":"北京","condition":"晴","temperature_c":25}',
        "北京今天晴，气温 25°C。",
        lines[4],
    ]
    assert lines[4].startswith("(requests: 2, tool calls: 1, tokens: ")


def test_weather_agent_other_city() -> None:
    out = run_example("weather_agent.py", "上海天气怎么样").stdout
    assert '{"city":"上海"}' in out
    assert "上海今天多云，气温 27°C。" in out


def test_order_agent_prints_a_validated_order() -> None:
    proc = run_example("order_agent.py")
    assert json.loads(proc.stdout) == {
        "order_id": "ORD20260604001",
        "amount": 99.9,
        "status": "paid",
    }
    assert "ORD20260604001: 99.90 元, paid" in proc.stderr


def test_order_agent_other_text() -> None:
    proc = run_example("order_agent.py", "订单 ORD20260605002 金额 15 元，已发货")
    assert json.loads(proc.stdout) == {
        "order_id": "ORD20260605002",
        "amount": 15,
        "status": "shipped",
    }


def test_vision_agent_sends_a_png_image_part() -> None:
    lines = run_example("vision_agent.py").stdout.splitlines()
    assert lines[0].startswith("sent a 'image' part: data:image/png;base64,iVBORw0KGgo")
    # The emulator cannot see images; it confirms one arrived and says so honestly.
    assert "收到 1 张图片" in "\n".join(lines[1:])


def test_vision_agent_png_is_valid() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from vision_agent import make_png
    finally:
        sys.path.remove(str(EXAMPLES))
    import struct
    import zlib

    data = make_png(8, 8)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, kinds, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        kinds.append(kind)
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    assert len(zlib.decompress(idat)) == 8 * (1 + 8 * 3)


def test_chat_repl_reads_stdin_and_keeps_history(tmp_path: Path) -> None:
    saved = tmp_path / "history.json"
    proc = run_example("chat_repl.py", str(saved), stdin="查询北京天气\n\n谢谢\n")
    assert proc.stdout.splitlines() == [
        "you> 查询北京天气",
        'bot> [get_weather({"city":"北京"})] 北京今天晴，气温 25°C。',
        "you> 谢谢",
        "bot> 不客气！还有别的想查的吗？",
        "(6 messages in history)",
    ]
    history = json.loads(saved.read_text(encoding="utf-8"))
    assert [m["role"] for m in history] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]


def test_chat_repl_with_empty_input() -> None:
    assert run_example("chat_repl.py", stdin="").stdout == "(0 messages in history)\n"


# --------------------------------------------------------------------------- service.py


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import service as module

    yield module
    for name in ("service", "weather_agent"):
        sys.modules.pop(name, None)


@pytest.fixture
async def http(
    service: Any, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[httpx.AsyncClient]:
    app = service.create_app()
    assert NOTICE in capsys.readouterr().err
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        yield client


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_service_health(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_service_chat_and_history(http: httpx.AsyncClient) -> None:
    first = await http.post("/chat", json={"session_id": "u1", "message": "查询北京天气"})
    assert first.status_code == 200
    body = first.json()
    assert body["output"] == "北京今天晴，气温 25°C。"
    assert body["usage"]["tool_calls"] == 1
    second = await http.post("/chat", json={"session_id": "u1", "message": "谢谢"})
    assert second.json()["output"] == "不客气！还有别的想查的吗？"
    stored = (await http.get("/sessions/u1")).json()["messages"]
    assert len(stored) == 6


async def test_service_streams_server_sent_events(http: httpx.AsyncClient) -> None:
    async with http.stream("POST", "/chat/stream", json={"message": "查询上海天气"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = (await response.aread()).decode()
    events = sse_events(text)
    kinds = [kind for kind, _ in events]
    started = events[kinds.index("tool_call_started")][1]
    assert (started["name"], started["arguments"]) == ("get_weather", '{"city":"上海"}')
    assert kinds.index("tool_call_started") < kinds.index("tool_call_result")
    assert kinds[-1] == "run_finished"
    streamed = "".join(data["text"] for kind, data in events if kind == "text_delta")
    assert streamed == events[-1][1]["result"]["output"] == "上海今天多云，气温 27°C。"


async def test_service_rejects_bad_requests(http: httpx.AsyncClient) -> None:
    bad_json = await http.post("/chat", content=b"not json")
    assert bad_json.status_code == 400
    assert "JSON" in bad_json.json()["error"]["message"]
    no_message = await http.post("/chat/stream", json={"text": "hi"})
    assert no_message.status_code == 400
    assert (await http.get("/chat")).status_code == 405
    assert (await http.get("/nowhere")).status_code == 404


async def test_service_reports_run_errors_in_the_stream(service: Any) -> None:
    from agentkit import Client
    from agentkit.testing import EmulatorTransport

    failing = Client(
        api_key="k",
        base_url="http://emulator/v1",
        transport=EmulatorTransport(faults="status=500"),
        max_retries=0,
    )
    app = service.create_app(service.build_agent(failing))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        streamed = await client.post("/chat/stream", json={"message": "查询北京天气"})
        plain = await client.post("/chat", json={"message": "查询北京天气"})
    assert [kind for kind, _ in sse_events(streamed.text)] == ["error"]
    assert "500" in sse_events(streamed.text)[0][1]["message"]
    assert plain.status_code == 502


async def test_service_keeps_each_conversation_in_the_session_store(
    service: Any, tmp_path: Path
) -> None:
    from agentkit.sessions import SQLiteStore

    async def post(store: Any, user: str, message: str) -> Any:
        app = service.create_app(store=store)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as c:
            response = await c.post("/chat", json={"session_id": user, "message": message})
            assert response.status_code == 200, response.text
            return (await c.get(f"/sessions/{user}")).json()["messages"]

    path = tmp_path / "service.db"
    store = SQLiteStore(path)
    await post(store, "u1", "查询北京天气")
    await post(store, "u2", "查询上海天气")
    store.close()
    restarted = SQLiteStore(path)  # a new process (or worker) on the same file
    try:
        seen = await post(restarted, "u1", "谢谢")
        assert [m["content"] for m in seen if m["role"] == "user"] == ["查询北京天气", "谢谢"]
        assert restarted.session("u1").messages() == seen
        assert sorted(restarted.list_sessions()) == ["u1", "u2"]
    finally:
        restarted.close()
