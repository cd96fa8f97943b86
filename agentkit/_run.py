"""The agent run as a pure step machine: every decision of the loop, and no I/O.

The sync and async drivers in ``agent.py`` are thin shells around ``RunState``::

    state = RunState(spec, system=..., prompt=..., history=..., deps=...)
    while not state.done:
        request = state.next_request()          # raises on a limit
        completion = <send request.messages with request.kwargs>
        calls = state.apply_response(completion)
        if calls:
            outcomes = <run each call with call.kwargs is not None, concurrently>
            state.apply_results(outcomes)
    result = state.result()

Anything raised out of a run goes through ``state.fail(exc)``, which attaches the
conversation so far (with every tool call answered) as ``exc.messages``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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
from agentkit.result import RunResult, ToolFailure
from agentkit.tool import Tool, serialize_result
from agentkit.usage import Usage, UsageLimits

__all__ = [
    "AgentSpec",
    "CallOutcome",
    "ModelSettings",
    "OutputSpec",
    "PendingCall",
    "Request",
    "RunState",
    "build_kwargs",
    "repair_history",
]

logger = logging.getLogger("agentkit")

INTERRUPTED = "Tool call was interrupted before it returned a result."
TOOL_FAILED = "The tool failed to run. Do not retry the same call; tell the user if it matters."
TOOL_TIMED_OUT = "The tool did not finish in time. Do not retry the same call."

OnToolError = Literal["report", "raise"]
OutputMode = Literal["json_object", "json_schema"]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Sampling and tool-calling settings sent with every request of a run.

    ``None`` means "not sent" (the provider's default applies).

    Attributes:
        temperature: Randomness.
        top_p: Nucleus sampling.
        max_completion_tokens: Most output tokens per response.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or
            ``{"type": "function", "function": {"name": ...}}``. A forced choice applies
            to the first tool turn only, unless the agent sets ``reset_tool_choice=False``.
        parallel_tool_calls: Whether the model may call several tools in one turn.
        extra_body: More JSON fields for the request body.
    """

    temperature: float | None = None
    top_p: float | None = None
    max_completion_tokens: int | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    extra_body: Mapping[str, Any] | None = None

    @classmethod
    def coerce(cls, value: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
        """Accept a ``ModelSettings``, a mapping of its fields, or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, ModelSettings):
            return value
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise UserError(
                f"Unknown model setting(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**value)

    def merged(self, other: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
        """These settings overridden by the non-``None`` fields of ``other``."""
        if other is None:
            return self
        o = ModelSettings.coerce(other)
        changes = {
            f.name: getattr(o, f.name)
            for f in dataclasses.fields(o)
            if getattr(o, f.name) is not None
        }
        return dataclasses.replace(self, **changes) if changes else self


class OutputSpec:
    """How to ask for, and validate, a structured ``output_type`` (built once per agent).

    Objects (pydantic models, dataclasses, TypedDicts) are asked for as they are; other
    types are wrapped as ``{"result": ...}`` because JSON mode answers with an object.
    """

    __slots__ = ("_adapter", "instructions", "response_format", "type", "wrapped")

    def __init__(self, output_type: Any, mode: OutputMode) -> None:
        from pydantic import PydanticSchemaGenerationError, TypeAdapter

        self.type = output_type
        try:
            self._adapter: Any = TypeAdapter(output_type)
            schema: dict[str, Any] = self._adapter.json_schema()
        except (PydanticSchemaGenerationError, TypeError) as exc:
            raise UserError(f"Unsupported output_type {output_type!r}: {exc}") from None
        self.wrapped = not _is_object_type(output_type)
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {"result": schema},
                "required": ["result"],
            }
            if defs:
                schema["$defs"] = defs
        name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(output_type, "__name__", "output"))[:64]
        schema_text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
        if mode == "json_schema":
            self.response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name or "output", "schema": schema},
            }
            self.instructions = "Answer with a JSON object matching the given schema."
        elif mode == "json_object":
            self.response_format = {"type": "json_object"}
            self.instructions = (
                "Answer with only a JSON object (no other text, no code fence) that matches "
                f"this JSON schema:\n{schema_text}"
            )
        else:
            raise UserError(f"output_mode must be 'json_object' or 'json_schema', not {mode!r}")

    def validate(self, content: str) -> Any:
        """Parse and validate the model's answer; ``ValueError`` with a compact message."""
        from pydantic import ValidationError

        text = content.strip()
        if text.startswith("```"):
            # Models sometimes fence JSON despite being told not to; that is not worth a retry.
            text = re.sub(r"^```[A-Za-z]*\s*|\s*```$", "", text)
        try:
            data = json.loads(text)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            raise ValueError(f"Your answer is not valid JSON ({msg}).") from None
        if self.wrapped:
            if not isinstance(data, dict) or "result" not in data:
                raise ValueError('Your answer must be a JSON object with a "result" key.')
            data = data["result"]
        try:
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            raise ValueError(
                "Your answer does not match the schema:\n" + _compact_errors(exc)
            ) from None


def _is_object_type(tp: Any) -> bool:
    from pydantic import BaseModel
    from typing_extensions import is_typeddict

    if isinstance(tp, type) and (issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp)):
        return True
    return bool(is_typeddict(tp))


