"""The ``agentkit`` command line: every command, offline and against a loopback server, and
its errors (exit code 2 for usage errors, 1 for runtime errors, never a traceback)."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from agentkit import _demo
from agentkit.cli import main
from agentkit.testing import EmulatorServer

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = "using the offline emulator"


def run_cli(
    *args: str, stdin: str = "", cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m agentkit ...`` in a subprocess (the environment is already offline)."""
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        timeout=60,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def tools_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An importable module of tools, agents and other objects for ``module:attr``."""
    name = f"cli_fixture_{os.getpid()}_{time.monotonic_ns()}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            '''
            from agentkit import tool
            from agentkit.agent import Agent

            @tool
            def add(a: int, b: int) -> int:
                """Add two integers.

                Args:
                    a: The first.
                    b: The second.
                """
                return a + b

            def shout(text: str) -> str:
                """Upper-case a text."""
                return text.upper()

            def untyped(x):
                return x

            both = [add, shout]
            number = 42
            agent = Agent(instructions="Be brief.", tools=[add])
            '''
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


# --------------------------------------------------------------------------- demo


def test_demo_runs_offline_and_shows_call_result_and_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert OFFLINE in err
    lines = out.splitlines()
    assert lines[0] == "> 查询北京天气"
    assert lines[1] == '[tool call] get_weather({"city":"北京"})'
    assert lines[2].startswith("[tool result] get_weather: ")
    assert json.loads(lines[2].split(": ", 1)[1]) == _demo.get_weather("北京")
    assert lines[3] == "北京今天晴，气温 25°C（agentkit 演示数据）。"


def test_demo_takes_another_city(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "查询上海天气"]) == 0
    out = capsys.readouterr().out
    assert '{"city":"上海"}' in out
    assert "上海今天多云，气温 27°C" in out


def test_python_dash_m_agentkit_demo() -> None:
    proc = run_cli("demo")
    assert proc.returncode == 0, proc.stderr
    assert "[tool call] get_weather" in proc.stdout
    assert "北京今天晴" in proc.stdout
    assert proc.stderr.strip().splitlines() == [
        "agentkit: no AGENTKIT_API_KEY set; using the offline emulator, not a real model"
    ]


def test_console_script_exists_and_works() -> None:
    script = Path(sys.executable).with_name("agentkit")
    if not script.exists():
        pytest.skip("the agentkit console script is not installed in this environment")
    proc = subprocess.run(
        [str(script), "models"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["gpt-5.4-mini"]


# --------------------------------------------------------------------------- models, schema


def test_models_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == ["gpt-5.4-mini"]
    assert OFFLINE in err


def test_schema_prints_the_tool_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "agentkit._demo:get_weather"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == _demo.get_weather.to_openai()
    assert err == ""  # no client is needed, so no emulator notice


def test_schema_of_plain_function_and_list(
    tools_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", f"{tools_module}:shout"]) == 0
    shout = json.loads(capsys.readouterr().out)
    assert shout["function"]["name"] == "shout"
    assert shout["function"]["parameters"]["required"] == ["text"]
    assert main(["schema", f"{tools_module}:both"]) == 0
    names = [d["function"]["name"] for d in json.loads(capsys.readouterr().out)]
    assert names == ["add", "shout"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("no_colon", "must look like 'module:attr'"),
        ("agentkit_no_such_module:x", "no module named 'agentkit_no_such_module'"),
        ("agentkit._demo:nope", "has no attribute 'nope'"),
        ("agentkit._demo:DEMO_PROMPT", "is a str, not a tool"),
        ("agentkit:_demo", "is a module, not a tool"),
    ],
)
def test_schema_usage_errors(spec: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", spec]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("agentkit: error: ")
    assert expected in err
    assert "Traceback" not in err


def test_schema_of_untyped_function_is_a_usage_error(
    tools_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", f"{tools_module}:untyped"]) == 2
    err = capsys.readouterr().err
    assert "untyped" in err and "Traceback" not in err


def test_module_that_fails_to_import_is_a_runtime_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cli_boom_mod.py").write_text("raise RuntimeError('kaboom')\n")
    (tmp_path / "cli_needs_dep.py").write_text("import agentkit_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["schema", "cli_boom_mod:f"]) == 1
    assert "importing 'cli_boom_mod' failed: RuntimeError: kaboom" in capsys.readouterr().err
    # A module that exists but lacks a dependency is not "no module named <target>".
    assert main(["schema", "cli_needs_dep:f"]) == 1
    assert "agentkit_missing_dependency" in capsys.readouterr().err


def test_module_from_a_file_path(tmp_path: Path) -> None:
    tools = tmp_path / "my tools.py"
    tools.write_text(
        "from agentkit import tool\n\n@tool\ndef ping(host: str) -> str:\n"
        '    """Ping a host."""\n    return host\n'
    )
    proc = run_cli("schema", f"{tools}:ping")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["function"]["description"] == "Ping a host."
    proc = run_cli("schema", f"{tmp_path / 'missing.py'}:ping")
    assert proc.returncode == 2
    assert "no such file" in proc.stderr


# --------------------------------------------------------------------------- run


def test_run_streams_an_agent(tools_module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{tools_module}:agent", "add 2 and 3"]) == 0
    out, err = capsys.readouterr()
    assert OFFLINE in err
    assert "[tool call] add(" in out
    assert "[tool result] add: 5" in out
    assert out.endswith("\n")


def test_run_json_prints_the_run_result(
    tools_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--json", f"{tools_module}:agent", "add 2 and 3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"output", "messages", "usage", "tool_failures", "notes"}
    assert isinstance(data["output"], str)
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert data["messages"][2]["content"] == "5"
    assert data["usage"]["requests"] == 2 and data["usage"]["tool_calls"] == 1


def test_run_reads_the_prompt_from_stdin(
    tools_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("你好\n"))
    assert main(["run", "--json", f"{tools_module}:agent"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["messages"][0] == {"role": "user", "content": "你好"}


def test_run_without_prompt_is_a_usage_error(
    tools_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["run", f"{tools_module}:agent"]) == 2
    assert "no prompt" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("attr", "expected"),
    [("add", "is a Tool, not an agentkit Agent"), ("number", "is an int, not an agentkit Agent")],
)
def test_run_needs_an_agent(
    tools_module: str, attr: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", f"{tools_module}:{attr}", "hi"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert expected in err
    assert OFFLINE not in err  # the target is checked before any client is built


def test_run_the_weather_example_from_its_file() -> None:
    proc = run_cli("run", "examples/weather_agent.py:agent", "查询上海天气")
    assert proc.returncode == 0, proc.stderr
    assert '[tool call] get_weather({"city":"上海"})' in proc.stdout
    assert "多云" in proc.stdout


# --------------------------------------------------------------------------- chat


def test_chat_keeps_history_and_shows_tools(
    tools_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("add 2 and 3\n\n你好\n/exit\nnever sent\n"))
    seen: list[int] = []
    from agentkit.agent import Agent

    original = Agent.stream_sync

    def spy(self: Agent[str], prompt: str, **kwargs: object) -> object:
        seen.append(len(kwargs["history"]))  # type: ignore[arg-type]
        return original(self, prompt, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Agent, "stream_sync", spy)
    code = main(["chat", "--tools", f"{tools_module}:add", "--instructions", "Be brief."])
    assert code == 0
    out, err = capsys.readouterr()
    assert OFFLINE in err
    assert "[tool call] add(" in out and "[tool result] add: 5" in out
    assert "你好" in out
    assert seen == [0, 4]  # the second turn carried the first turn's four messages
    assert "never sent" not in out


def test_chat_rejects_a_bad_tool_before_starting(
    tools_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "--tools", f"{tools_module}:agent"]) == 2
    err = capsys.readouterr().err
    assert "is an Agent, not a tool" in err


def test_chat_with_an_agent(
    tools_module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("add 4 and 5\n"))
    assert main(["chat", "--agent", f"{tools_module}:agent"]) == 0
    assert "[tool result] add: 9" in capsys.readouterr().out
    assert main(["chat", "--agent", f"{tools_module}:agent", "--tools", "x:y"]) == 2
    assert "do not combine" in capsys.readouterr().err
    assert main(["chat", "--agent", f"{tools_module}:add"]) == 2
    assert "not an agentkit Agent" in capsys.readouterr().err


def test_chat_subprocess_reads_stdin_until_eof() -> None:
    proc = run_cli("chat", "--tools", "agentkit._demo:get_weather", stdin="查询北京天气\n")
    assert proc.returncode == 0, proc.stderr
    assert '[tool call] get_weather({"city":"北京"})' in proc.stdout


# --------------------------------------------------------------------------- connection errors


def test_no_emulator_without_key_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-emulator", "models"]) == 2
    assert "--no-emulator was given but AGENTKIT_API_KEY is not set" in capsys.readouterr().err
    # The option is also accepted after the command.
    assert main(["models", "--no-emulator"]) == 2


def test_base_url_without_key_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-url", "http://127.0.0.1:1/v1", "models"]) == 2
    assert "--base-url needs AGENTKIT_API_KEY" in capsys.readouterr().err


def test_unreachable_server_is_a_runtime_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_API_KEY", "sk-test-secret")
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert main(["--base-url", url, "models"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"cannot reach the API at {url}" in err
    assert "sk-test-secret" not in err
    assert "Traceback" not in err


@pytest.mark.agentkit_emulator(api_keys=["good-key"])
def test_real_api_path_with_a_key(
    emulator_server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTKIT_API_KEY", "good-key")
    assert main(["--base-url", emulator_server.base_url, "--no-emulator", "models"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == ["gpt-5.4-mini"]
    assert err == ""  # a key was set: no offline notice
    assert main(["demo", "--base-url", emulator_server.base_url]) == 0
    assert "[tool call] get_weather" in capsys.readouterr().out


@pytest.mark.agentkit_emulator(api_keys=["good-key"])
def test_rejected_key_is_a_runtime_error(
    emulator_server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTKIT_API_KEY", "wrong-key")
    assert main(["--base-url", emulator_server.base_url, "demo"]) == 1
    err = capsys.readouterr().err
    assert "rejected the key" in err and "AGENTKIT_API_KEY" in err
    assert "wrong-key" not in err
    assert "Traceback" not in err


def test_offline_flag_forces_the_emulator_even_with_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTKIT_API_KEY", "sk-would-be-real")
    assert main(["--offline", "models"]) == 0
    assert OFFLINE in capsys.readouterr().err


# --------------------------------------------------------------------------- emulator


def test_emulator_command_serves_http() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit", "emulator", "--port", str(port), "--api-key", "k1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/models"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(url, headers={"Authorization": "Bearer k1"}, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.json()["data"][0]["id"] == "gpt-5.4-mini"
        denied = httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=2)
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "invalid_api_key"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/v1" in err
    assert "not a real model" in err


def test_emulator_command_without_uvicorn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a)
    )
    assert main(["emulator", "--port", "1"]) == 1
    assert "pip install 'agentkit-lean[emulator]'" in capsys.readouterr().err


def test_emulator_command_rejects_bad_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}')
    assert main(["emulator", "--scenarios", str(bad)]) == 2
    assert "match" in capsys.readouterr().err


# --------------------------------------------------------------------------- misc


def test_no_command_prints_help_and_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: agentkit" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_startup_imports_nothing_heavy() -> None:
    code = (
        "import sys, agentkit; before = set(sys.modules); import agentkit.cli; "
        "new = sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in ('agentkit', 'uvicorn', 'jinja2', 'httpx', 'pydantic')); "
        "print(','.join(new))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "agentkit.cli"


# ----------------------------------------------------------------------------- new-user fixes


def _pty_chat(keys: list[bytes], *args: str, cwd: Path = ROOT) -> str:
    """Run ``agentkit chat`` on a pseudo-terminal, type ``keys`` (each after the prompt),
    and return everything the terminal showed."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, with the pty as its terminal
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "agentkit", "chat", *args],
                  {**os.environ, "PYTHONIOENCODING": "utf-8", "TERM": "xterm"})  # fmt: skip
    shown = b""

    def read(prompts: int, timeout: float = 30.0) -> None:
        """Read until ``prompts`` prompts have been shown, the child exited, or time ran out."""
        nonlocal shown
        deadline = time.monotonic() + timeout
        while shown.count(b"you> ") < prompts and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    shown += os.read(fd, 4096)
                except OSError:  # the child has exited and the pty is closed
                    return

    try:
        for typed, key in enumerate(keys):
            read(typed + 1)  # the prompt for this line is on the screen
            os.write(fd, key)
        read(len(keys) + 1, timeout=5.0)  # the rest, until the child exits
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, shown.decode("utf-8", "replace")
    return shown.decode("utf-8", "replace")


