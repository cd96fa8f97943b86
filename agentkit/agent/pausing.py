"""Pausing a run for a person's approval, and resuming it: the decisions, no I/O.

A tool turn whose calls include some that need approval runs the others, then the run
stops with a ``PausedRun`` (the history so far plus the pending requests). Resuming checks
that the state is the one that was shown (the tools' fingerprint, each request's arguments
and their hash), that every request has exactly one decision and no decision is for an
unknown call, then runs the approved calls (with replaced arguments, validated) and tells
the model about the refused ones. The paused turn's tool messages end in the model's order.

``agentkit.approvals`` is imported where a pause or a resume needs it: a run that never
pauses never loads it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentkit._json import loads
from agentkit.context import RunContext
from agentkit.errors import ToolArgumentsError, UserError
from agentkit.messages import Message, ToolCall
from agentkit.tool import Tool
from agentkit.usage import Usage

if TYPE_CHECKING:
    from agentkit.approvals import (
        ApprovalRequest,
        Decision,
        PausedRun,
    )

__all__ = [
    "canonical",
    "check_decisions",
    "fingerprint",
    "last_tool_turn",
    "needs_approval",
    "paused_turn",
    "refusal",
    "rejected_content",
    "reorder_turn",
    "replace_arguments",
]

logger = logging.getLogger("agentkit")


def fingerprint(tools: Mapping[str, Tool[Any, Any]]) -> str:
    """The fingerprint of a run's tools (names, descriptions and schemas)."""
    from agentkit.approvals import tools_fingerprint

    return tools_fingerprint([t.to_openai() for t in tools.values()])


def needs_approval(tool: Tool[Any, Any], ctx: RunContext[Any], kwargs: dict[str, Any]) -> bool:
    """Whether this call must wait for a person; an error deciding counts as "yes"."""
    check = tool.needs_approval
    if not callable(check):
        return bool(check)
    try:
        return bool(check(ctx, kwargs))
    except Exception:
        logger.warning("needs_approval of %r raised; asking for approval", tool.name, exc_info=True)
        return True


def canonical(arguments: str) -> str:
    """A call's arguments text with key order and spacing normalized (for comparing)."""
    try:
        return json.dumps(loads(arguments), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):  # nested too deep to re-encode: compare as sent
        return arguments


def refusal(refused: Sequence[Sequence[str]], call: ToolCall) -> str | None:
    """The answer to a call identical to one a person refused before, else ``None``."""
    key = canonical(call.arguments)
    for name, arguments, reason in refused:
        if name == call.name and arguments == key:
            why = f": {reason}" if reason else ""
            return (
                f"Not run: a person already refused this exact call{why}. Do not ask for it "
                "again; answer the user or try something else."
            )
    return None


def rejected_content(reason: str) -> str:
    """What the model is told about a call a person refused."""
    why = f": {reason}" if reason else "."
    return f"A person refused this call{why} Do not call it again with the same arguments."


def paused_turn(
    messages: list[Message],
    waiting: Sequence[ToolCall],
    tools: Mapping[str, Tool[Any, Any]],
    usage: Usage,
    refused: list[list[str]],
    interrupted: Collection[str] = (),
) -> PausedRun:
    """The ``PausedRun`` of a turn whose ``waiting`` calls need a decision (those whose id
    is in ``interrupted`` may have run already)."""
    from agentkit.approvals import ApprovalRequest, PausedRun, arguments_hash

    requests = []
    for call in waiting:
        args = loads(call.arguments or "{}")
        requests.append(
            ApprovalRequest(call.id, call.name, args, arguments_hash(args), call.id in interrupted)
        )
    return PausedRun(
        messages=list(messages),
        requests=requests,
        fingerprint=fingerprint(tools),
        usage=Usage() + usage,
        refused=[list(r) for r in refused],
    )


def last_tool_turn(messages: list[Message]) -> int:
    """The index of the last assistant message with tool calls.

    Raises:
        UserError: There is none (not a paused run's history).
    """
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m.get("role") == "assistant" and m.get("tool_calls"):
            return i
    raise UserError("the paused run's messages hold no tool call to resume")


