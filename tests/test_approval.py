"""Human approval in one process, in all four run modes, on a scripted model: the pause,
what runs before it and never again, decisions bound to call id and shown arguments,
replaced arguments, refusals that cannot loop, approval callables and signed states."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from _approval_support import (
    MODES,
    PROMPT,
    Ledger,
    Mode,
    calls,
    make_agent,
    resume,
    run,
    scripted,
)

from agentkit import Agent, Approve, PausedRun, Reject, RunContext, UserError, tool
from agentkit.testing import ScriptedModel

REFUND = ("c_refund", "refund", {"order_id": "ORD1", "amount": 50})
LOOKUP = ("c_lookup", "lookup_order", {"order_id": "ORD1"})


def _paused(mode: Mode, *script: Any) -> tuple[Ledger, ScriptedModel, Any, Any]:
    ledger = Ledger()
    model = scripted(calls(LOOKUP, REFUND), *script)
    agent = make_agent(mode, model, [ledger.lookup(), ledger.refund()])
    ran = run(mode, agent)
    return ledger, model, agent, ran


@pytest.mark.parametrize("mode", MODES)
def test_pause_runs_the_other_calls_first_and_resume_does_not_redo_them(mode: Mode) -> None:
    ledger, model, agent, ran = _paused(mode, "已退款 50 元。")
    result = ran.result
    assert result.paused and result.output is None
    assert [(r.tool_call_id, r.tool_name, r.arguments) for r in result.approvals] == [
        ("c_refund", "refund", {"order_id": "ORD1", "amount": 50})
    ]
    assert ledger.names() == ["lookup_order"]  # ran before the pause; refund did not
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool"]
    if mode in ("stream", "stream_sync"):
        types = ran.types()
        assert types[-2:] == ["approval_requested", "run_finished"]
        assert types.index("tool_call_result") < types.index("approval_requested")
        event = ran.events[-2]
        assert (event.tool_call_id, event.tool_name) == ("c_refund", "refund")  # type: ignore[attr-defined]
    assert len(model.requests) == 1

    done = resume(mode, agent, result.pause, {"c_refund": Approve()})
    assert done.output == "已退款 50 元。" and not done.paused
    assert ledger.names() == ["lookup_order", "refund"]  # lookup not run again
    # The model was asked once more, for the answer after the turn: not for the turn.
    assert len(model.requests) == 2
    sent = model.requests[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert [m["tool_call_id"] for m in sent[2:]] == ["c_lookup", "c_refund"]  # model's order
    assert sent[3]["content"] == "refunded 50 to ORD1"
    assert [m["role"] for m in done.messages] == ["user", "assistant", "tool", "tool", "assistant"]


@pytest.mark.parametrize("mode", MODES)
def test_the_tool_call_id_reaches_the_approved_tool_as_its_idempotency_key(mode: Mode) -> None:
    seen: list[str] = []

    @tool(needs_approval=True)
    def refund(ctx: RunContext[None], order_id: str, amount: Decimal) -> str:
        """给订单退款。

        Args:
            order_id: 订单号
            amount: 金额
        """
        seen.append(ctx.tool_call_id or "")
        return "ok"

    agent = make_agent(mode, scripted(calls(REFUND), "好"), [refund])
    paused = run(mode, agent).result.pause
    resume(mode, agent, paused, {"c_refund": Approve()})
    assert seen == ["c_refund"]


def _tampered_arguments(p: PausedRun) -> PausedRun:
    data = p.to_dict()
    data["requests"][0]["arguments"]["amount"] = 5000  # hash no longer matches
    return PausedRun.from_dict(data)


def _tampered_message(p: PausedRun) -> PausedRun:
    data = p.to_dict()
    call = data["messages"][1]["tool_calls"][1]["function"]
    call["arguments"] = json.dumps({"order_id": "ORD1", "amount": 5000})
    return PausedRun.from_dict(data)


def _tampered_consistently(p: PausedRun) -> PausedRun:
    # Request and hash rewritten together: the model's message still says 50.
    data = p.to_dict()
    req = data["requests"][0]
    req["arguments"] = {"order_id": "ORD1", "amount": 5000}
    from agentkit.approvals import arguments_hash

    req["arguments_hash"] = arguments_hash(req["arguments"])
    return PausedRun.from_dict(data)


def _duplicate(p: PausedRun) -> PausedRun:
    data = p.to_dict()
    data["requests"] = data["requests"] * 2
    return PausedRun.from_dict(data)


def _unknown_request(p: PausedRun) -> PausedRun:
    data = p.to_dict()
    data["requests"][0]["tool_call_id"] = "c_other"
    return PausedRun.from_dict(data)


BAD_STATES = {
    "arguments changed": (_tampered_arguments, "changed after they were shown"),
    "message changed": (_tampered_message, "changed after they were shown"),
    "request and hash changed": (_tampered_consistently, "changed after they were shown"),
    "duplicate id": (_duplicate, "twice"),
    "call not in the turn": (_unknown_request, "not in the paused turn"),
}


@pytest.mark.parametrize("case", sorted(BAD_STATES))
@pytest.mark.parametrize("mode", MODES)
def test_a_changed_state_is_refused_and_nothing_runs(mode: Mode, case: str) -> None:
    ledger, model, agent, ran = _paused(mode, "不应到达")
    change, message = BAD_STATES[case]
    bad = change(ran.result.pause)
    ids = [r.tool_call_id for r in bad.requests]
    with pytest.raises(UserError, match=message):
        resume(mode, agent, bad, {i: Approve() for i in ids})
    assert ledger.names() == ["lookup_order"] and len(model.requests) == 1


DECISIONS = {
    "unknown id": ({"c_refund": Approve(), "c_nope": Approve()}, "unknown call"),
    "missing decision": ({}, "no decision for call"),
    "lookup is not pending": ({"c_refund": Approve(), "c_lookup": Approve()}, "unknown call"),
    "not a decision": ({"c_refund": "yes"}, "a decision is"),
    "arguments not an object": (
        {"c_refund": {"type": "approve", "arguments": ["ORD1"]}},
        r"decision for call 'c_refund': an approve decision's 'arguments' must be a mapping",
    ),
    "reason not a string": (
        {"c_refund": {"type": "reject", "reason": 5}},
        r"Reject\(reason=...\) must be a string",
    ),
    "key not a call id": ({1: Approve()}, "keyed by the tool_call_id string, got the key 1"),
    "not a mapping": ([("c_refund", Approve())], "decisions must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(DECISIONS))
@pytest.mark.parametrize("mode", MODES)
def test_decisions_bind_to_the_pending_call_ids(mode: Mode, case: str) -> None:
    ledger, model, agent, ran = _paused(mode, "不应到达")
    decisions, message = DECISIONS[case]
    with pytest.raises(UserError, match=message):
        resume(mode, agent, ran.result.pause, decisions)
    assert ledger.names() == ["lookup_order"] and len(model.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_state_written_for_other_tools_is_refused(mode: Mode) -> None:
    ledger, model, _agent, ran = _paused(mode, "不应到达")
    other = Ledger()

    @tool(needs_approval=True)
    def refund(order_id: str, amount: Decimal, note: str = "") -> str:
        """给订单退款。

        Args:
            order_id: 订单号
            amount: 金额
            note: 备注
        """
        return "refunded"

    changed = make_agent(mode, model, [other.lookup(), refund])
    with pytest.raises(UserError, match="different set of tools"):
        resume(mode, changed, ran.result.pause, {"c_refund": Approve()})
    fewer = make_agent(mode, model, [other.refund()])
    with pytest.raises(UserError, match="different set of tools"):
        resume(mode, fewer, ran.result.pause, {"c_refund": Approve()})
    assert ledger.names() == ["lookup_order"] and other.runs == []


@pytest.mark.parametrize("mode", MODES)
def test_approved_replacement_arguments_are_validated_and_shown_in_history(mode: Mode) -> None:
    ledger, model, agent, ran = _paused(mode, "已退款 30 元。")
    paused = ran.result.pause
    with pytest.raises(UserError, match="do not fit 'refund'"):
        resume(mode, agent, paused, {"c_refund": Approve(arguments={"order_id": "ORD1"})})
    with pytest.raises(UserError, match="do not fit 'refund'"):
        resume(
            mode, agent, paused,
            {"c_refund": Approve(arguments={"order_id": "ORD1", "amount": "a lot"})},
        )  # fmt: skip
    assert ledger.names() == ["lookup_order"] and len(model.requests) == 1

    done = resume(
        mode, agent, paused, {"c_refund": Approve(arguments={"order_id": "ORD1", "amount": 30})}
    )
    assert ledger.runs[-1] == ("refund", {"order_id": "ORD1", "amount": Decimal(30)})
    for history in (done.messages, model.requests[1]["messages"]):
        shown = {tc["id"]: tc["function"] for tc in history[1]["tool_calls"]}
        assert json.loads(shown["c_refund"]["arguments"]) == {"order_id": "ORD1", "amount": 30}
        assert json.loads(shown["c_lookup"]["arguments"]) == {"order_id": "ORD1"}
    assert done.output == "已退款 30 元。"


@pytest.mark.parametrize("mode", MODES)
def test_a_rejection_reaches_the_model_and_asking_again_does_not_pause(mode: Mode) -> None:
    ledger = Ledger()
    again = ("c_again", "refund", {"amount": 50, "order_id": "ORD1"})  # same call, keys reordered
    model = scripted(calls(REFUND), calls(again), "抱歉，无法退款。")
    agent = make_agent(mode, model, [ledger.refund()])
    paused = run(mode, agent).result.pause
    done = resume(mode, agent, paused, {"c_refund": Reject("超出退款上限")})
    assert not done.paused and done.output == "抱歉，无法退款。"
    assert ledger.runs == []
    refused = model.requests[1]["messages"][-1]
    assert refused["role"] == "tool" and refused["tool_call_id"] == "c_refund"
    assert "超出退款上限" in refused["content"]
    asked_again = model.requests[2]["messages"][-1]
    assert asked_again["tool_call_id"] == "c_again"
    assert "already refused" in asked_again["content"] and "超出退款上限" in asked_again["content"]


@pytest.mark.parametrize("mode", MODES)
def test_a_model_that_insists_on_a_rejected_call_ends_without_looping(mode: Mode) -> None:
    ledger = Ledger()
    counter = iter(range(1000))

    def insist(body: dict[str, Any]) -> Any:
        if body.get("tool_choice") == "none":
            return "好的，不退款。"
        return calls((f"c{next(counter)}", "refund", {"order_id": "ORD1", "amount": 50}))

    model = ScriptedModel(insist)
    agent = make_agent(mode, model, [ledger.refund()])
    paused = run(mode, agent).result.pause
    done = resume(mode, agent, paused, {"c0": Reject("不退")})
    assert not done.paused and done.output == "好的，不退款。"
    assert ledger.runs == []
    assert len(model.requests) <= 6  # the repeated-call guard stopped it
    assert model.requests[-1]["tool_choice"] == "none"


def _judge(ctx: RunContext[Any], arguments: dict[str, Any]) -> bool:
    if arguments["order_id"] == "BROKEN":
        raise RuntimeError("cannot decide")
    return bool(arguments["amount"] > 100)


@pytest.mark.parametrize("mode", MODES)
def test_a_callable_decides_which_calls_need_approval(mode: Mode) -> None:
    ledger = Ledger()
    small = ("c_small", "refund", {"order_id": "ORD1", "amount": 50})
    large = ("c_large", "refund", {"order_id": "ORD2", "amount": 500})
    model = scripted(calls(small, large), "ORD1 已退; ORD2 已退。")
    agent = make_agent(mode, model, [ledger.refund(needs_approval=_judge)])
    result = run(mode, agent).result
    assert [r.tool_call_id for r in result.approvals] == ["c_large"]
    assert ledger.runs == [("refund", {"order_id": "ORD1", "amount": Decimal(50)})]
    done = resume(mode, agent, result.pause, {"c_large": Approve()})
    assert [r[1]["order_id"] for r in ledger.runs] == ["ORD1", "ORD2"]
    assert done.output == "ORD1 已退; ORD2 已退。"


@pytest.mark.parametrize("mode", MODES)
def test_an_error_in_the_approval_callable_counts_as_needs_approval(
    mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger()
    broken = ("c_broken", "refund", {"order_id": "BROKEN", "amount": 1})
    model = scripted(calls(broken), "好")
    agent = make_agent(mode, model, [ledger.refund(needs_approval=_judge)])
    result = run(mode, agent).result
    assert result.paused and [r.tool_call_id for r in result.approvals] == ["c_broken"]
    assert ledger.runs == []
    assert "needs_approval of 'refund' raised" in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_signed_state_round_trips_and_forgeries_are_refused(mode: Mode) -> None:
    ledger, _model, agent, ran = _paused(mode, "已退款 50 元。")
    signed = ran.result.pause.to_json(secret="k1")
    with pytest.raises(UserError, match="signature is missing or wrong"):
        PausedRun.from_json(signed, secret="k2")
    with pytest.raises(UserError, match="signature is missing or wrong"):
        PausedRun.from_json(ran.result.pause.to_json(), secret="k1")  # unsigned
    forged = json.loads(signed)
    forged["requests"][0]["arguments"]["amount"] = 5000
    with pytest.raises(UserError, match="signature is missing or wrong"):
        PausedRun.from_json(json.dumps(forged), secret="k1")
    paused = PausedRun.from_json(signed, secret=b"k1")
    done = resume(mode, agent, paused, {"c_refund": Approve()})
    assert done.output == "已退款 50 元。" and ledger.names() == ["lookup_order", "refund"]


def test_bad_paused_texts_are_clear_errors() -> None:
    with pytest.raises(UserError, match="not JSON"):
        PausedRun.from_json("{")
    with pytest.raises(UserError, match="format version"):
        PausedRun.from_json('{"version": 99}')
    with pytest.raises(UserError, match="not a valid paused run"):
        PausedRun.from_json('{"version": 1, "messages": []}')
    agent = make_agent("run_sync", scripted(), [Ledger().refund()])
    with pytest.raises(UserError, match="resume needs the PausedRun"):
        agent.resume_sync(json.dumps({"version": 1}), {})  # type: ignore[arg-type]


_STATE = '{"version": 1, "requests": [], "messages": [], "fingerprint": "f"}'


async def _async_check(ctx: RunContext[None], arguments: dict[str, Any]) -> bool:
    return False  # called without await, its coroutine would count as "yes" every time


def _noop(order_id: str) -> str:
    """Do nothing.

    Args:
        order_id: The order.
    """
    return order_id


BAD_CALLS: dict[str, tuple[Any, str]] = {
    "tool(needs_approval=async def)": (
        lambda: tool(needs_approval=_async_check)(_noop),
        r"needs_approval must be a plain \(not async\) callable .*'_async_check'",
    ),
    "Approve(arguments=list)": (
        lambda: Approve(arguments=["A"]),
        r"Approve\(arguments=...\) must be a mapping of argument names to values, got list",
    ),
    "Approve(arguments=non-str keys)": (
        lambda: Approve(arguments={1: "A"}),
        r"Approve\(arguments=...\) must have string keys",
    ),
    "Reject(123)": (lambda: Reject(123), r"Reject\(reason=...\) must be a string .*got int"),
    "Reject(None)": (lambda: Reject(None), r"Reject\(reason=...\) must be a string .*got NoneType"),
    "from_json(None)": (
        lambda: PausedRun.from_json(None),
        r"PausedRun.from_json takes the text to_json wrote \(str or bytes\), got NoneType",
    ),
    "from_json(secret=123)": (
        lambda: PausedRun.from_json(_STATE, secret=123),
        r"secret must be a str or bytes \(the signing key\), got int",
    ),
    "from_json(secret='')": (
        lambda: PausedRun.from_json(_STATE, secret=""),
        "secret must not be empty",
    ),
    "from_dict(list)": (lambda: PausedRun.from_dict([]), "must be a JSON object, got list"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_arguments_to_the_approval_api_are_user_errors_naming_them(case: str) -> None:
    call, message = BAD_CALLS[case]
    with pytest.raises(UserError, match=message):
        call()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"order_id": "ORD1", "amount": Decimal("7.5")}, "Object of type Decimal is not JSON"),
        ({"order_id": "ORD1", "amount": float("nan")}, "Out of range float values"),
        ({"order_id": "ORD\ud800", "amount": 5}, "a string holds a lone surrogate"),
    ],
)
def test_replacement_arguments_that_are_not_json_are_refused_before_anything_runs(
    arguments: dict[str, Any], message: str
) -> None:
    ledger = Ledger()
    agent = make_agent("run_sync", scripted(calls(REFUND), "不应到达"), [ledger.refund()])
    paused = run("run_sync", agent).result.pause
    with pytest.raises(UserError, match=r"Approve\(arguments=...\) must be plain JSON data"):
        agent.resume_sync(paused, {"c_refund": Approve(arguments=arguments)})
    with pytest.raises(UserError, match=message):  # the JSON form of a decision, too
        agent.resume_sync(paused, {"c_refund": {"type": "approve", "arguments": arguments}})
    assert ledger.runs == []


BAD_FIELDS = {
    "usage a string": ({"usage": "zz"}, "'usage': Usage.from_dict: expected an object of token"),
    "requests not a list": ({"requests": {}}, "'requests': expected a list, got dict"),
    "call id not a string": (
        {"requests": [{"tool_call_id": 7, "tool_name": "refund", "arguments": {}}]},
        "'requests': the field 'tool_call_id': expected a string, got int",
    ),
    "arguments not an object": (
        {"requests": [{"tool_call_id": "c", "tool_name": "refund", "arguments": "x"}]},
        "'requests': a request's 'arguments' must be an object, got 'x'",
    ),
    "fingerprint missing": ({"fingerprint": None}, "'fingerprint' is missing"),
    "messages not objects": ({"messages": ["hi"]}, "'messages': expected a list of message"),
    "refused entry malformed": ({"refused": [["refund"]]}, r"'refused': expected \[tool name"),
}


@pytest.mark.parametrize("case", sorted(BAD_FIELDS))
def test_a_malformed_paused_state_names_the_bad_field(case: str) -> None:
    fields, message = BAD_FIELDS[case]
    text = json.dumps({**json.loads(_STATE), **fields})
    with pytest.raises(UserError, match="not a valid paused run: the field " + message):
        PausedRun.from_json(text)


def test_signing_with_a_bad_secret_is_a_user_error() -> None:
    ran = run("run_sync", make_agent("run_sync", scripted(calls(REFUND)), [Ledger().refund()]))
    with pytest.raises(UserError, match=r"secret must be a str or bytes \(the signing key\)"):
        ran.result.pause.to_json(secret=123)
    assert PausedRun.from_json(_STATE).requests == []  # the good state it was checked on


def test_durable_approve_checks_decisions_in_the_caller() -> None:
    from agentkit.durable import DurableAgent
    from agentkit.durable._agent import _decisions_json

    assert _decisions_json({"c": Reject("no")}) == {"c": {"type": "reject", "reason": "no"}}
    durable = DurableAgent(Agent("m"), name="d")
    # Refused before DBOS is asked anything (none is launched here); the checks against
    # the waiting workflow's pause: tests/test_durable_observed.py.
    with pytest.raises(UserError, match="keyed by the tool_call_id string"):
        durable.approve("wf", {3: Approve()})  # type: ignore[dict-item]
    with pytest.raises(UserError, match="a decision is"):
        durable.approve("wf", {"c": "yes"})


@pytest.mark.parametrize("mode", MODES)
def test_the_same_prompt_pauses_on_the_generic_emulator(mode: Mode) -> None:
    from agentkit.emulator import EmulatorTransport

    ledger = Ledger()
    agent = make_agent(mode, EmulatorTransport(), [ledger.lookup(), ledger.refund()])
    result = run(mode, agent, PROMPT).result
    assert result.paused
    (request,) = result.approvals
    assert request.tool_name == "refund" and request.arguments["order_id"] == "ORD1"
    done = resume(mode, agent, result.pause, {request.tool_call_id: Approve()})
    assert ("refund", {"order_id": "ORD1", "amount": Decimal(50)}) in ledger.runs
    assert "refunded 50 to ORD1" in (done.output or "")


@pytest.mark.parametrize("mode", MODES)
def test_a_session_stores_the_arguments_that_ran(mode: Mode) -> None:
    from agentkit.sessions import MemoryStore

    ledger = Ledger()
    model = scripted(calls(LOOKUP, REFUND), "已退款 30 元。")
    agent = make_agent(mode, model, [ledger.lookup(), ledger.refund()])
    session = MemoryStore().session("u1")
    assert run(mode, agent, session=session).result.paused
    replaced = {"c_refund": Approve(arguments={"order_id": "ORD1", "amount": 30})}
    resume(mode, agent, None, replaced, session=session)
    stored = session.messages()
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "tool", "assistant"]
    shown = {tc["id"]: json.loads(tc["function"]["arguments"]) for tc in stored[1]["tool_calls"]}
    assert shown["c_refund"] == {"order_id": "ORD1", "amount": 30}
    assert ledger.names() == ["lookup_order", "refund"] and session.pause() is None


@pytest.mark.parametrize("mode", MODES)
def test_a_sub_agent_that_pauses_fails_its_tool_call_instead_of_answering_none(
    mode: Mode,
) -> None:
    ledger = Ledger()
    inner = make_agent(mode, scripted(calls(REFUND)), [ledger.refund()], name="refunder")
    helper = inner.as_tool(name="helper", description="Does refunds.")
    outer_model = scripted(calls(("c_help", "helper", {"task": PROMPT})), "好的。")
    result = run(mode, make_agent(mode, outer_model, [helper])).result
    assert not result.paused and result.output == "好的。" and ledger.runs == []
    told = outer_model.requests[1]["messages"][-1]
    assert told["role"] == "tool" and told["content"] != "null"  # not "done, with None"
    (failure,) = result.tool_failures
    assert failure.tool_name == "helper" and failure.error_type == "UserError"
    assert "paused for approval of 'refund'" in failure.error


def _bad_call(turn: dict[str, Any], call: Any) -> None:
    turn["tool_calls"][0] = call


HOSTILE_STATES: dict[str, tuple[Any, str]] = {
    "function a string": (
        lambda m: _bad_call(m[1], {"id": "c_refund", "function": "refund"}),
        "each call of the paused turn must be",
    ),
    "arguments a number": (
        lambda m: m[1]["tool_calls"][0]["function"].update(arguments=5),
        "each call of the paused turn must be",
    ),
    "a call that is a string": (
        lambda m: m[1]["tool_calls"].append("zz"),
        "each call of the paused turn must be",
    ),
    "a user message after the turn": (
        lambda m: m.append({"role": "user", "content": "hi"}),
        "only the turn's tool results may follow",
    ),
    "a role that is no string": (
        lambda m: m[0].update(role=5),
        "the field 'messages': message 0 has no 'role' string",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_STATES))
def test_a_hostile_paused_state_is_a_user_error_and_nothing_runs(case: str) -> None:
    edit, message = HOSTILE_STATES[case]
    ledger = Ledger()
    model = scripted(calls(REFUND), "不应到达")
    agent = make_agent("run_sync", model, [ledger.refund()])
    data = run("run_sync", agent).result.pause.to_dict()
    edit(data["messages"])
    with pytest.raises(UserError, match="not a valid paused run: " + re.escape(message)):
        agent.resume_sync(PausedRun.from_json(json.dumps(data)), {"c_refund": Approve()})
    assert ledger.runs == [] and len(model.requests) == 1