def test_chat_under_a_terminal_ignores_blank_lines_and_handles_commands_locally() -> None:
    shown = _pty_chat([b"\r", b"/help\r", b"hello\r", b"/reset\r", b"\x04"])
    assert "/help lists the commands" in shown
    assert "forget the conversation" in shown  # /help answered locally
    assert "(conversation forgotten)" in shown
    # The blank line did not end the chat: the model answered "hello" after it.
    assert "You said: hello\r\n" in shown
    assert "You said: /help" not in shown and "You said: /reset" not in shown


def test_chat_under_a_terminal_has_line_editing_and_history() -> None:
    # "helo", left arrow, "l": readline edits it into "hello"; then up arrow recalls it.
    # Without readline the terminal would echo ^[[D and the model get the escape sequence.
    shown = _pty_chat([b"helo\x1b[Dl\r", b"\x1b[A\r", b"\x04"])
    assert shown.count("You said: hello\r\n") == 2, shown
    assert "^[[" not in shown


def test_chat_shows_a_failing_tool_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(
        "from agentkit import tool\n\n@tool\ndef add(a: int, b: int) -> int:\n"
        "    '''Add.'''\n    raise ValueError('kaboom')\n"
    )
    proc = run_cli("chat", "--tools", "./boom.py:add", stdin="add 1 and 2\n", cwd=tmp_path)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr
    assert "agentkit: error: tool 'add'" in proc.stderr and "(ValueError: kaboom)" in proc.stderr
    debug = run_cli("--debug", "chat", "--tools", "./boom.py:add", stdin="add 1 and 2\n",
                    cwd=tmp_path)  # fmt: skip
    assert "Traceback" in debug.stderr and "kaboom" in debug.stderr


