"""Pausing a run's tool turn for approval and finishing it on resume (a ``RunState`` part).

The checks themselves are pure functions in ``agentkit.agent.pausing``; this part applies
them to the run's state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentkit.agent._state_base import StateBase
from agentkit.agent.pausing import (
    canonical,
    check_decisions,
    last_tool_turn,
    needs_approval,
    paused_turn,
    rejected_content,
    reorder_turn,
    replace_arguments,
)
from agentkit.errors import ToolArgumentsError
from agentkit.messages import Message, ToolCall
from agentkit.tool import Tool

if TYPE_CHECKING:
    from agentkit.agent.state import PendingCall
    from agentkit.approvals import ApprovalRequest

__all__ = ["Resuming"]


class Resuming(StateBase):
    """The approval steps of a run: pause after a turn, resume a paused one."""

    __slots__ = ()

    def pause_if_waiting(self, calls: Sequence[PendingCall]) -> bool:
        """After a tool turn ran: stop the run when some of its calls wait for a person."""
        waiting = [pc.call for pc in calls if pc.awaiting]
        if not waiting:
            return False
        # Call ids are unique in a run, so only the resumed turn's calls can match.
        earlier = self._resume.requests if self._resume is not None else ()
        interrupted = [r.tool_call_id for r in earlier if r.interrupted]
        self.pause = paused_turn(
            self.messages, waiting, self.spec.tools, self.usage, self._refused, interrupted
        )
        self.done = True
        self.notes.append(f"The run paused: {len(waiting)} tool call(s) wait for approval.")
        flagged = [r.tool_call_id for r in self.pause.requests if r.interrupted]
        if flagged:
            self.notes.append(
                f"Call(s) {flagged} started before and left no result (the run crashed or "
                "was cancelled, perhaps after they were approved): they may have run already."
            )
        return True

    @property
    def resuming(self) -> bool:
        """Whether this run starts by finishing a paused turn."""
        return self._resume is not None and self._resumed_index is None

    def resume_calls(self) -> list[PendingCall]:
        """The paused turn's calls with their decisions (raises ``UserError`` on a state or
        decisions that do not check out); apply their outcomes with ``apply_results``."""
        from agentkit.approvals import Approve, Reject

        assert self._resume is not None
        decisions = dict(self._decisions)
        if self.pause_undecided:
            # Crash recovery: a call that may run twice runs again; one that may not waits
            # for a person, even if decisions came with this resume: they were taken
            # before anyone could know that it may have run (a retried approval), and
            # those for calls the journal answered already are spent.
            for m in self.messages[last_tool_turn(self.messages) + 1 :]:
                decisions.pop(str(m.get("tool_call_id")), None)
            for r in self._resume.requests:
                tool = self.spec.tools.get(r.tool_name)
                if tool is not None and not tool.idempotent:
                    decisions.pop(r.tool_call_id, None)
                elif (
                    r.tool_call_id not in decisions
                    and tool is not None
                    and not self._must_ask(tool, r)
                ):
                    decisions[r.tool_call_id] = Approve()
        checked = check_decisions(
            self._resume, decisions, self.spec.tools, recovering=self.pause_undecided
        )
        index = self._resumed_index = last_tool_turn(self.messages)
        pending = []
        to_run = 0
        for request, decision, kwargs in checked:
            call = ToolCall(request.tool_call_id, request.tool_name, "")
            pc = _pending_call(call)
            tool = self.spec.tools[request.tool_name]
            if decision is None:  # recovery of a call that may not run twice: ask a person
                call.arguments = json.dumps(request.arguments, ensure_ascii=False)
                pc.tool, pc.awaiting = tool, True
            elif kwargs is None:
                assert isinstance(decision, Reject)
                call.arguments = json.dumps(request.arguments, ensure_ascii=False)
                pc.content, pc.is_error = rejected_content(decision.reason), True
                self._refused.append([call.name, canonical(call.arguments), decision.reason])
            else:
                assert isinstance(decision, Approve)
                if decision.arguments is not None:
                    replaced = replace_arguments(self.messages[index], call.id, decision.arguments)
                    self.messages[index] = replaced
                call.arguments = json.dumps(
                    dict(decision.arguments or request.arguments), ensure_ascii=False
                )
                self._prepare(pc, tool, kwargs)
                to_run += 1
            pending.append(pc)
        self._count_tool_calls(to_run)
        self._pending = pending
        self._last_signature = tuple(
            (tc["function"]["name"], canonical(tc["function"].get("arguments") or ""))
            for tc in self.messages[index].get("tool_calls") or ()
        )
        self._repeats = 1
        return pending

    def _must_ask(self, tool: Tool[Any, Any], r: ApprovalRequest) -> bool:
        """Whether a dead run's unanswered call of an idempotent tool waits for a person
        instead of running again: it needs approval, and the journal cannot tell whether
        anyone gave it (the run may have died before its pause was stored)."""
        if not tool.needs_approval:
            return False
        try:
            kwargs = tool.validate_arguments(r.arguments)
        except ToolArgumentsError:
            return True
        call = ToolCall(r.tool_call_id, r.tool_name, json.dumps(r.arguments))
        return needs_approval(tool, self._context(call), kwargs)

    def decided_turn(self) -> tuple[Message, list[Message]]:
        """The resumed turn as decided, for the session's journal before its approved calls
        run: the assistant message (with the arguments that will run) and the results it
        has (the calls run before the pause, the refused ones). The pause goes with that
        write, so a crash or a cancellation from here on leaves the turn to crash recovery,
        which asks again for a call that may not run twice, flagged ``interrupted``."""
        assert self._resumed_index is not None
        index = self._resumed_index
        refused = [
            {"role": "tool", "tool_call_id": pc.call.id, "content": pc.content}
            for pc in self._pending
            if pc.kwargs is None and not pc.awaiting and pc.content is not None
        ]
        self.journal_kept = True
        return self.messages[index], [*self.messages[index + 1 :], *refused]

    def finish_resumed_turn(self) -> None:
        """The paused turn is complete: its tool messages back in the model's order."""
        if self._resumed_index is not None:
            reorder_turn(self.messages, self._resumed_index)


def _pending_call(call: ToolCall) -> PendingCall:
    from agentkit.agent.state import PendingCall

    return PendingCall(call)
