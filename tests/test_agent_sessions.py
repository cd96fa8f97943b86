"""Agent runs on sessions, in all four run modes, on the memory, SQLite and PostgreSQL
stores: what is loaded, what is saved, busy sessions, lost leases, cancellation, trimming,
other processes and many runs at once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _agent_support import MODES, assert_valid_history, run_mode
from _session_agents import child, lose, roles, weather_agent, weather_script
from pydantic import BaseModel
from test_sessions_conformance import _memory, _postgres, _sqlite

from agentkit import Agent, Hooks, tool
from agentkit._history import INTERRUPTED
from agentkit.client import Client
from agentkit.errors import RunTimeoutError, UserError
from agentkit.sessions import SessionBusyError, SessionLostError, SessionStore
from agentkit.sessions._core import WriteOp
from agentkit.testing import ScriptedModel
from agentkit.testing.session_conformance import StoreFactory

TURN = ["user", "assistant", "tool", "assistant"]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A fresh database of each backend (the conformance suite's factories)."""
    if request.param == "memory":
        return _memory()
    if request.param == "sqlite":
        return _sqlite(tmp_path / "sessions.db")
    return _postgres(request.getfixturevalue("postgres_dsn"))


@pytest.fixture(params=["sqlite", "postgres"])
def shared_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A fresh database that several processes can open."""
    if request.param == "sqlite":
        return _sqlite(tmp_path / "sessions.db")
    return _postgres(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
def store(factory: StoreFactory) -> Any:
    s = factory.open()
    yield s
    s.close()


@pytest.mark.parametrize("mode", MODES)
async def test_runs_load_the_history_and_save_each_message(store: SessionStore, mode: str) -> None:
    model = ScriptedModel(weather_script)
    agent = weather_agent(model)
    session = store.session("u1")
    first, _ = await run_mode(agent, mode, "查询北京天气", session=session)
    assert roles(session.messages()) == TURN
    assert session.messages() == first.messages  # no system message: instructions are not stored
    second, _ = await run_mode(agent, mode, "上海呢？", session=session)
    stored = session.messages()
    assert roles(stored) == TURN * 2 and stored == second.messages
    assert stored[4] == {"role": "user", "content": "上海呢？"}
    # The second run's first request carried the first run's history, after the instructions.
    sent = model.requests[2]["messages"]
    assert sent[0] == {"role": "system", "content": "你是天气助手"}
    assert sent[1:] == stored[:5]
    assert_valid_history(stored)


@pytest.mark.parametrize("mode", MODES)
async def test_session_and_history_together_is_a_user_error(store: SessionStore, mode: str) -> None:
    agent = weather_agent()
    with pytest.raises(UserError, match="either session= or history="):
        await run_mode(agent, mode, "hi", session=store.session("u"), history=[])
    assert store.session("u").messages() == []


@pytest.mark.parametrize("mode", MODES)
async def test_lone_surrogates_never_reach_a_session(store: SessionStore, mode: str) -> None:
    # Bytes read with errors="surrogateescape" hold lone surrogates, which no UTF-8 request
    # or database takes: a tool's result is sent with them escaped, a prompt is refused
    # before anything is stored, and the session stays usable either way.
    @tool
    def read_file(name: str) -> str:
        """Read a file.

        Args:
            name: The file.
        """
        return b"caf\xe9".decode("utf-8", "surrogateescape")

    def script(body: dict[str, Any]) -> Any:
        last = body["messages"][-1]
        if last["role"] == "tool":
            return f"it says {last['content']}"
        return {"tool_calls": [{"name": "read_file", "arguments": {"name": "a.txt"}}]}

    agent = weather_agent(ScriptedModel(script), tools=[read_file])
    session = store.session("u")
    result, _ = await run_mode(agent, mode, "read a.txt", session=session)
    assert result.output == "it says caf\\udce9"
    stored = session.messages()
    assert stored[2] == {"role": "tool", "tool_call_id": stored[1]["tool_calls"][0]["id"],
                         "content": "caf\\udce9"}  # fmt: skip
    with pytest.raises(UserError, match="lone surrogate"):
        await run_mode(agent, mode, "caf\udce9?", session=session)
    assert session.messages() == stored
    again, _ = await run_mode(agent, mode, "read a.txt again", session=session)
    assert again.output == "it says caf\\udce9"


async def test_a_run_saves_the_user_message_before_the_model_answers(
    store: SessionStore,
) -> None:
    session = store.session("u")
    seen: list[list[dict[str, Any]]] = []

    def script(body: dict[str, Any]) -> Any:
        seen.append(session.messages())
        return "好"

    await weather_agent(ScriptedModel(script)).run("你好", session=session)
    assert seen == [[{"role": "user", "content": "你好"}]]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n_calls", [1, 2])
async def test_a_tool_turn_is_stored_before_its_results_are_reported(
    store: SessionStore, mode: str, n_calls: int
) -> None:
    session = store.session("r")
    seen: list[list[str]] = []

    class Watch(Hooks):
        def on_tool_result(self, call: Any, content: str, is_error: bool) -> None:
            seen.append(roles(session.messages()))

    def script(body: dict[str, Any]) -> Any:
        if body["messages"][-1]["role"] == "tool":
            return "好"
        calls = [{"name": "get_weather", "arguments": {"city": c}, "id": f"c{c}"}
                 for c in ["北京", "上海"][:n_calls]]  # fmt: skip
        return {"tool_calls": calls}

    agent = weather_agent(ScriptedModel(script), hooks=Watch())
    result, _ = await run_mode(agent, mode, "查询天气", session=session)
    turn = ["user", "assistant", *["tool"] * n_calls]
    assert seen == [turn] * n_calls  # hooks (and the stream) see a turn already stored
    assert session.messages() == result.messages


@pytest.mark.parametrize("n_calls", [1, 2])
def test_a_tool_turn_writes_its_results_once(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch, n_calls: int
) -> None:
    """A run of one tool turn writes the prompt, the journaled tool call, each result as its
    call finishes — except in a turn of one call, which its commit stores at once — the
    turn, and the answer."""
    writes: list[str] = []
    write = store._sync.write

    def counted(held: Any, op: WriteOp) -> None:
        kind = "journal" if isinstance(op.journal, str) else "commit" if op.journal is None else ""
        writes.append(kind or "append")
        write(held, op)

    monkeypatch.setattr(store._sync, "write", counted)
    model = ScriptedModel(lambda body: "好" if body["messages"][-1]["role"] == "tool" else {
        "tool_calls": [{"name": "get_weather", "arguments": {"city": "北京"}, "id": f"c{i}"}
                       for i in range(n_calls)]})  # fmt: skip
    weather_agent(model).run_sync("查询北京天气", session=store.session("w"))
    results = ["journal"] * n_calls if n_calls > 1 else []
    assert writes == ["append", "journal", *results, "commit", "append"]


def _turn(call_id: str | None) -> list[dict[str, Any]]:
    call: dict[str, Any] = {
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"北京"}'},
    }
    if call_id is None:  # a call without an id needs no result (nor can it get one)
        return [{"role": "assistant", "content": None, "tool_calls": [call]}]
    return [{"role": "assistant", "content": None, "tool_calls": [{**call, "id": call_id}]},
            {"role": "tool", "tool_call_id": call_id, "content": "晴"}]  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ids", [["c1", "c2"], ["c1", "c1"], ["c1", None]])
async def test_a_run_on_a_session_sends_what_a_run_with_its_history_sends(
    store: SessionStore, mode: str, ids: list[str | None]
) -> None:
    """Stored ids a run would rename (used twice, missing) are renamed as for history=."""
    session = store.session("h")
    with session.lease() as lease:
        for n, call_id in enumerate(ids):
            lease.append([{"role": "user", "content": f"q{n}"}, *_turn(call_id)])
    history = session.messages()
    by_history, by_session = ScriptedModel(weather_script), ScriptedModel(weather_script)
    await run_mode(weather_agent(by_history), mode, "上海呢？", history=history)
    await run_mode(weather_agent(by_session), mode, "上海呢？", session=session)
    assert by_session.requests == by_history.requests
    assert_valid_history(by_session.requests[1]["messages"][1:])


def test_a_loaded_history_a_caller_changes_is_checked_again(store: SessionStore) -> None:
    session = store.session("c")
    weather_agent().run_sync("查询北京天气", session=session)
    with session.lease() as lease:
        history = lease.load()
    history.append(_turn("c1")[0])  # a tool call without its result
    model = ScriptedModel(weather_script)
    weather_agent(model).run_sync("上海呢？", history=history)
    assert_valid_history(model.requests[0]["messages"][1:])


def test_a_run_started_in_one_process_continues_in_another(
    shared_factory: StoreFactory,
) -> None:
    factory = shared_factory
    proc = child(
        factory,
        """
        r = weather_agent().run_sync("查询北京天气", session=store.session("m"))
        store.close()
        print(len(r.messages))
    """,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "4"
    store = factory.open()
    try:
        model = ScriptedModel(weather_script)
        result = weather_agent(model).run_sync("上海呢？", session=store.session("m"))
        assert roles(result.messages) == TURN * 2
        assert model.requests[0]["messages"][1]["content"] == "查询北京天气"
        assert roles(store.session("m").messages()) == TURN * 2
    finally:
        store.close()


@pytest.mark.parametrize("mode", MODES)
async def test_a_busy_session_raises_at_once_or_waits(store: SessionStore, mode: str) -> None:
    session = store.session("busy")
    with session.lease():
        start = time.monotonic()
        with pytest.raises(SessionBusyError):
            await run_mode(weather_agent(), mode, "hi", session=session)
        assert time.monotonic() - start < 1.0
        waiting = weather_agent(on_busy="wait", busy_timeout=0.3)
        start = time.monotonic()
        with pytest.raises(SessionBusyError, match="timed out"):
            await run_mode(waiting, mode, "hi", session=session)
        assert 0.25 < time.monotonic() - start < 3.0
    assert session.messages() == []

    release = threading.Event()

    def hold() -> None:
        with session.lease():
            held.set()
            release.wait(5)

    held = threading.Event()
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(0.2, release.set).start()
    start = time.monotonic()
    result, _ = await run_mode(
        weather_agent(on_busy="wait", busy_timeout=10), mode, "查询北京天气", session=session
    )
    holder.join()
    assert time.monotonic() - start >= 0.15
    assert session.messages() == result.messages and roles(result.messages) == TURN


@pytest.mark.parametrize("mode", MODES)
async def test_run_timeout_bounds_the_wait_for_a_busy_session(
    store: SessionStore, mode: str
) -> None:
    session = store.session("busy")
    with session.lease():  # held for good, as by a run that hangs
        for busy_timeout in (None, 10):
            agent = weather_agent(on_busy="wait", busy_timeout=busy_timeout, run_timeout=0.3)
            start = time.monotonic()
            with pytest.raises(RunTimeoutError, match="waiting for session 'busy'"):
                await run_mode(agent, mode, "hi", session=session)
            assert 0.25 < time.monotonic() - start < 3.0
        # busy_timeout shorter than run_timeout: the busy session is the error, as before.
        agent = weather_agent(on_busy="wait", busy_timeout=0.1, run_timeout=10)
        with pytest.raises(SessionBusyError, match="timed out"):
            await run_mode(agent, mode, "hi", session=session)
    assert session.messages() == []


async def test_run_timeout_counts_the_wait_for_the_session(store: SessionStore) -> None:
    @tool
    def slow(city: str) -> str:
        """Slow weather.

        Args:
            city: The city.
        """
        time.sleep(0.7)
        return "晴"

    model = ScriptedModel(lambda body: {"tool_calls": [
        {"name": "slow", "arguments": {"city": "北京"}, "id": "c1"}
    ]} if body["messages"][-1]["role"] == "user" else "好")  # fmt: skip
    agent = weather_agent(model, tools=[slow], on_busy="wait", run_timeout=1.0)
    session = store.session("busy")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session.lease():
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(0.6, release.set).start()
    start = time.monotonic()
    # 0.6 s waiting and 0.7 s in the tool: past the run's 1 s, though each part is within.
    with pytest.raises(RunTimeoutError):
        await asyncio.to_thread(agent.run_sync, "查询北京天气", session=session)
    holder.join()
    assert time.monotonic() - start < 2.5
    assert_valid_history(session.messages())


@pytest.mark.parametrize("mode", MODES)
async def test_a_run_whose_lease_was_lost_cannot_write(
    factory: StoreFactory, store: SessionStore, mode: str
) -> None:
    session = store.session("lost")

    @tool
    def get_weather(city: str) -> str:
        """The weather.

        Args:
            city: The city.
        """
        lose(factory, store, "lost")
        return "晴"

    agent = weather_agent(tools=[get_weather])
    with pytest.raises(SessionLostError):
        await run_mode(agent, mode, "查询北京天气", session=session)
    # What the run stored before it lost the lease stays; nothing after it, no fork.
    assert session.messages() == [{"role": "user", "content": "查询北京天气"}]
    if factory.name == "memory":
        return  # the memory store's taker keeps holding the session
    result, _ = await run_mode(weather_agent(), mode, "再试一次", session=session)
    # The turn it had journaled while it still held the lease is kept, its call answered
    # as interrupted (the result it computed after losing the lease was never written).
    assert roles(result.messages) == ["user", "assistant", "tool", *TURN]
    assert result.messages[2]["content"] == INTERRUPTED
    assert session.messages() == result.messages


async def test_cancelling_a_run_leaves_a_valid_history(store: SessionStore) -> None:
    started = asyncio.Event()

    @tool
    async def slow(city: str) -> str:
        """Slow weather.

        Args:
            city: The city.
        """
        started.set()
        await asyncio.sleep(30)
        return "never"

    model = ScriptedModel(lambda body: {"tool_calls": [
        {"name": "slow", "arguments": {"city": "北京"}, "id": "c_slow"},
        {"name": "get_weather", "arguments": {"city": "上海"}, "id": "c_fast"},
    ]} if body["messages"][-1]["role"] == "user" else "好")  # fmt: skip
    from _session_agents import get_weather

    agent = weather_agent(model, tools=[slow, get_weather])
    session = store.session("c")
    task = asyncio.ensure_future(agent.run("查询天气", session=session))
    await asyncio.wait_for(started.wait(), 10)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = session.messages()
    assert stored[0] == {"role": "user", "content": "查询天气"}
    assert_valid_history(stored)
    # The lease was given back, and the next run's request is one the server accepts.
    result = await weather_agent().run("北京呢？", session=session)
    assert_valid_history(result.messages)
    assert result.messages[: len(stored)] == stored


@pytest.mark.parametrize("mode", MODES)
async def test_history_turns_sends_only_the_last_turns(store: SessionStore, mode: str) -> None:
    session = store.session("t")
    for i in range(3):
        await run_mode(weather_agent(), mode, f"第{i}问", session=session)
    model = ScriptedModel(weather_script)
    await run_mode(weather_agent(model, history_turns=2), mode, "第3问", session=session)
    first, second = model.requests[0]["messages"], model.requests[1]["messages"]
    assert [m.get("content") for m in first if m["role"] == "user"] == ["第2问", "第3问"]
    assert roles(first) == ["system", *TURN, "user"]
    # Within the run, the tool turn in progress is never cut from its call.
    assert roles(second) == ["system", *TURN, "user", "assistant", "tool"]
    assert len(session.messages()) == 16  # trimming changes what is sent, not what is kept


class _City(BaseModel):
    name: str


@pytest.mark.parametrize("mode", MODES)
async def test_history_turns_keeps_the_instructions_and_the_run_s_own_turn(
    store: SessionStore, mode: str
) -> None:
    session = store.session("t")
    system = {"role": "system", "content": "Speak French."}
    with session.lease() as lease:
        lease.append([system, {"role": "user", "content": "旧问"}])
        lease.append([{"role": "assistant", "content": "旧答"}])
    # The first answer is not the JSON asked for: the run asks again, with a user message.
    model = ScriptedModel(["not json", '{"name": "Paris"}'])
    agent = Agent(client=Client(api_key="k", transport=model), output_type=_City, history_turns=1)
    result, _ = await run_mode(agent, mode, "Which city is the capital?", session=session)
    assert result.output == _City(name="Paris")
    first, second = (r["messages"] for r in model.requests)
    assert first[1:] == [system, {"role": "user", "content": "Which city is the capital?"}]
    # The retry still holds the question and the answer it corrects, and the instructions.
    assert [m["role"] for m in second] == ["system", "system", "user", "assistant", "user"]
    assert second[1:4] == [*first[1:], {"role": "assistant", "content": "not json"}]
    assert "corrected JSON" in second[4]["content"]


async def test_hundreds_of_concurrent_runs_on_distinct_sessions(store: SessionStore) -> None:
    agent = weather_agent()

    async def one(i: int) -> None:
        await agent.run(f"q{i}", session=store.session(f"u{i}"))
        await agent.run(f"again {i}", session=store.session(f"u{i}"))

    await asyncio.gather(*(one(i) for i in range(200)))
    for i in range(200):
        stored = await store.session(f"u{i}").amessages()
        assert roles(stored) == TURN * 2 and stored[4]["content"] == f"again {i}"


def test_processes_running_agents_on_one_sqlite_file(tmp_path: Path) -> None:
    factory = _sqlite(tmp_path / "shared.db")
    body = """
    agent = weather_agent(on_busy="wait", busy_timeout=60)
    w = os.environ["WORKER"]
    for j in range(8):
        agent.run_sync(f"{w}.{j}", session=store.session("shared"))
        agent.run_sync("mine", session=store.session(f"own-{w}-{j}"))
    store.close()
    print("done")
    """
    procs = [child(factory, body, WORKER=str(w)) for w in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0 and out.strip() == "done", err
        assert "locked" not in err
    store = factory.open()
    try:
        shared = store.session("shared").messages()
        assert roles(shared) == TURN * 32
        asked = sorted(m["content"] for m in shared if m["role"] == "user")
        assert asked == sorted(f"{w}.{j}" for w in range(4) for j in range(8))
        assert_valid_history(shared)
        assert len(store.list_sessions()) == 33
    finally:
        store.close()


@pytest.mark.parametrize("mode", MODES)
async def test_a_new_prompt_keeps_the_turn_a_dead_run_journaled(
    store: SessionStore, mode: str
) -> None:
    session = store.session("j")
    call = {
        "id": "c9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"北京"}'},
    }
    call2 = {**call, "id": "c10"}
    with session.lease() as lease:  # a run that dies mid-turn leaves this behind
        lease.append([{"role": "user", "content": "查询北京天气"}])
        lease.begin_turn({"role": "assistant", "content": None, "tool_calls": [call, call2]})
        lease.record_result({"role": "tool", "tool_call_id": "c9", "content": "晴"})
    model = ScriptedModel(weather_script)
    result, _ = await run_mode(weather_agent(model), mode, "上海呢？", session=session)
    stored = session.messages()
    assert stored == result.messages
    assert roles(stored) == ["user", "assistant", "tool", "tool", *TURN]
    assert [m["content"] for m in stored[2:4]] == ["晴", INTERRUPTED]
    sent = model.requests[0]["messages"][1:]
    assert roles(sent) == roles(stored[:5]) and sent[2:] == stored[2:5]
    with session.lease() as lease:
        lease.load()
        assert lease.journal() is None


@pytest.mark.parametrize("mode", MODES)
async def test_a_dead_run_s_turn_is_folded_in_once(store: SessionStore, mode: str) -> None:
    session = store.session("j1")
    call = {
        "id": "c9",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"北京"}'},
    }
    with session.lease() as lease:  # a run that died inside its tool call left this
        lease.append([{"role": "user", "content": "查询北京天气"}])
        lease.begin_turn({"role": "assistant", "content": None, "tool_calls": [call]})
    agent = weather_agent(ScriptedModel(lambda body: "好"))  # answers without a tool call
    await run_mode(agent, mode, "上海呢？", session=session)
    await run_mode(agent, mode, "广州呢？", session=session)
    # The journaled turn went into the history with the first new prompt, and only then.
    assert roles(session.messages()) == ["user", "assistant", "tool", *["user", "assistant"] * 2]
    with session.lease() as lease:
        lease.load()
        assert lease.journal() is None