def test_a_user_file_does_not_replace_a_stdlib_module(tmp_path: Path) -> None:
    (tmp_path / "json.py").write_text(
        "from agentkit.agent import Agent\n\nagent = Agent(instructions='hi')\n"
    )
    # By path, from elsewhere: `python -m` would put the file's folder first on the path
    # itself; the loader must not register the file as the module `json`.
    proc = run_cli("run", "--json", f"{tmp_path}/json.py:agent", "hello")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["output"]


def test_subcommand_usage_errors_show_the_subcommand_usage() -> None:
    proc = run_cli("demo", "--bogus")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: agentkit demo") and "--bogus" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["emulator", "--port", "99999"], "must be a TCP port 0-65535"),
        (["chat", "--timeout", "0"], "must be a number of seconds > 0"),
        (["run", "--var", "no-equals", "m:a", "x"], "must look like KEY=VALUE"),
        (["serve", "m:a", "--port", "99999"], "argument --port: must be a TCP port 0-65535"),
        (["serve", "m:a", "--port", "-1"], "argument --port: must be a TCP port 0-65535"),
        (["serve", "m:a", "--log-level", "bogus"], "(choose from 'critical', 'error', 'warning'"),
        (["emulator", "--log-level", "bogus"], "argument --log-level: invalid choice: 'bogus'"),
        (["chat", "--mcp-url", "ftp://x"], "--mcp-url: MCPServer.http needs an http:// or"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(args: list[str], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("command", "path", "probe"),
    [
        (["emulator"], "/v1", "/v1/models"),
        (["serve", "examples/weather_agent.py:agent"], "/", "/health"),
    ],
)
def test_port_zero_prints_the_real_port_and_a_busy_port_is_a_clear_error(
    command: list[str], path: str, probe: str
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit", *command, "--port", "0"],
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        banner = next(line for line in proc.stderr if "Ctrl-C stops it" in line)
        found = re.search(rf"http://127\.0\.0\.1:(\d+){path} ", banner)
        assert found is not None, banner
        port = int(found.group(1))
        assert port != 0
        # The socket listens before the banner: no retry loop is needed.
        assert httpx.get(f"http://127.0.0.1:{port}{probe}").status_code in (200, 401)
        busy = run_cli(*command, "--port", str(port))
        assert busy.returncode == 1
        # One line, and no banner: it is printed only once the port is bound.
        assert busy.stderr.splitlines()[-1:] == [
            f"agentkit: error: port {port} on 127.0.0.1 is in use; pick another with --port"
        ]
        assert "Ctrl-C" not in busy.stderr and "Traceback" not in busy.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_log_levels_are_uvicorns() -> None:
    from uvicorn.config import LOG_LEVELS

    from agentkit.cli.parser import _LOG_LEVELS

    assert tuple(LOG_LEVELS) == _LOG_LEVELS


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "examples/weather_agent.py:agent", "--port", "0"],
        ["chat", "--session", "me"],
    ],
)
def test_a_store_in_a_missing_folder_is_a_one_line_usage_error(
    command: list[str], tmp_path: Path
) -> None:
    store = tmp_path / "missing" / "chat.db"
    proc = run_cli(*command, "--store", str(store), stdin="hello\n")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        f"agentkit: error: --store {str(store)!r}: no such directory {str(store.parent)!r}"
    )
    assert "Traceback" not in proc.stderr and "Ctrl-C" not in proc.stderr


