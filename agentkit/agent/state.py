"""``RunState``: one run's state and every decision of its loop, with no I/O."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentkit._execute import Invocation, Outcome
from agentkit._history import trim_turns
from agentkit._record import record
from agentkit._text import lone_surrogate
from agentkit.agent import forced_choice
from agentkit.agent.answers import Answers
from agentkit.agent.history import coerce_history, repair_history
from agentkit.agent.limits import Limits
from agentkit.agent.observe import ToolObservation
from agentkit.agent.pausing import (
    canonical as _canonical,
)
from agentkit.agent.pausing import (
    last_tool_turn,
    needs_approval,
    refusal,
)
from agentkit.agent.results import TOOL_FAILED, TOOL_TIMED_OUT, ToolResults
from agentkit.agent.resuming import Resuming
from agentkit.agent.sources import Listed, ToolSource, spec_with_sources
from agentkit.agent.spec import AgentSpec
from agentkit.context import RunContext
from agentkit.errors import (
    AgentkitError,
    EmptyResponseError,
    MaxTurnsExceeded,
    RepeatedToolCallError,
    ToolArgumentsError,
    UsageLimitExceeded,
    UserError,
)
from agentkit.messages import ChatCompletion, Message, ToolCall
from agentkit.prices import Prices
from agentkit.result import RunResult, ToolFailure
from agentkit.tool import Tool
from agentkit.usage import Usage

if TYPE_CHECKING:
    from agentkit.approvals import PausedRun

__all__ = [
    "TOOL_FAILED",
    "TOOL_TIMED_OUT",
    "CallOutcome",
    "PendingCall",
    "Request",
    "RunState",
]

logger = logging.getLogger("agentkit")


CallOutcome = Outcome
"""What running one call produced (kept under its old name)."""


@record(slots=True)
class Request:
    """One model request: the messages (with instructions) and the other create() kwargs."""

    messages: list[Message]
    kwargs: dict[str, Any]
    # the offered tools' names when a streamed answer's text must be held back while it
    # may be a tool call written as text (see text_calls.TextHold); None: nothing held
    hold_text: frozenset[str] | None = None


@record(slots=True)
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


class RunState(Resuming, Limits, ToolResults, Answers):
    """The state of one run and every decision of its loop (no I/O, not thread-safe)."""

    __slots__ = ()  # the attributes' slots are declared on StateBase

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
        # An async instructions function and how to start it (see agent.instructions).
        self.pending_instructions: tuple[object, Callable[[], Awaitable[Any]]] | None = None
        self.deps = deps
        self.depth = depth
        self.conversation_id: str | None = None
        self.sources: Sequence[ToolSource] = ()
        self.usage = Usage()
        self.prices: Prices | Mapping[str, Prices] | None = None  # see set_prices
        self.notes: list[str] = []
        self.tool_failures: list[ToolFailure] = []
        self.done = False
        self.ended = False  # the run's end is recorded (capture_run, observation)
        self.output: Any = None
        self._kwargs = spec.base_kwargs
        self._tool_choice = spec.tool_choice
        self._retries: dict[str, int] = {}
        # This run's own model requests, for max_turns: usage.requests also counts those of
        # the sub-agents its tools ran (which only usage_limits bound).
        self._turns = 0
        self._output_retries = 0
        self._last_signature: tuple[tuple[str, str], ...] | None = None
        self._repeats = 0
        self._last_failed = False  # the last turn's calls all failed with a retry error
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
        # The session's journal holds the resumed turn as decided (see decided_turn): a
        # failure leaves it there, for crash recovery, instead of answering "interrupted".
        self.journal_kept = False
        self.persist = False  # the run has a session: the flow yields Save effects
        self.saved = 0  # messages[:saved] are stored in the session
        self.saving = False  # a Save effect is being performed
        self._started = time.monotonic()
        self.deadline = None if spec.run_timeout is None else self._started + spec.run_timeout

        self.messages: list[Message] = self._first_messages(prompt, history, resume)

    def _first_messages(
        self,
        prompt: str | Message | None,
        history: Iterable[Message] | None,
        resume: PausedRun | None,
    ) -> list[Message]:
        """The run's messages at its start (history, then the prompt), with the ids seen."""
        if resume is not None:
            # The paused turn's calls are open on purpose: no repair, no prompt.
            msgs = list(resume.messages)
            self.usage += resume.usage
            self._turns = resume.usage.requests  # the paused run's requests count
            self._refused = [list(r) for r in resume.refused]
            prompt = None
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
                _check_text(prompt, "prompt")
                msgs.append({"role": "user", "content": prompt})
            elif isinstance(prompt, dict) and "role" in prompt:
                msgs.append(prompt)
            else:
                raise UserError(
                    f"prompt must be a str or a message dict, got {type(prompt).__name__}"
                )
        elif not msgs:
            raise UserError("A run needs a prompt or a non-empty history")
        if resume is not None:
            self.new_messages_start = last_tool_turn(msgs) + 1
        return msgs

    def add_source_tools(self, listed: Listed) -> None:
        """Add the tools the run's sources listed (see ``sources.spec_with_sources``)."""
        spec, notes = spec_with_sources(self.spec, listed)
        self.spec, self._kwargs, self._tool_choice = spec, spec.base_kwargs, spec.tool_choice
        self.notes.extend(notes)

    # ------------------------------------------------------------------ requests

    def next_request(self) -> Request:
        """The next model request; raises when a limit forbids another one."""
        self.check_deadline()
        used = self.usage.requests
        if self._turns >= self.spec.max_turns:
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
        self._check_tokens(before_request=True)
        self._check_budget()
        kwargs = dict(self._kwargs)
        if self._tool_choice is not None:
            kwargs["tool_choice"] = self._tool_choice
        sent = self.messages
        if self.spec.history_turns is not None:
            # This run's turn always goes whole: a request to fix an answer is no new turn.
            sent = trim_turns(sent, max(self.spec.history_turns, 1), current=self._turn_start())
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

    def _turn_start(self) -> int:
        """The index of the user message this run's turn starts at (the prompt's; on a
        resumed run, the one before the paused turn), or 0."""
        msgs = self.messages
        for i in range(min(self.new_messages_start, len(msgs) - 1), -1, -1):
            if msgs[i].get("role") == "user":
                return i
        return 0

    # ------------------------------------------------------------------ responses

    def apply_response(self, completion: ChatCompletion) -> list[PendingCall]:
        """Take in a response; return the tool calls to run (empty when none).

        When the list is empty, either the run is ``done`` or the model was asked to fix
        its structured output and ``next_request`` should be called again.
        """
        self.usage.add_response(completion.usage)
        self._turns += 1
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

        if not message.content and message.refusal:
            self._refusal_answer(message.refusal)
            return []
        self._final_answer(message.content, choice.finish_reason)
        return []

    def _recovered(self, completion: ChatCompletion) -> list[ToolCall] | None:
        """Tool calls the model wrote as text, when recovery is on (see text_calls)."""
        if not self.recover_text_calls or self._choice_sent == "none":
            return None
        from agentkit.agent.text_calls import recovered_calls, recovery_note  # when on only

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
        self._append_calls(calls, content)
        repeated = self._repeated(calls)
        pending = [self._pend(c, repeated) for c in calls]
        if repeated:
            self._forced_none = True
            self.notes.append(
                f"The model repeated the same call to {calls[0].name!r} {self._repeats} times "
                "in a row; agentkit did not run it again and asked for a final answer "
                "(tool_choice='none')."
            )
        to_run = sum(1 for pc in pending if pc.kwargs is not None and not pc.awaiting)
        self._count_tool_calls(to_run)  # a call with no arguments has kwargs {}: it counts
        self._pending = pending
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("tool turn: %s", ", ".join(f"{c.name}({c.id})" for c in calls))
        return pending

    def _append_calls(self, calls: list[ToolCall], content: str | None) -> None:
        """The assistant's tool-call message, every call with a unique id and JSON text."""
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

    def _repeated(self, calls: list[ToolCall]) -> bool:
        """Whether this turn repeats the last one once too often (not run then)."""
        signature = tuple((c.name, _canonical(c.arguments)) for c in calls)
        # A repeat of a call that only failed (ModelRetry, bad arguments) is a retry: the
        # tool's retry budget bounds it, not this guard.
        if signature == self._last_signature and not self._last_failed:
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
        return repeated

    def _pend(self, c: ToolCall, repeated: bool) -> PendingCall:
        """One call of the turn: ready to run, waiting for approval, or answered now."""
        pc = PendingCall(c)
        if repeated:
            pc.content = (
                f"Not run: this call is identical to your previous {self._repeats - 1} "
                "call(s). Use the result you already have and answer the user."
            )
            return pc
        tool = self.spec.tools.get(c.name)
        if tool is None:
            names = ", ".join(repr(n) for n in self.spec.tools) or "none"
            pc.content = f"Unknown tool {c.name!r}. Available tools: {names}."
            pc.is_error = pc.retry_error = True
            return pc
        pc.tool = tool
        try:
            kwargs = tool.validate_arguments(c.arguments)
        except ToolArgumentsError as exc:
            pc.content = f"{exc.message}. Fix the arguments and call the tool again."
            pc.is_error = pc.retry_error = True
            return pc
        refused = refusal(self._refused, c) if tool.needs_approval else None
        if refused is not None:
            pc.content, pc.is_error = refused, True
            return pc
        self._prepare(pc, tool, kwargs)
        if tool.needs_approval and needs_approval(tool, self._context(c), kwargs):
            pc.awaiting = True
        return pc

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


def _check_text(text: str, what: str) -> None:
    """``UserError`` if ``text`` holds a lone surrogate, which no UTF-8 request can carry."""
    at = lone_surrogate(text)
    if at is not None:
        raise UserError(
            f"The {what} holds {text[at]!r} at index {at}, a lone surrogate (not valid "
            "Unicode; text decoded with errors='surrogateescape' has them)"
        )