def check_decisions(
    paused: PausedRun,
    decisions: Mapping[str, Any],
    tools: Mapping[str, Tool[Any, Any]],
    *,
    recovering: bool = False,
    fingerprinted: bool = True,
) -> list[tuple[ApprovalRequest, Decision | None, dict[str, Any] | None]]:
    """Verify a paused state against the agent and the decisions against the state.

    Returns, per request in order, the request, its decision, and for an approval the
    validated keyword arguments to run with. ``recovering``: the state was rebuilt from a
    dead run's journal (no fingerprint to check), and a call without a decision gets
    ``None`` (it waits for one) instead of an error. ``fingerprinted=False``: ``tools``
    holds only the paused calls' tools (a durable approval checked in the approver's
    process), so the fingerprint of the whole set is left to the resume itself.

    Raises:
        UserError: A different set of tools, arguments changed since they were shown, a
            duplicate request id, a decision for an unknown call, a missing decision,
            replacement arguments that do not fit the tool's schema.
    """
    from agentkit.approvals import decision_from_dict

    if fingerprinted and not recovering and paused.fingerprint != fingerprint(tools):
        raise UserError(
            "this paused run was written for a different set of tools (their names or "
            "schemas changed): resume it with the agent that paused it"
        )
    seen = _check_requests(paused)
    unknown = sorted(set(decisions) - seen)
    if unknown:
        raise UserError(f"decisions for unknown call(s) {unknown}; pending: {sorted(seen)}")
    missing = [r.tool_call_id for r in paused.requests if r.tool_call_id not in decisions]
    if missing and not recovering:
        raise UserError(f"no decision for call(s) {missing}: give Approve() or Reject(...)")
    out: list[tuple[ApprovalRequest, Decision | None, dict[str, Any] | None]] = []
    for r in paused.requests:
        tool = tools.get(r.tool_name)
        if tool is None:
            raise UserError(f"the agent has no tool {r.tool_name!r} any more")
        if r.tool_call_id not in decisions:
            out.append((r, None, None))
            continue
        decision = decision_from_dict(decisions[r.tool_call_id])
        out.append((r, decision, _approved_kwargs(r, decision, tool)))
    return out


def _check_requests(paused: PausedRun) -> set[str]:
    """The ids of the paused requests, each checked against the calls the turn shows.

    Raises:
        UserError: A duplicate id, a call not in the paused turn, or arguments changed
            since they were shown for approval.
    """
    from agentkit.approvals import arguments_hash

    index = last_tool_turn(paused.messages)
    shown = _shown_calls(paused.messages, index)
    seen: set[str] = set()
    for r in paused.requests:
        if r.tool_call_id in seen:
            raise UserError(f"the paused run lists call {r.tool_call_id!r} twice")
        seen.add(r.tool_call_id)
        fn = shown.get(r.tool_call_id)
        if fn is None or fn.get("name") != r.tool_name:
            raise UserError(f"call {r.tool_call_id!r} is not in the paused turn")
        try:
            model_args = loads(fn.get("arguments") or "{}")
        except ValueError:
            model_args = None
        if r.arguments_hash != arguments_hash(r.arguments) or model_args != r.arguments:
            raise UserError(
                f"the arguments of call {r.tool_call_id!r} were changed after they were "
                "shown for approval: refused"
            )
    return seen


def _shown_calls(messages: list[Message], index: int) -> dict[Any, Mapping[str, Any]]:
    """The paused turn's calls by id (``messages[index]`` holds them), its shape checked:
    the resume runs them and sends the turn to the model as it is.

    Raises:
        UserError: A call that is not ``{id, function: {name, arguments: string}}``, or a
            message other than a tool result after the turn.
    """
    shown: dict[Any, Mapping[str, Any]] = {}
    calls = messages[index].get("tool_calls")
    for tc in calls if isinstance(calls, list) else ():
        fn = tc.get("function") if isinstance(tc, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("arguments", ""), str):
            raise UserError(
                "not a valid paused run: each call of the paused turn must be "
                f"{{id, function: {{name, arguments: string}}}}, got {tc!r:.80}"
            )
        shown[tc.get("id")] = fn
    if any(m.get("role") != "tool" for m in messages[index + 1 :]):
        raise UserError(
            "not a valid paused run: only the turn's tool results may follow its tool calls"
        )
    return shown


def _approved_kwargs(
    r: ApprovalRequest, decision: Decision, tool: Tool[Any, Any]
) -> dict[str, Any] | None:
    """For an approval, the validated keyword arguments to run with (``None`` for a reject)."""
    from agentkit.approvals import Approve, Reject

    if not isinstance(decision, Approve):
        assert isinstance(decision, Reject)
        return None
    args = r.arguments if decision.arguments is None else dict(decision.arguments)
    try:
        return tool.validate_arguments(args)
    except ToolArgumentsError as exc:
        raise UserError(
            f"the approved arguments of call {r.tool_call_id!r} do not fit "
            f"{r.tool_name!r}: {exc.message}"
        ) from None


def replace_arguments(message: Message, call_id: str, arguments: Mapping[str, Any]) -> Message:
    """``message`` (an assistant tool-call message) with one call's arguments replaced,
    so that the history shows what actually ran."""
    calls = []
    for tc in message.get("tool_calls") or ():
        if isinstance(tc, dict) and tc.get("id") == call_id:
            fn = dict(tc.get("function") or {})
            fn["arguments"] = json.dumps(dict(arguments), ensure_ascii=False)
            tc = {**tc, "function": fn}
        calls.append(tc)
    return {**message, "tool_calls": calls}


def reorder_turn(messages: list[Message], index: int) -> None:
    """Put the tool messages after ``messages[index]`` in the order of its calls."""
    order = {
        tc.get("id"): n
        for n, tc in enumerate(messages[index].get("tool_calls") or ())
        if isinstance(tc, dict)
    }
    end = index + 1
    while end < len(messages) and messages[end].get("role") == "tool":
        end += 1
    tail = messages[index + 1 : end]
    tail.sort(key=lambda m: order.get(m.get("tool_call_id"), len(order)))
    messages[index + 1 : end] = tail