def test_a_store_that_cannot_be_opened_is_a_one_line_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()  # a directory where the database file should be
    proc = run_cli("chat", "--session", "me", "--store", str(folder), stdin="hello\n")
    assert proc.returncode == 2
    assert f"agentkit: error: --store {str(folder)!r}: cannot open it" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_chat_catches_unknown_commands_and_sends_paths_to_the_model() -> None:
    lines = "/bogus\n/etc/hosts is what?\n/ 2\nhello\n"
    proc = run_cli("chat", stdin=lines)
    assert proc.returncode == 0, proc.stderr
    assert "agentkit: unknown command /bogus; /help lists them\n" in proc.stderr
    said = re.findall(r"You said: (.*)", proc.stdout)
    assert said == ["/etc/hosts is what?", "/ 2", "hello"]  # /bogus never reached the model


def test_vars_and_deps_reach_the_run(tmp_path: Path) -> None:
    (tmp_path / "bot.py").write_text(
        textwrap.dedent(
            '''
            from agentkit import RunContext, Template, tool
            from agentkit.agent import Agent

            class Shop:
                name = "Lin's"

            def make_shop() -> Shop:
                return Shop()

            @tool
            def shop_name(ctx: RunContext[Shop]) -> str:
                """The shop's name."""
                return ctx.deps.name

            agent = Agent(instructions=Template("You serve {{ shop }}."), tools=[shop_name])
            '''
        )
    )
    proc = run_cli("run", "--json", "--var", "shop=Lin", "--deps", "./bot.py:make_shop",
                   "./bot.py:agent", "call shop_name", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    tool_results = [m["content"] for m in result["messages"] if m["role"] == "tool"]
    assert tool_results == ["Lin's"]
    missing = run_cli("run", "./bot.py:agent", "hi", cwd=tmp_path)
    assert missing.returncode != 0 or "shop" in missing.stderr


def test_an_agent_and_its_deps_factory_from_one_file_share_its_classes(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass
            from agentkit import Agent

            @dataclass
            class Shop:
                name: str

            def make_shop() -> Shop:
                return Shop("Kiosk")

            agent = Agent(deps_type=Shop, instructions=lambda ctx: f"You work at {ctx.deps.name}")
            """
        )
    )
    # Two spellings of one file: loaded once, so deps_type is the factory's own Shop.
    proc = run_cli("run", "--deps", f"{tmp_path}/shop.py:make_shop", "./shop.py:agent", "hi",
                   cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "deps_type" not in proc.stderr


def test_a_file_is_loaded_once_per_process(tmp_path: Path) -> None:
    from agentkit.cli.loading import load

    (tmp_path / "counted.py").write_text("class Thing: pass\n")
    first = load(f"{tmp_path}/counted.py:Thing", "agent")
    again = load(f"{tmp_path}/./counted.py:Thing", "--deps")
    assert first is again


def test_model_text_cannot_drive_the_terminal() -> None:
    from agentkit.cli import clean

    assert clean("red \x1b[31mtext\x1b[0m\x07 \x9b2J ok\n\ttab") == "red [31mtext[0m 2J ok\n\ttab"


def test_http_errors_name_the_status_once(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from agentkit.cli import _describe
    from agentkit.errors import APIStatusError

    exc = APIStatusError("HTTP 404 (model not found)", status_code=404)
    text = _describe(exc, argparse.Namespace(base_url="http://x/v1"))
    assert text == "the API at http://x/v1 answered HTTP 404: model not found"


def test_schema_of_a_non_tool_has_no_pydantic_hint(tmp_path: Path) -> None:
    (tmp_path / "odd.py").write_text(
        "class Thing: ...\n\ndef use(t: Thing) -> None:\n    '''Use it.'''\n"
    )
    proc = run_cli("schema", "./odd.py:use", cwd=tmp_path)
    assert proc.returncode == 2
    assert "arbitrary_types_allowed" not in proc.stderr and "'t'" in proc.stderr
    (tmp_path / "bare.py").write_text("def bare(a: int) -> None:\n    pass\n")
    proc = run_cli("schema", "./bare.py:bare", cwd=tmp_path)
    assert proc.returncode == 0
    assert "warning: Tool 'bare'" in proc.stderr and "no description" in proc.stderr


def test_chat_session_keeps_the_conversation_across_invocations(tmp_path: Path) -> None:
    from agentkit.cli import DEFAULT_CHAT_STORE
    from agentkit.sessions import SQLiteStore

    tools = ("--tools", "agentkit._demo:get_weather")
    first = run_cli("chat", *tools, "--session", "me", stdin="查询北京天气\n", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_cli("chat", *tools, "--session", "me", stdin="上海呢？\n", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    other = tmp_path / "other.db"
    third = run_cli("chat", *tools, "--session", "me", "--store", str(other), stdin="你好\n")
    assert third.returncode == 0, third.stderr
    store = SQLiteStore(tmp_path / DEFAULT_CHAT_STORE)
    try:
        stored = store.session("me").messages()
    finally:
        store.close()
    asked = [m["content"] for m in stored if m["role"] == "user"]
    assert asked == ["查询北京天气", "上海呢？"]  # the second run continued the first
    assert stored[-1]["role"] == "assistant" and stored[-1]["content"]
    store = SQLiteStore(other)
    try:
        assert [m["content"] for m in store.session("me").messages()][:1] == ["你好"]
    finally:
        store.close()
    assert main(["chat", "--store", str(other)]) == 2  # --store alone means nothing


_SHOP = '''
from pathlib import Path
from agentkit import Agent, tool


@tool(needs_approval=True)
def refund(order_id: str) -> str:
    """Refund an order.

    Args:
        order_id: The order, e.g. ORD1.
    """
    with open(Path(__file__).with_name("refunds.txt"), "a") as f:
        f.write(order_id + "\\n")
    return "refunded " + order_id


agent = Agent(tools=[refund])
'''
_REFUND_SCENARIO = {
    "name": "refund",
    "description": "refund an order",
    "match": {"regex": "退款\\s*(?P<order>ORD\\d+)"},
    "tool_calls": [{"name": "refund", "arguments": {"order_id": "{{ groups.order }}"}}],
    "reply": "{{ result }}",
}


@pytest.mark.parametrize("session", [[], ["--session", "me"]])
def test_chat_asks_before_a_tool_that_needs_approval(tmp_path: Path, session: list[str]) -> None:
    # Before, the run paused silently: nothing was shown, the refund never ran, and the
    # model was told on the next line that the call had been interrupted.
    (tmp_path / "shop.py").write_text(_SHOP, encoding="utf-8")
    (tmp_path / "refund.json").write_text(json.dumps([_REFUND_SCENARIO]), encoding="utf-8")
    lines = "请退款 ORD1\ny\n请退款 ORD2\nn\n"
    args = ("chat", "--agent", "./shop.py:agent", "--scenarios", "refund.json", *session)
    proc = run_cli(*args, stdin=lines, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("[approval needed] refund(") == 2
    assert "[tool result] refund: refunded ORD1" in proc.stdout
    assert "refused by the user" in proc.stdout
    assert (tmp_path / "refunds.txt").read_text().split() == ["ORD1"]
    if not session:
        return
    # The input ends while a call waits: it stays in the session, asked about next time.
    assert run_cli(*args, stdin="请退款 ORD3\n", cwd=tmp_path).returncode == 0
    assert run_cli(*args, stdin="/exit\n", cwd=tmp_path).returncode == 0  # not a "no"
    assert (tmp_path / "refunds.txt").read_text().split() == ["ORD1"]
    later = run_cli(*args, stdin="y\n", cwd=tmp_path)
    assert later.returncode == 0, later.stderr
    assert "[approval needed] refund(" in later.stdout
    assert (tmp_path / "refunds.txt").read_text().split() == ["ORD1", "ORD3"]
