"""The emulator served by uvicorn on loopback answers real HTTP requests, faults included."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from agentkit.testing import FAULT_HEADER, EmulatorServer

BODY = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hello there"}]}
HEADERS = {"Authorization": "Bearer k"}


@pytest.fixture(scope="module")
def server() -> EmulatorServer:
    with EmulatorServer(api_keys=["k"]) as running:
        yield running  # type: ignore[misc]


def test_plain_stream_and_models(server: EmulatorServer) -> None:
    assert server.port > 0 and server.base_url.endswith(f":{server.port}/v1")
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as http:
        r = http.post("/chat/completions", json=BODY)
        assert (
            r.status_code == 200 and "hello there" in r.json()["choices"][0]["message"]["content"]
        )
        r = http.post("/chat/completions", json={**BODY, "stream": True})
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.text.rstrip().endswith("data: [DONE]")
        assert http.get("/models").json()["data"][0]["id"] == "gpt-5.4-mini"
        assert http.get("/models", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert http.post("/chat/completions", content=b"{").status_code == 400


def test_faults_over_real_http(server: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    with httpx.Client(base_url=server.base_url, headers=HEADERS) as http:
        r = http.post("/chat/completions", json=BODY, headers={FAULT_HEADER: "429;retry-after=0"})
        assert r.status_code == 429 and r.headers["retry-after"] == "0"
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/chat/completions", json=BODY, headers={FAULT_HEADER: "drop"})
        received = []
        with (
            pytest.raises(httpx.RemoteProtocolError),
            http.stream(
                "POST",
                "/chat/completions",
                json={**BODY, "stream": True},
                headers={FAULT_HEADER: "cut=2"},
            ) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
        assert len(received) == 2
        # the server keeps serving after dropped connections
        assert http.post("/chat/completions", json=BODY).status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_async_client_over_loopback(server: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS) as http:
        r = await http.post("/chat/completions", json=BODY, headers={FAULT_HEADER: "latency=0.05"})
        assert r.status_code == 200
        assert r.elapsed.total_seconds() >= 0.05


def test_health_needs_no_key(server: EmulatorServer) -> None:
    root = server.base_url.removesuffix("/v1")
    assert httpx.get(root + "/health").json() == {"status": "ok", "emulator": "agentkit"}


def test_serve_runs_a_blocking_server_in_another_process() -> None:
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"from agentkit.testing import serve; serve('127.0.0.1', {port}, api_keys=['k'])"
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions", json=BODY, headers=HEADERS
                )
                break
            except httpx.ConnectError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "serve() did not start"
                time.sleep(0.05)
        assert r.status_code == 200
        assert r.json()["choices"][0]["message"]["role"] == "assistant"
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr:
            process.stderr.close()


def test_loopback_round_trip_is_not_delayed_by_nagle(server: EmulatorServer) -> None:
    # a listening socket created without proto=IPPROTO_TCP leaves TCP_NODELAY off on accepted
    # connections, which costs ~40 ms per answer (delayed ACK); 30 requests show it plainly
    import time

    with httpx.Client(base_url=server.base_url, headers=HEADERS) as http:
        http.get("/models")
        start = time.perf_counter()
        for _ in range(30):
            http.post("/chat/completions", json=BODY)
        assert time.perf_counter() - start < 0.6


def test_serve_keeps_no_request_bodies_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # serve() runs until interrupted and nobody can read its Emulator's .requests: keeping
    # every body there grew a long-running server (or a benchmark's) by ~600 B a request.
    import uvicorn

    from agentkit.testing import serve

    served: list[object] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: served.append(self))
    serve("127.0.0.1", 0, api_keys=["k"])
    serve("127.0.0.1", 0, record_requests=True)
    apps = [server.config.app for server in served]  # type: ignore[attr-defined]
    assert [app.record_requests for app in apps] == [False, True]
    assert apps[0].api_keys == {"k"}
