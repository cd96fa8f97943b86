"""`agentkit serve module:agent`: the API and the page from one command, offline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentkit.sessions import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]


def test_serve_runs_the_weather_agent_offline(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "AGENTKIT_API_KEY"}
    cmd = [
        sys.executable,
        "-m",
        "agentkit",
        "serve",
        "examples/weather_agent.py:agent",
        "--port",
        str(port),
        "--scenarios",
        "examples/scenarios",
        "--auth-token",
        "t",
        "--store",
        str(tmp_path / "chat.db"),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert "<title>agentkit chat</title>" in httpx.get(url + "/").text
        body = {"session_id": "cli", "message": "查询北京天气"}
        assert httpx.post(url + "/chat", json=body).status_code == 401
        answer = httpx.post(url + "/chat", json=body, headers={"authorization": "Bearer t"})
        assert answer.json()["output"] == "北京今天晴，气温 25°C。"
        # DNS rebinding: another site's name pointed at 127.0.0.1 is not answered.
        auth = {"authorization": "Bearer t"}
        rebound = httpx.post(url + "/chat", json=body, headers={**auth, "host": "evil.example"})
        assert rebound.status_code == 400
        assert rebound.json()["error"]["code"] == "bad_host"
        local = httpx.get(url + "/health", headers={"host": f"localhost:{port}"})
        assert local.status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "offline emulator" in err
    store = SQLiteStore(tmp_path / "chat.db")  # the conversation outlives the server
    try:
        assert [m["role"] for m in store.session("cli").messages()] == [
            "user",
            "assistant",
            "tool",
            "assistant",
        ]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--auth-token", ""], {}), ([], {"AGENTKIT_SERVE_TOKEN": ""}), (["--auth-token", " "], {})],
)
def test_an_empty_auth_token_is_a_usage_error_not_an_open_server(
    args: list[str], env: dict[str, str]
) -> None:
    # `--auth-token "$TOKEN"` with TOKEN unset must not serve the tools to anyone.
    command = [sys.executable, "-m", "agentkit", "serve", "examples/weather_agent.py:agent"]
    proc = subprocess.run(
        [*command, "--port", "0", *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--auth-token (or AGENTKIT_SERVE_TOKEN) is empty" in proc.stderr
    assert "Ctrl-C" not in proc.stderr  # refused before anything listens
