"""Turning a tool call's outcome into the tool message the model gets (a ``RunState`` part)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentkit._history import INTERRUPTED
from agentkit.agent._state_base import StateBase
from agentkit.errors import (
    AgentkitError,
    ModelRetry,
    ToolExecutionError,
    ToolRetriesExceeded,
)
from agentkit.messages import Message
from agentkit.result import ToolFailure
from agentkit.tool import serialize_result

if TYPE_CHECKING:
    from agentkit._execute import Outcome as CallOutcome
    from agentkit.agent.state import PendingCall

__all__ = ["TOOL_FAILED", "TOOL_TIMED_OUT", "ToolResults"]

logger = logging.getLogger("agentkit")

TOOL_FAILED = "The tool failed to run. Do not retry the same call; tell the user if it matters."
TOOL_TIMED_OUT = "The tool did not finish in time. Do not retry the same call."


class ToolResults(StateBase):
    """How finished calls become tool messages, failures and retries."""

    __slots__ = ()

    def apply_results(self, outcomes: Sequence[CallOutcome | None]) -> list[PendingCall]:
        """Append one tool message per call, in the order the model emitted the calls.

        ``outcomes[i]`` is the outcome of the i-th pending call (``None`` for calls that
        were not to be run). Raises ``ToolRetriesExceeded`` when a tool used up its retry
        budget, or ``ToolExecutionError`` (``on_tool_error="raise"``), after appending.
        """
        pending, self._pending = self._pending, []
        if len(outcomes) != len(pending):
            raise ValueError("apply_results needs one outcome per pending call")
        exhausted, to_raise = self._append_results(pending, outcomes)
        if any(o is not None and o.timed_out for o in outcomes):
            self.check_deadline()  # a call cut by the run's deadline ends the run
        ran = [pc for pc in pending if not pc.awaiting]
        self._last_failed = bool(ran) and all(pc.retry_error for pc in ran)
        forced = self._tool_choice is not None and self._tool_choice not in ("auto", "none")
        # A forced turn whose calls were all sent back to be fixed (bad arguments, an
        # unknown tool, ModelRetry) did not make the call: the fix is still forced (the
        # retry budgets bound it), lest the model answer with text instead.
        if forced and self.spec.reset_tool_choice and not self._last_failed:
            self._tool_choice = "auto"
        if self._forced_none:
            self._tool_choice = "none"
        if to_raise is not None:
            pc, err = to_raise
            exc = ToolExecutionError(
                f"Tool {pc.call.name!r} raised {type(err).__name__}: {err}",
                tool_name=pc.call.name,
                messages=self.snapshot(),
            )
            raise exc from err
        if exhausted is not None:
            name = exhausted.call.name
            raise ToolRetriesExceeded(
                f"Tool {name!r} exceeded its retry budget; last error: {exhausted.content}",
                tool_name=name,
                messages=self.snapshot(),
            )
        return pending

    def keep_finished(self, outcomes: Sequence[CallOutcome | None]) -> None:
        """A turn cut short (cancelled): append the results of the calls that finished,
        and answer the others as interrupted; nothing is raised."""
        pending, self._pending = self._pending, []
        self._append_results(pending, outcomes)

    def _append_results(
        self, pending: list[PendingCall], outcomes: Sequence[CallOutcome | None]
    ) -> tuple[PendingCall | None, tuple[PendingCall, BaseException] | None]:
        """Append the calls' tool messages; returns the call whose tool used up its retry
        budget, and the error to raise under ``on_tool_error="raise"`` (first of each)."""
        exhausted: PendingCall | None = None
        to_raise: tuple[PendingCall, BaseException] | None = None
        # A budget counts the turns a tool's calls are sent back, not the calls: three
        # parallel calls with the same slip are one retry, and the model gets to fix them.
        retried: set[str] = set()
        for pc, outcome in zip(pending, outcomes, strict=True):
            if pc.awaiting:
                continue  # answered when the run resumes
            if pc.kwargs is not None:
                if outcome is None:
                    pc.content, pc.is_error = INTERRUPTED, True
                else:
                    err = self._classify(pc, outcome)
                    if err is not None and to_raise is None:
                        to_raise = (pc, err)
            content = pc.content if pc.content is not None else ""
            self.messages.append({"role": "tool", "tool_call_id": pc.call.id, "content": content})
            if pc.retry_error:
                name = pc.call.name
                if name not in retried:
                    retried.add(name)
                    self._retries[name] = self._retries.get(name, 0) + 1
                used = self._retries[name]
                budget = pc.tool.max_retries if pc.tool else self.spec.unknown_tool_retries
                if used > budget and exhausted is None:
                    exhausted = pc
        return exhausted, to_raise

    def _content(
        self, pc: PendingCall, outcome: CallOutcome
    ) -> tuple[str, BaseException | None, int]:
        """The tool message content for ``outcome``, the error it stands for, and the
        length the result had before truncation (pure)."""
        err = outcome.error
        if err is None:
            try:
                content = serialize_result(outcome.value)
            except AgentkitError as exc:
                err = exc
            else:
                full = len(content)
                limit = self.spec.max_tool_result_chars
                if limit is not None and full > limit:
                    content = (
                        f"{content[:limit]}\n[truncated: the result had {full} "
                        f"characters; only the first {limit} are shown]"
                    )
                return content, None, full
        if isinstance(err, ModelRetry):
            hint = self.spec.retry_hint
            return (f"{err.message}\n{hint}" if hint else err.message), err, 0
        return (TOOL_TIMED_OUT if outcome.timed_out else TOOL_FAILED), err, 0

    def journal_message(self, pc: PendingCall, outcome: CallOutcome) -> Message:
        """The tool message a finished call will add, for the session's journal."""
        content = self._content(pc, outcome)[0]
        return {"role": "tool", "tool_call_id": pc.call.id, "content": content}

    def _classify(self, pc: PendingCall, outcome: CallOutcome) -> BaseException | None:
        """Set ``pc.content``; return the exception to raise under ``on_tool_error="raise"``."""
        name = pc.call.name
        pc.content, err, full = self._content(pc, outcome)
        if err is None:
            limit = self.spec.max_tool_result_chars
            if limit is not None and full > limit:
                self.notes.append(
                    f"The result of {name!r} ({full} characters) was truncated "
                    f"to {limit} characters."
                )
            return None
        if isinstance(err, ModelRetry):
            pc.is_error = pc.retry_error = True
            return None
        pc.is_error = True
        timed_out = outcome.timed_out
        self.tool_failures.append(
            ToolFailure(name, pc.call.id, type(err).__name__, str(err) or type(err).__name__)
        )
        if timed_out:
            logger.warning("tool %r (call %s) timed out", name, pc.call.id)
        else:
            logger.error(
                "tool %r (call %s) raised %s",
                name,
                pc.call.id,
                type(err).__name__,
                exc_info=(type(err), err, err.__traceback__),
            )
        return err if self.spec.on_tool_error == "raise" else None
