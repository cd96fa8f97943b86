"""Human approval across processes: a state serialized in one process and resumed in
another (signed, and through the emulator served on loopback), a paused run kept in a
SQLite session and resumed elsewhere, and crash recovery after a killed process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _approval_child import tools
from _approval_support import MODES, PROMPT, Mode, calls, client_for, run

from agentkit import Agent, UserError
from agentkit.emulator import EmulatorServer
from agentkit.sessions import SQLiteStore
from agentkit.testing import ScriptedModel

CHILD = Path(__file__).with_name("_approval_child.py")
ROOT = Path(__file__).resolve().parent.parent
REFUND = ("c_refund", "refund", {"order_id": "ORD1", "amount": 50})
LOOKUP = ("c_lookup", "lookup_order", {"order_id": "ORD1"})


def child(command: str, expect_exit: int = 0, **options: Any) -> dict[str, Any]:
    """Run the child process; its JSON report (``{}`` when it was killed)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(CHILD.parent)]))
    proc = subprocess.run(
        [sys.executable, str(CHILD), command, json.dumps(options, ensure_ascii=False)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == expect_exit, proc.stderr[-3000:]
    return json.loads(proc.stdout) if expect_exit == 0 else {}


def runs(log: Path) -> Counter[str]:
    """How often each tool ran, over all processes."""
    if not log.exists():
        return Counter()
    return Counter(line.split()[0] for line in log.read_text().splitlines())


def pids(log: Path, name: str) -> set[str]:
    return {line.split()[1] for line in log.read_text().splitlines() if line.startswith(name)}


def no_orphans(history: list[dict[str, Any]]) -> bool:
    """Every stored tool call has its result, and every result its call."""
    open_ids: set[str] = set()
    for m in history:
        if m["role"] == "assistant":
            if open_ids:
                return False
            open_ids = {tc["id"] for tc in m.get("tool_calls") or []}
        elif m["role"] == "tool":
            if m["tool_call_id"] not in open_ids:
                return False
            open_ids.discard(m["tool_call_id"])
        elif open_ids:
            return False
    return not open_ids


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "tools.log"
    import _approval_child

    _approval_child.OPTIONS["log"] = str(path)  # the tools of this process log there too
    yield path
    _approval_child.OPTIONS.clear()


def _agent(mode: Mode, model: Any) -> Agent[str]:
    return Agent(tools=tools(), client=client_for(mode, model))


@pytest.mark.parametrize("mode", MODES)
def test_a_signed_state_pauses_here_and_resumes_in_another_process(mode: Mode, log: Path) -> None:
    model = ScriptedModel([calls(LOOKUP, REFUND)])
    result = run(mode, _agent(mode, model), PROMPT).result
    assert result.paused and runs(log) == {"lookup_order": 1}
    text = result.pause.to_json(secret="s3cret")
    decisions = {"c_refund": {"type": "approve"}}

    out = child("resume", state=text, secret="s3cret", decisions=decisions, log=str(log),
                script=["已退款 50 元。"], **{"async": mode in ("run", "stream")})  # fmt: skip
    assert out["output"] == "已退款 50 元。"
    assert runs(log) == {"lookup_order": 1, "refund": 1}
    assert pids(log, "refund") != pids(log, "lookup_order")  # it ran over there
    (request,) = out["requests"]  # only the answer after the turn was asked for
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "tool", "tool"]

    forged = json.loads(text)
    forged["requests"][0]["arguments"]["amount"] = 5000
    proc = subprocess.run(
        [sys.executable, str(CHILD), "resume", json.dumps(
            {"state": json.dumps(forged), "secret": "s3cret", "decisions": decisions,
             "log": str(log)})],
        capture_output=True, text=True, timeout=60, check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(CHILD.parent)])),
    )  # fmt: skip
    assert proc.returncode != 0 and "signature is missing or wrong" in proc.stderr
    assert runs(log)["refund"] == 1


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatorServer]:
    server = EmulatorServer(host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.mark.parametrize("mode", MODES)
def test_through_the_emulator_on_loopback_across_processes(
    mode: Mode, log: Path, served: EmulatorServer
) -> None:
    cls = client_for(mode, None).__class__
    client = cls("sk-parent", served.base_url, max_retries=0)
    ran = run(mode, Agent(tools=tools(), client=client), PROMPT, close=client)
    result = ran.result
    assert result.paused and runs(log)["refund"] == 0
    (request,) = result.approvals
    assert request.tool_name == "refund" and request.arguments["order_id"] == "ORD1"
    if mode in ("stream", "stream_sync"):
        assert ran.types()[-2:] == ["approval_requested", "run_finished"]
    out = child("resume", state=result.pause.to_json(), emulator=served.base_url,
                decisions={request.tool_call_id: {"type": "approve"}}, log=str(log))  # fmt: skip
    assert runs(log)["refund"] == 1
    assert "refunded 50 to ORD1" in out["output"]
    assert out["messages"][-2] == {
        "role": "tool", "tool_call_id": request.tool_call_id, "content": "refunded 50 to ORD1"
    }  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
def test_a_paused_session_is_resumed_from_another_process(
    mode: Mode, log: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    store = SQLiteStore(db)
    session = store.session("u1")
    agent = _agent(mode, ScriptedModel([calls(LOOKUP, REFUND)]))
    result = run(mode, agent, PROMPT, session=session).result
    assert result.paused and session.pause() is not None
    assert [m["role"] for m in session.messages()] == ["user"]  # the open turn is journaled
    with pytest.raises(UserError, match="holds a paused run waiting for approval"):
        run(mode, _agent(mode, ScriptedModel(["不应到达"])), "你好", session=session)

    out = child("resume", db=db, session="u1", log=str(log), script=["已退款。"],
                decisions={"c_refund": {"type": "reject", "reason": "超出退款上限"}})  # fmt: skip
    assert out["output"] == "已退款。" and out["pause"] is None
    assert runs(log) == {"lookup_order": 1}  # refused: refund never ran
    stored = session.messages()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "tool", "assistant"]
    assert "超出退款上限" in stored[3]["content"] and no_orphans(stored)
    assert session.pause() is None
    later = run(mode, _agent(mode, ScriptedModel(["你好！"])), "你好", session=session).result
    assert later.output == "你好！" and len(session.messages()) == 7
    store.close()


@pytest.mark.parametrize("mode", MODES)
def test_discarding_a_pause_frees_the_session_for_a_new_prompt(
    mode: Mode, log: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    out = child("pause", db=db, session="u1", prompt=PROMPT, log=str(log),
                script=[calls(LOOKUP, REFUND)])  # fmt: skip
    assert out["paused"] and out["pause"]["requests"][0]["tool_call_id"] == "c_refund"
    store = SQLiteStore(db)
    session = store.session("u1")
    model = ScriptedModel(["好的。"])
    with pytest.raises(UserError, match=r"session\.discard_pause"):
        run(mode, _agent(mode, model), "算了", session=session)
    assert model.requests == []
    session.discard_pause()
    assert session.pause() is None
    result = run(mode, _agent(mode, model), "算了", session=session).result
    assert result.output == "好的。"
    stored = session.messages()
    assert no_orphans(stored) and stored[-2]["content"] == "算了"
    assert no_orphans(model.requests[0]["messages"])
    assert runs(log) == {"lookup_order": 1}
    store.close()


# ---------------------------------------------------------------------- crash recovery


def _crash(db: str, log: Path, kill: str, script: list[Any], **options: Any) -> None:
    child("crash", expect_exit=1, db=db, session="u1", prompt=PROMPT, kill=kill,
          log=str(log), script=script, **options)  # fmt: skip
    stored = SQLiteStore(db)
    try:
        history = stored.session("u1").messages()
    finally:
        stored.close()
    assert [m["role"] for m in history] == ["user"] and no_orphans(history)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_after_a_crash_an_interrupted_idempotent_call_runs_again(
    log: Path, tmp_path: Path, asynchronous: bool
) -> None:
    db = str(tmp_path / "chat.db")
    _crash(db, log, "lookup_order", [calls(LOOKUP)], needs_approval=False)
    assert runs(log) == {"lookup_order": 1}

    out = child("recover", db=db, session="u1", log=str(log), script=["订单已付 50 元。"],
                needs_approval=False, **{"async": asynchronous})  # fmt: skip
    assert out["output"] == "订单已付 50 元。" and not out["paused"]
    assert runs(log) == {"lookup_order": 2} and len(pids(log, "lookup_order")) == 2
    # The stored tool-call answer was not asked for again: one request, after the turn.
    (request,) = out["requests"]
    sent = request["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == "c_lookup"
    assert [m["role"] for m in out["stored"]] == ["user", "assistant", "tool", "assistant"]
    assert no_orphans(out["stored"]) and out["pause"] is None


@pytest.mark.parametrize("asynchronous", [False, True])
def test_after_a_crash_a_non_idempotent_call_waits_for_approval(
    log: Path, tmp_path: Path, asynchronous: bool
) -> None:
    db = str(tmp_path / "chat.db")
    _crash(db, log, "refund", [calls(LOOKUP, REFUND)], needs_approval=False, idempotent=False)
    assert runs(log) == {"lookup_order": 1, "refund": 1}
    options: dict[str, Any] = dict(db=db, session="u1", log=str(log), needs_approval=False,
                                   idempotent=False, **{"async": asynchronous})  # fmt: skip

    out = child("recover", script=[], **options)
    assert out["paused"] and out["requests"] == []  # no model call at all
    assert [(r["tool_call_id"], r["arguments"]) for r in out["approvals"]] == [
        ("c_refund", {"order_id": "ORD1", "amount": 50})
    ]
    assert runs(log) == {"lookup_order": 1, "refund": 1}  # finished lookup kept, not redone
    assert out["pause"] is not None and no_orphans(out["stored"])

    out = child("recover", script=["已退款 50 元。"],
                decisions={"c_refund": {"type": "approve"}}, **options)  # fmt: skip
    assert out["output"] == "已退款 50 元。"
    assert runs(log) == {"lookup_order": 1, "refund": 2}
    (request,) = out["requests"]
    assert [m.get("tool_call_id") for m in request["messages"][2:]] == ["c_lookup", "c_refund"]
    assert no_orphans(out["stored"]) and out["pause"] is None


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_crash_before_the_pause_was_stored_does_not_run_the_unapproved_call(
    log: Path, tmp_path: Path, asynchronous: bool
) -> None:
    """Killed in the other call of a turn whose refund waits for approval: the pause was
    never stored. Recovery must ask for the refund, not run it as an interrupted call."""
    db = str(tmp_path / "chat.db")
    _crash(db, log, "lookup_order", [calls(LOOKUP, REFUND)])  # refund: idempotent
    options: dict[str, Any] = dict(db=db, session="u1", log=str(log), **{"async": asynchronous})

    out = child("recover", script=[], **options)
    assert out["paused"] and out["requests"] == []
    assert [r["tool_call_id"] for r in out["approvals"]] == ["c_refund"]
    assert runs(log) == {"lookup_order": 2}  # the lookup ran again; the refund never
    assert out["pause"] is not None and no_orphans(out["stored"])

    out = child("recover", script=["已退款 50 元。"],
                decisions={"c_refund": {"type": "approve"}}, **options)  # fmt: skip
    assert out["output"] == "已退款 50 元。" and runs(log) == {"lookup_order": 2, "refund": 1}
    assert no_orphans(out["stored"]) and out["pause"] is None


def test_a_new_prompt_after_a_crash_continues_from_the_repaired_history(
    log: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    _crash(db, log, "lookup_order", [calls(LOOKUP)], needs_approval=False)
    store = SQLiteStore(db)
    model = ScriptedModel(["请再说一遍。"])
    result = _agent("run_sync", model).run_sync("你好", session=store.session("u1"))
    assert result.output == "请再说一遍。"
    assert no_orphans(model.requests[0]["messages"])
    assert no_orphans(store.session("u1").messages())
    assert runs(log) == {"lookup_order": 1}  # a new prompt does not finish the dead turn
    store.close()


def test_resume_on_a_session_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "chat.db"))
    agent = _agent("run_sync", ScriptedModel([]))
    with pytest.raises(UserError, match="has no run to resume"):
        agent.resume_sync(session=store.session("nobody"))
    store.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_second_approval_of_the_same_pause_is_refused_without_a_model_call(
    mode: Mode, log: Path, tmp_path: Path
) -> None:
    from _approval_support import resume

    store = SQLiteStore(str(tmp_path / "chat.db"))
    session = store.session("u1")
    model = ScriptedModel([calls(REFUND), "已退款。", "不应到达"])
    agent = _agent(mode, model)
    run(mode, agent, PROMPT, session=session)
    decisions = {"c_refund": {"type": "approve"}}
    assert resume(mode, agent, None, decisions, session=session).output == "已退款。"
    with pytest.raises(UserError, match="holds no paused run"):
        resume(mode, agent, None, decisions, session=session)  # a double click
    with pytest.raises(UserError, match="has no run to resume"):
        resume(mode, agent, None, None, session=session)  # the run had finished
    assert len(model.requests) == 2 and runs(log) == {"refund": 1}
    store.close()


@pytest.mark.parametrize("asynchronous", [False, True])
def test_an_approved_call_killed_while_it_runs_is_asked_again_flagged_interrupted(
    log: Path, tmp_path: Path, asynchronous: bool
) -> None:
    db = str(tmp_path / "chat.db")
    options: dict[str, Any] = dict(db=db, session="u1", log=str(log), idempotent=False,
                                   **{"async": asynchronous})  # fmt: skip
    child("pause", prompt=PROMPT, script=[calls(LOOKUP, REFUND)], **options)
    approve = {"c_refund": {"type": "approve"}}
    child("resume", expect_exit=1, kill="refund", decisions=approve, **options)
    assert runs(log) == {"lookup_order": 1, "refund": 1}  # killed inside the payment

    # The operator's approval, sent again (a retry, a double click), does not run it again:
    # the call comes back as a request saying that it may have run.
    out = child("resume", decisions=approve, script=[], **options)
    assert out["paused"] and out["requests"] == [] and runs(log)["refund"] == 1
    (request,) = out["approvals"]
    assert (request["tool_call_id"], request["interrupted"]) == ("c_refund", True)
    assert out["pause"]["requests"][0]["interrupted"] is True  # what the session shows
    assert any("may have run already" in note for note in out["notes"])
    assert no_orphans(out["stored"]) and [m["role"] for m in out["stored"]] == ["user"]

    # Approved again, knowing that, it runs; the call run before the pause is kept.
    out = child("resume", decisions=approve, script=["已退款 50 元。"], **options)
    assert out["output"] == "已退款 50 元。" and out["pause"] is None
    assert runs(log) == {"lookup_order": 1, "refund": 2}
    assert [m["role"] for m in out["stored"]] == ["user", "assistant", "tool", "tool", "assistant"]
    assert no_orphans(out["stored"])


def test_an_approved_idempotent_call_killed_while_it_runs_simply_runs_again(
    log: Path, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    options: dict[str, Any] = dict(db=db, session="u1", log=str(log))
    child("pause", prompt=PROMPT, script=[calls(LOOKUP, REFUND)], **options)
    approve = {"c_refund": {"type": "approve"}}
    child("resume", expect_exit=1, kill="refund", decisions=approve, **options)
    out = child("resume", decisions=approve, script=["已退款 50 元。"], **options)
    assert out["output"] == "已退款 50 元。" and not out["paused"]
    assert runs(log) == {"lookup_order": 1, "refund": 2}
    assert no_orphans(out["stored"]) and out["pause"] is None


def test_a_rejection_decided_with_an_approval_that_was_killed_stays_refused(
    log: Path, tmp_path: Path
) -> None:
    """The decided turn is journaled whole: the recovery does not take a rejected call for
    an interrupted one and run it."""
    db = str(tmp_path / "chat.db")
    options: dict[str, Any] = dict(db=db, session="u1", log=str(log))
    both = calls(("c_a", "refund", {"order_id": "A", "amount": 1}),
                 ("c_b", "refund", {"order_id": "B", "amount": 2}))  # fmt: skip
    child("pause", prompt=PROMPT, script=[both], **options)
    decisions = {"c_a": {"type": "approve"}, "c_b": {"type": "reject", "reason": "不退"}}
    child("resume", expect_exit=1, kill="refund", decisions=decisions, **options)
    out = child("resume", decisions=decisions, script=["好。"], **options)
    assert out["output"] == "好。" and runs(log) == {"refund": 2}  # c_a twice, c_b never
    stored = out["stored"]
    assert "不退" in stored[3]["content"] and no_orphans(stored)