def _compact_errors(exc: Any, limit: int = 8) -> str:
    # Never echo the input: with one line per error that would repeat the whole answer
    # once per error (a known trap of other frameworks).
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    lines = []
    for err in errors[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        lines.append(f"- {loc}: {err.get('msg', 'invalid')}")
    if len(errors) > limit:
        lines.append(f"- ... and {len(errors) - limit} more")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """Everything about an agent the loop needs, computed once when the agent is built."""

    tools: Mapping[str, Tool[Any, Any]]
    base_kwargs: Mapping[str, Any]  # request kwargs without messages (tools, settings, format)
    tool_choice: str | dict[str, Any] | None
    model: str | None = None
    settings: ModelSettings = ModelSettings()
    output: OutputSpec | None = None
    max_turns: int = 10
    usage_limits: UsageLimits | None = None
    run_timeout: float | None = None
    reset_tool_choice: bool = True
    on_tool_error: OnToolError = "report"
    max_repeated_tool_calls: int | None = 2
    max_tool_result_chars: int | None = 50_000
    output_retries: int = 2
    unknown_tool_retries: int = 2

    def with_settings(self, override: ModelSettings | Mapping[str, Any] | None) -> AgentSpec:
        """This spec with some model settings overridden for one run."""
        if override is None:
            return self
        settings = self.settings.merged(override)
        return dataclasses.replace(
            self,
            settings=settings,
            base_kwargs=build_kwargs(self.model, self.tools, settings, self.output),
            tool_choice=settings.tool_choice if self.tools else None,
        )

    @classmethod
    def build(
        cls,
        *,
        model: str | None,
        tools: Sequence[Tool[Any, Any]],
        settings: ModelSettings,
        output: OutputSpec | None,
        **options: Any,
    ) -> AgentSpec:
        """Precompute the request kwargs shared by every request of every run."""
        by_name: dict[str, Tool[Any, Any]] = {}
        for t in tools:
            if not isinstance(t, Tool):
                raise UserError(
                    f"tools must be agentkit Tool objects (use @tool), got {type(t).__name__}"
                )
            if t.name in by_name:
                raise UserError(f"Two tools are named {t.name!r}; tool names must be unique")
            by_name[t.name] = t
        kw = build_kwargs(model, by_name, settings, output)
        return cls(
            tools=by_name,
            base_kwargs=kw,
            tool_choice=settings.tool_choice if by_name else None,
            model=model,
            settings=settings,
            output=output,
            **options,
        )


def build_kwargs(
    model: str | None,
    tools: Mapping[str, Tool[Any, Any]],
    settings: ModelSettings,
    output: OutputSpec | None,
) -> dict[str, Any]:
    """The request kwargs (besides messages and ``tool_choice``) for these settings."""
    kw: dict[str, Any] = {}
    if model is not None:
        kw["model"] = model
    for name in ("temperature", "top_p", "max_completion_tokens", "parallel_tool_calls"):
        value = getattr(settings, name)
        if value is not None:
            kw[name] = value
    if settings.extra_body:
        kw["extra_body"] = dict(settings.extra_body)
    if tools:
        kw["tools"] = [t.to_openai() for t in tools.values()]
    else:
        kw.pop("parallel_tool_calls", None)  # servers reject it without tools
    if output is not None:
        kw["response_format"] = output.response_format
    return kw


@dataclass(slots=True)
class Request:
    """One model request: the messages (with instructions) and the other create() kwargs."""

    messages: list[Message]
    kwargs: dict[str, Any]


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


@dataclass(slots=True)
class CallOutcome:
    """What running one call produced: a return value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None


def repair_history(messages: list[Message]) -> list[Message]:
    """Make a history acceptable to the server: every tool call gets exactly one result.

    An assistant tool call with no tool message (a conversation saved mid-run, a crash)
    gets one saying the call was interrupted, placed right after the call's other results;
    a tool message answering no open call is dropped. Returns ``messages`` itself when it
    is already valid.
    """
    out: list[Message] | None = None
    open_ids: dict[str, None] = {}
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "tool":
            tid = m.get("tool_call_id")
            if tid in open_ids:
                del open_ids[tid]
                if out is not None:
                    out.append(m)
            else:
                logger.debug("dropping a tool result with no open tool call: %r", tid)
                if out is None:
                    out = list(messages[:i])
            continue
        if open_ids:
            if out is None:
                out = list(messages[:i])
            out.extend(_interrupted(open_ids))
            open_ids = {}
        if out is not None:
            out.append(m)
        if role == "assistant":
            for tc in m.get("tool_calls") or ():
                if isinstance(tc, dict) and isinstance(tc.get("id"), str):
                    open_ids[tc["id"]] = None
    if open_ids:
        if out is None:
            out = list(messages)
        out.extend(_interrupted(open_ids))
    return messages if out is None else out


def _canonical(arguments: str) -> str:
    # Key order and spacing must not hide a repeated call.
    try:
        return json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return arguments


def _interrupted(ids: Mapping[str, None]) -> list[Message]:
    return [{"role": "tool", "tool_call_id": tid, "content": INTERRUPTED} for tid in ids]


class RunState:
    """The state of one run and every decision of its loop (no I/O, not thread-safe)."""

    def __init__(
        self,
        spec: AgentSpec,
        *,
        system: Message | None,
        prompt: str | Message | None,
        history: Sequence[Message] | None = None,
        deps: Any = None,
    ) -> None:
        self.spec = spec
        self.system = system
        self.deps = deps
        self.usage = Usage()
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
        self._pending: list[PendingCall] = []
        self._started = time.monotonic()
        self.deadline = None if spec.run_timeout is None else self._started + spec.run_timeout

        if history is None:
            msgs: list[Message] = []
        else:
            if isinstance(history, (str, bytes)) or not all(
                isinstance(m, dict) and "role" in m for m in history
            ):
                raise UserError("history must be a list of message dicts with a 'role'")
            msgs = repair_history(list(history))
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
        kwargs = dict(self._kwargs)
        if self._tool_choice is not None:
            kwargs["tool_choice"] = self._tool_choice
        messages = [self.system, *self.messages] if self.system else list(self.messages)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "request %d: %d messages, tool_choice=%r",
                used + 1,
                len(messages),
                self._tool_choice,
            )
        return Request(messages, kwargs)

    # ------------------------------------------------------------------ responses

    def apply_response(self, completion: ChatCompletion) -> list[PendingCall]:
        """Take in a response; return the tool calls to run (empty when none).

        When the list is empty, either the run is ``done`` or the model was asked to fix
        its structured output and ``next_request`` should be called again.
        """
        self.usage.add_response(completion.usage)
        if not completion.choices:
            raise EmptyResponseError(
                "The server answered with no choices", messages=self.snapshot()
            )
        choice = completion.choices[0]
        message = choice.message
        if message.tool_calls:
            return self._tool_turn(message.tool_calls, message.content)

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

    def _tool_turn(self, calls: list[ToolCall], content: str | None) -> list[PendingCall]:
        wire_calls = []
        for n, c in enumerate(calls):
            if not c.id:
                # Without an id no tool result can answer the call; invent a stable one.
                c.id = f"call_{self.usage.requests}_{n}"
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
                pc.kwargs = tool.validate_arguments(c.arguments)
            except ToolArgumentsError as exc:
                pc.content = f"{exc.message}. Fix the arguments and call the tool again."
                pc.is_error = pc.retry_error = True
                continue
            to_run += 1
            if tool.takes_context:
                pc.ctx = RunContext(
                    self.deps,
                    self.messages,
                    self.usage,
                    c.id,
                    c.name,
                    self._retries.get(c.name, 0),
                )
            timeout = tool.timeout
            remaining = self.remaining()
            if remaining is not None:
                timeout = remaining if timeout is None else min(timeout, remaining)
            pc.timeout = timeout

        if repeated:
            self._forced_none = True
            self.notes.append(
                f"The model repeated the same call to {calls[0].name!r} {self._repeats} times "
                "in a row; agentkit did not run it again and asked for a final answer "
                "(tool_choice='none')."
            )
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
        self._pending = pending
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("tool turn: %s", ", ".join(f"{c.name}({c.id})" for c in calls))
        return pending

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
        exhausted: PendingCall | None = None
        to_raise: tuple[PendingCall, BaseException] | None = None
        for pc, outcome in zip(pending, outcomes, strict=True):
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

    def _classify(self, pc: PendingCall, outcome: CallOutcome) -> BaseException | None:
        """Set ``pc.content``; return the exception to raise under ``on_tool_error="raise"``."""
        err = outcome.error
        name = pc.call.name
        if err is None:
            try:
                content = serialize_result(outcome.value)
            except AgentkitError as exc:
                err = exc
            else:
                limit = self.spec.max_tool_result_chars
                if limit is not None and len(content) > limit:
                    self.notes.append(
                        f"The result of {name!r} ({len(content)} characters) was truncated "
                        f"to {limit} characters."
                    )
                    content = (
                        f"{content[:limit]}\n[truncated: the result had {len(content)} "
                        f"characters; only the first {limit} are shown]"
                    )
                pc.content = content
                return None
        if isinstance(err, ModelRetry):
            pc.content = f"{err.message}\nFix the problem and try again."
            pc.is_error = pc.retry_error = True
            return None
        pc.is_error = True
        timed_out = isinstance(err, TimeoutError)
        pc.content = TOOL_TIMED_OUT if timed_out else TOOL_FAILED
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
        )

    def snapshot(self) -> list[Message]:
        """The conversation so far, with every open tool call answered (a valid history)."""
        return list(repair_history(self.messages))

    def fail(self, exc: BaseException) -> BaseException:
        """Attach the conversation so far to ``exc`` as ``.messages`` (if not yet there)."""
        if isinstance(exc, AgentkitError):
            if not exc.messages:
                exc.messages = self.snapshot()
        elif getattr(exc, "messages", None) is None:
            with contextlib.suppress(AttributeError):  # exceptions with __slots__
                exc.messages = self.snapshot()  # type: ignore[attr-defined]
        return exc
