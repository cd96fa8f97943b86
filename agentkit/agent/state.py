"""``RunState``: one run's state and every decision of its loop, with no I/O."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit._execute import Invocation, Outcome
from agentkit._history import trim_turns
from agentkit.agent import forced_choice
from agentkit.agent.history import INTERRUPTED, coerce_history, repair_history
from agentkit.agent.observe import ToolObservation
from agentkit.agent.pausing import (
    canonical as _canonical,
)
from agentkit.agent.pausing import (
    check_decisions,
    last_tool_turn,
    needs_approval,
    paused_turn,
    refusal,
    rejected_content,
    reorder_turn,
    replace_arguments,
)
from agentkit.agent.sources import Listed, ToolSource, spec_with_sources
from agentkit.agent.spec import AgentSpec
from agentkit.agent.text_calls import recovered_calls, recovery_note
from agentkit.approvals import Approve, PausedRun, Reject
from agentkit.context import RunContext
from agentkit.errors import (
    AgentkitError,
    EmptyResponseError,
    MaxTurnsExceeded,
    ModelRetry,
    OutputValidationError,
    RepeatedToolCallError,
    ResponseTruncatedError,
    RunTimeoutError,
    ToolArgumentsError,
    ToolExecutionError,
    ToolRetriesExceeded,
    UsageLimitExceeded,
    UserError,
)
from agentkit.messages import ChatCompletion, Message, ToolCall
from agentkit.prices import Prices, response_cost
from agentkit.result import RunResult, ToolFailure
from agentkit.tool import Tool, serialize_result
from agentkit.usage import Usage

__all__ = ["CallOutcome", "PendingCall", "Request", "RunState"]

logger = logging.getLogger("agentkit")

TOOL_FAILED = "The tool failed to run. Do not retry the same call; tell the user if it matters."
TOOL_TIMED_OUT = "The tool did not finish in time. Do not retry the same call."

CallOutcome = Outcome
"""What running one call produced (kept under its old name)."""


@dataclass(slots=True)
class Request:
    """One model request: the messages (with instructions) and the other create() kwargs."""

    messages: list[Message]
    kwargs: dict[str, Any]
    # the offered tools' names when a streamed answer's text must be held back while it
    # may be a tool call written as text (see text_calls.TextHold); None: nothing held
    hold_text: frozenset[str] | None = None


@dataclass(slots=True)
class PendingCall:
    """A tool call of the current turn.

    ``kwargs`` is set when the driver must run ``tool`` with it (and ``ctx``, within
    ``timeout``); otherwise ``content`` already holds the answer for the model.
    After ``apply_results``, ``content`` and ``is_error`` hold what was sent back.
    """

    call: ToolCall
    tool: Tool[Any, Any] | None = None
    kwargs: dict[str, Any] | None = None
    ctx: RunContext[Any] | None = None
    timeout: float | None = None
    content: str | None = None
    is_error: bool = False
    retry_error: bool = False  # counts against the tool's retry budget
    observation: ToolObservation | None = None
    awaiting: bool = False  # waits for a person's decision: not run in this turn

    def bind(self, *, sync: bool) -> Invocation:
        """The call to run (only for calls with ``kwargs``)."""
        assert self.tool is not None and self.kwargs is not None
        obs = self.observation
        around = None if obs is None else obs.activate
        return self.tool.bind(self.kwargs, self.ctx, timeout=self.timeout, sync=sync, around=around)


class RunState:
    """The state of one run and every decision of its loop (no I/O, not thread-safe)."""

    def __init__(
        self,
        spec: AgentSpec,
        *,
        system: Message | None,
        prompt: str | Message | None,
        history: Iterable[Message] | None = None,
        deps: Any = None,
        depth: int = 0,
        resume: PausedRun | None = None,
        decisions: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.system = system
        self.deps = deps
        self.depth = depth
        self.conversation_id: str | None = None
        self.sources: Sequence[ToolSource] = ()
        self.usage = Usage()
        self.prices: Prices | Mapping[str, Prices] | None = None  # see set_prices
        self.notes: list[str] = []
        self.tool_failures: list[ToolFailure] = []
        self.done = False
        self.output: Any = None
        self._kwargs = spec.base_kwargs
        self._tool_choice = spec.tool_choice
        self._retries: dict[str, int] = {}
        self._output_retries = 0
        self._last_signature: tuple[tuple[str, str], ...] | None = None
        self._repeats = 0
        self._forced_none = False
        # Recover tool calls written as text: the agent's setting, else (None) the
        # client profile's, which the driver's caller fills in.
        self.recover_text_calls: bool | None = spec.recover_text_tool_calls
        self._choice_sent: Any = None
        self._choice_restated = False
        self._pending: list[PendingCall] = []
        self.pause: PausedRun | None = None
        self._refused: list[list[str]] = []
        self._resume = resume
        self._decisions = decisions or {}
        self._resumed_index: int | None = None
        self.was_paused = resume is not None and bool(resume.fingerprint)
        self.pause_undecided = False  # crash recovery: undecided calls pause again
        self.persist = False  # the run has a session: the flow yields Save effects
        self.saved = 0  # messages[:saved] are stored in the session
        self.saving = False  # a Save effect is being performed
        self._started = time.monotonic()
        self.deadline = None if spec.run_timeout is None else self._started + spec.run_timeout

        if resume is not None:
            # The paused turn's calls are open on purpose: no repair, no prompt.
            msgs = list(resume.messages)
            self.usage += resume.usage
            self._refused = [list(r) for r in resume.refused]
            prompt = None
            history = msgs
        else:
            msgs = [] if history is None else coerce_history(history)
        self._ids = {
            tc["id"]
            for m in msgs
            if m.get("role") == "assistant"
            for tc in m.get("tool_calls") or ()
            if isinstance(tc, dict) and isinstance(tc.get("id"), str)
        }
        self.new_messages_start = len(msgs)
        if prompt is not None:
            if isinstance(prompt, str):
                msgs.append({"role": "user", "content": prompt})
            elif isinstance(prompt, dict) and "role" in prompt:
                msgs.append(prompt)
            else:
                raise UserError(
                    f"prompt must be a str or a message dict, got {type(prompt).__name__}"
                )
        elif not msgs:
            raise UserError("A run needs a prompt or a non-empty history")
        self.messages: list[Message] = msgs
        if resume is not None:
            self.new_messages_start = last_tool_turn(msgs) + 1

    def add_source_tools(self, listed: Listed) -> None:
        """Add the tools the run's sources listed (see ``sources.spec_with_sources``)."""
        spec, notes = spec_with_sources(self.spec, listed)
        self.spec, self._kwargs, self._tool_choice = spec, spec.base_kwargs, spec.tool_choice
        self.notes.extend(notes)

    # ------------------------------------------------------------------ requests

    def remaining(self) -> float | None:
        """Seconds left before the run's deadline (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_deadline(self) -> None:
        """Raise ``RunTimeoutError`` when the run's deadline has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise RunTimeoutError(
                f"The run exceeded its time limit of {self.spec.run_timeout} s",
                messages=self.snapshot(),
            )

    def next_request(self) -> Request:
        """The next model request; raises when a limit forbids another one."""
        self.check_deadline()
        used = self.usage.requests
        if used >= self.spec.max_turns:
            raise MaxTurnsExceeded(
                f"The run reached max_turns={self.spec.max_turns} model requests without a "
                "final answer",
                messages=self.snapshot(),
            )
        limits = self.spec.usage_limits
        if limits is not None and limits.request_limit is not None and used >= limits.request_limit:
            raise UsageLimitExceeded(
                f"The run reached its request limit of {limits.request_limit}",
                messages=self.snapshot(),
            )
        self._check_budget()
        kwargs = dict(self._kwargs)
        if self._tool_choice is not None:
            kwargs["tool_choice"] = self._tool_choice
        sent = self.messages
        if self.spec.history_turns is not None:
            sent = trim_turns(sent, max(self.spec.history_turns, 1))  # this turn always goes
        messages = [self.system, *sent] if self.system else list(sent)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request %d: %d messages, tool_choice=%r",
                used + 1,
                len(messages),
                self._tool_choice,
            )
        self._choice_sent = kwargs.get("tool_choice")
        recover = self.recover_text_calls and self._choice_sent != "none"
        return Request(messages, kwargs, frozenset(self.spec.tools) if recover else None)

    # ------------------------------------------------------------------ responses

    def apply_response(self, completion: ChatCompletion) -> list[PendingCall]:
        """Take in a response; return the tool calls to run (empty when none).

        When the list is empty, either the run is ``done`` or the model was asked to fix
        its structured output and ``next_request`` should be called again.
        """
        self.usage.add_response(completion.usage)
        self._charge(completion)
        if not completion.choices:
            raise EmptyResponseError(
                "The server answered with no choices", messages=self.snapshot()
            )
        choice = completion.choices[0]
        message = choice.message
        if message.tool_calls:
            return self._tool_turn(message.tool_calls, message.content)
        recovered = self._recovered(completion)
        if recovered is not None:
            return self._tool_turn(recovered, None)
        if forced_choice.is_forced(self._choice_sent):
            self._forced_choice_ignored(message.content)
            return []

        content = message.content
        self.messages.append({"role": "assistant", "content": content or ""})
        self._check_tokens()
        if choice.finish_reason == "length":
            if not content:
                raise ResponseTruncatedError(
                    "The model hit its token limit (finish_reason='length') before writing "
                    "any answer; raise max_completion_tokens",
                    messages=self.snapshot(),
                )
            self.notes.append("The answer was cut off at the token limit (finish_reason='length').")
        output = self.spec.output
        if output is None:
            self.output = content or ""
            self.done = True
            logger.debug("final answer (%d chars)", len(self.output))
            return []
        try:
            self.output = output.validate(content or "")
        except ValueError as exc:
            self._output_retries += 1
            if self._output_retries > self.spec.output_retries:
                raise OutputValidationError(
                    f"The structured output stayed invalid after {self.spec.output_retries} "
                    f"retries: {exc}",
                    content=content,
                    messages=self.snapshot(),
                ) from None
            logger.debug("invalid structured output, asking again: %s", exc)
            self.messages.append(
                {
                    "role": "user",
                    "content": f"{exc}\nReply again with only the corrected JSON object.",
                }
            )
            return []
        self.done = True
        return []

    def _recovered(self, completion: ChatCompletion) -> list[ToolCall] | None:
        """Tool calls the model wrote as text, when recovery is on (see text_calls)."""
        if not self.recover_text_calls or self._choice_sent == "none":
            return None
        calls = recovered_calls(completion, self.spec.tools)
        if calls is not None:
            self.notes.append(recovery_note(calls))
        return calls

    def _forced_choice_ignored(self, content: str | None) -> None:
        """A forced tool choice answered with text: ask once more, then raise."""
        choice = self._choice_sent
        self.messages.append({"role": "assistant", "content": content or ""})
        self._check_tokens()
        if self._choice_restated:
            raise forced_choice.ignored_error(choice, self.snapshot())
        self._choice_restated = True
        self.notes.append(forced_choice.ignored_note(choice))
        self.messages.append({"role": "user", "content": forced_choice.restatement(choice)})

    def _tool_turn(self, calls: list[ToolCall], content: str | None) -> list[PendingCall]:
        self._choice_restated = False
        wire_calls = []
        for n, c in enumerate(calls):
            if not c.id or c.id in self._ids:
                # Without a unique id no tool result can answer the call (and the server
                # rejects the history): keep the model's ids where unique, invent the rest.
                fresh = f"call_{self.usage.requests}_{n}"
                while fresh in self._ids:
                    fresh += "_"
                c.id = fresh
            self._ids.add(c.id)
            if not c.arguments.strip():
                # An empty arguments text is not valid JSON; servers reject it in history.
                c.arguments = "{}"
            wire_calls.append(c.to_dict())
        msg: Message = {"role": "assistant"}
        if content:
            msg["content"] = content
        msg["tool_calls"] = wire_calls
        self.messages.append(msg)
        self._check_tokens()

        signature = tuple((c.name, _canonical(c.arguments)) for c in calls)
        if signature == self._last_signature:
            self._repeats += 1
        else:
            self._last_signature, self._repeats, self._forced_none = signature, 1, False
        limit = self.spec.max_repeated_tool_calls
        repeated = limit is not None and self._repeats > limit
        if repeated and self._forced_none:
            raise RepeatedToolCallError(
                f"The model kept calling {calls[0].name!r} with the same arguments even "
                "after tool_choice='none'",
                tool_name=calls[0].name,
                messages=self.snapshot(),
            )

        pending = []
        to_run = 0
        for c in calls:
            pc = PendingCall(c)
            pending.append(pc)
            if repeated:
                pc.content = (
                    f"Not run: this call is identical to your previous {self._repeats - 1} "
                    "call(s). Use the result you already have and answer the user."
                )
                continue
            tool = self.spec.tools.get(c.name)
            if tool is None:
                names = ", ".join(repr(n) for n in self.spec.tools) or "none"
                pc.content = f"Unknown tool {c.name!r}. Available tools: {names}."
                pc.is_error = pc.retry_error = True
                continue
            pc.tool = tool
            try:
                kwargs = tool.validate_arguments(c.arguments)
            except ToolArgumentsError as exc:
                pc.content = f"{exc.message}. Fix the arguments and call the tool again."
                pc.is_error = pc.retry_error = True
                continue
            refused = refusal(self._refused, c) if tool.needs_approval else None
            if refused is not None:
                pc.content, pc.is_error = refused, True
                continue
            self._prepare(pc, tool, kwargs)
            if tool.needs_approval and needs_approval(tool, self._context(c), kwargs):
                pc.awaiting = True
                continue
            to_run += 1

        if repeated:
            self._forced_none = True
            self.notes.append(
                f"The model repeated the same call to {calls[0].name!r} {self._repeats} times "
                "in a row; agentkit did not run it again and asked for a final answer "
                "(tool_choice='none')."
            )
        self._count_tool_calls(to_run)
        self._pending = pending
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("tool turn: %s", ", ".join(f"{c.name}({c.id})" for c in calls))
        return pending

    def _count_tool_calls(self, to_run: int) -> None:
        limits = self.spec.usage_limits
        if (
            limits is not None
            and limits.tool_calls_limit is not None
            and self.usage.tool_calls + to_run > limits.tool_calls_limit
        ):
            raise UsageLimitExceeded(
                f"Running {to_run} more tool call(s) would exceed the tool call limit of "
                f"{limits.tool_calls_limit}",
                messages=self.snapshot(),
            )
        self.usage.tool_calls += to_run

    def _context(self, c: ToolCall) -> RunContext[Any]:
        return RunContext(
            self.deps,
            # A copy: a tool that edits its view must not change the run's history.
            list(self.messages),
            self.usage,
            c.id,
            c.name,
            self._retries.get(c.name, 0),
            self.spec.usage_limits,
            self.depth,
        )

    def _prepare(self, pc: PendingCall, tool: Tool[Any, Any], kwargs: dict[str, Any]) -> None:
        """Make ``pc`` ready to run: arguments, context, timeout (capped by the deadline)."""
        pc.tool, pc.kwargs = tool, kwargs
        if tool.takes_context:
            pc.ctx = self._context(pc.call)
        timeout = tool.timeout
        remaining = self.remaining()
        if remaining is not None:
            timeout = remaining if timeout is None else min(timeout, remaining)
        pc.timeout = timeout

    # ------------------------------------------------------------------ approval

    def pause_if_waiting(self, calls: Sequence[PendingCall]) -> bool:
        """After a tool turn ran: stop the run when some of its calls wait for a person."""
        waiting = [pc.call for pc in calls if pc.awaiting]
        if not waiting:
            return False
        self.pause = paused_turn(
            self.messages, waiting, self.spec.tools, self.usage, self._refused
        )
        self.done = True
        self.notes.append(f"The run paused: {len(waiting)} tool call(s) wait for approval.")
        return True

    @property
    def resuming(self) -> bool:
        """Whether this run starts by finishing a paused turn."""
        return self._resume is not None and self._resumed_index is None

    def resume_calls(self) -> list[PendingCall]:
        """The paused turn's calls with their decisions (raises ``UserError`` on a state or
        decisions that do not check out); apply their outcomes with ``apply_results``."""
        assert self._resume is not None
        decisions = dict(self._decisions)
        if self.pause_undecided:  # crash recovery: a call that may run twice runs again
            for r in self._resume.requests:
                tool = self.spec.tools.get(r.tool_name)
                if r.tool_call_id not in decisions and tool is not None and tool.idempotent:
                    decisions[r.tool_call_id] = Approve()
        checked = check_decisions(
            self._resume, decisions, self.spec.tools, recovering=self.pause_undecided
        )
        index = self._resumed_index = last_tool_turn(self.messages)
        pending = []
        to_run = 0
        for request, decision, kwargs in checked:
            call = ToolCall(request.tool_call_id, request.tool_name, "")
            pc = PendingCall(call)
            tool = self.spec.tools[request.tool_name]
            if decision is None:  # recovery of a call that may not run twice: ask a person
                call.arguments = json.dumps(request.arguments, ensure_ascii=False)
                pc.tool, pc.awaiting = tool, True
            elif kwargs is None:
                assert isinstance(decision, Reject)
                call.arguments = json.dumps(request.arguments, ensure_ascii=False)
                pc.content, pc.is_error = rejected_content(decision.reason), True
                self._refused.append([call.name, _canonical(call.arguments), decision.reason])
            else:
                assert isinstance(decision, Approve)
                if decision.arguments is not None:
                    replaced = replace_arguments(
                        self.messages[index], call.id, decision.arguments
                    )
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
            (tc["function"]["name"], _canonical(tc["function"].get("arguments") or ""))
            for tc in self.messages[index].get("tool_calls") or ()
        )
        self._repeats = 1
        return pending

    def finish_resumed_turn(self) -> None:
        """The paused turn is complete: its tool messages back in the model's order."""
        if self._resumed_index is not None:
            reorder_turn(self.messages, self._resumed_index)

    def _check_tokens(self) -> None:
        limits = self.spec.usage_limits
        if (
            limits is not None
            and limits.total_tokens_limit is not None
            and self.usage.total_tokens > limits.total_tokens_limit
        ):
            raise UsageLimitExceeded(
                f"The run used {self.usage.total_tokens} tokens, over its limit of "
                f"{limits.total_tokens_limit}",
                messages=self.snapshot(),
            )

    # ------------------------------------------------------------------ cost (prices.py)

    def set_prices(self, prices: Prices | Mapping[str, Prices] | None) -> None:
        """Price this run's responses (``usage.cost`` starts at 0)."""
        self.prices = prices
        if prices is not None:
            self.usage.cost = 0.0
        limits = self.spec.usage_limits
        if limits is not None and limits.cost_limit is not None and prices is None:
            raise UserError("UsageLimits(cost_limit=...) needs prices: Agent(..., prices=...)")

    def _check_budget(self, *, before_request: bool = True) -> None:
        limits, cost = self.spec.usage_limits, self.usage.cost
        if limits is None or limits.cost_limit is None:
            return
        if cost is None:  # a response (maybe a sub-agent's) had no price: budget unknown
            raise UsageLimitExceeded(
                "A response could not be priced (no usage reported, or no price for its "
                f"model), so the cost limit of {limits.cost_limit} cannot be kept",
                messages=self.snapshot(),
            )
        if cost > limits.cost_limit or (before_request and cost >= limits.cost_limit):
            raise UsageLimitExceeded(
                f"The run cost {cost:.6g}, reaching its limit of {limits.cost_limit}",
                messages=self.snapshot(),
            )

    def _charge(self, completion: ChatCompletion) -> None:
        if self.prices is None:
            return
        model = self._kwargs.get("model")
        self.usage.add_cost(response_cost(self.prices, completion.usage, completion.model, model))
        self._check_budget(before_request=False)

    # ------------------------------------------------------------------ tool results

    def apply_results(self, outcomes: Sequence[CallOutcome | None]) -> list[PendingCall]:
        """Append one tool message per call, in the order the model emitted the calls.

        ``outcomes[i]`` is the outcome of the i-th pending call (``None`` for calls that
        were not to be run). Raises ``ToolRetriesExceeded`` when a tool used up its retry
        budget, or ``ToolExecutionError`` (``on_tool_error="raise"``), after appending.
        """
        pending, self._pending = self._pending, []
        if len(outcomes) != len(pending):
            raise ValueError("apply_results needs one outcome per pending call")
        if any(o is not None and o.timed_out for o in outcomes):
            self.check_deadline()  # a call cut by the run's deadline ends the run
        exhausted: PendingCall | None = None
        to_raise: tuple[PendingCall, BaseException] | None = None
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
                used = self._retries[name] = self._retries.get(name, 0) + 1
                budget = pc.tool.max_retries if pc.tool else self.spec.unknown_tool_retries
                if used > budget and exhausted is None:
                    exhausted = pc
        forced = self._tool_choice is not None and self._tool_choice not in ("auto", "none")
        if forced and self.spec.reset_tool_choice:
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
            return f"{err.message}\nFix the problem and try again.", err, 0
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

    # ------------------------------------------------------------------ the end

    def result(self) -> RunResult[Any]:
        """The finished run's result."""
        return RunResult(
            output=self.output,
            messages=self.messages,
            usage=self.usage,
            tool_failures=self.tool_failures,
            notes=self.notes,
            new_messages_start=self.new_messages_start,
            pause=self.pause,
        )

    def snapshot(self) -> list[Message]:
        """The conversation so far, with every open tool call answered (a valid history)."""
        return list(repair_history(self.messages))

    def fail(self, exc: BaseException) -> BaseException:
        """Give ``exc`` the conversation so far as ``.messages`` when it is agentkit's own.

        Foreign exceptions (a ``CancelledError``, a tool's own error) are left untouched;
        the messages reach the caller through ``agentkit.capture_run()`` instead.
        """
        if isinstance(exc, AgentkitError) and not exc.messages:
            exc.messages = self.snapshot()
        return exc
