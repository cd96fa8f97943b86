"""The OpenTelemetry side of ``Instrumentation``: spans and metrics for one run.

The only module of agentkit that imports ``opentelemetry`` at its top, and it is imported
only when an ``Instrumentation`` is built. Parents are always passed explicitly: the run's
span is never left attached as the current context across the run's yields (a streamed
run's consumer code between two events must not run inside it); only a tool's code runs
with its ``execute_tool`` span current (``activate``), in the task or thread running it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import Histogram, MeterProvider, get_meter_provider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from agentkit.agent.observe import ModelObservation, RunInfo, RunObservation, ToolObservation
from agentkit.instrumentation import _content
from agentkit.instrumentation import semconv as sc
from agentkit.prices import token_details
from agentkit.usage import Usage

if TYPE_CHECKING:
    from agentkit._execute import Outcome
    from agentkit.agent.state import PendingCall, Request
    from agentkit.messages import ChatCompletion
    from agentkit.result import RunResult

__all__ = ["RunSpan", "Telemetry"]

_SCOPE = "agentkit"

# Request kwargs that are sampling parameters, and their attribute names.
_SAMPLING = {
    "temperature": sc.REQUEST_TEMPERATURE,
    "top_p": sc.REQUEST_TOP_P,
    "max_completion_tokens": sc.REQUEST_MAX_TOKENS,
    "max_tokens": sc.REQUEST_MAX_TOKENS,
    "seed": sc.REQUEST_SEED,
    "frequency_penalty": sc.REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.REQUEST_PRESENCE_PENALTY,
    "n": sc.REQUEST_CHOICE_COUNT,
}


def error_type(exc: BaseException) -> str:
    """``error.type``: the exception's qualified class name (short for builtins)."""
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _left(error: BaseException | None) -> bool:
    # GeneratorExit reaches an observation only from the flow being closed: the stream's
    # consumer stopped reading (break, aclose, idle timeout). Closing a stream is the
    # user's choice, not an error of the operation, so it is not reported as one.
    return isinstance(error, GeneratorExit)


def _fail(span: Span, kind: str) -> None:
    span.set_attribute(sc.ERROR_TYPE, kind)
    # The description stays the type: an exception's message may quote content.
    span.set_status(Status(StatusCode.ERROR, kind))


class Telemetry:
    """The tracer and the instruments of one ``Instrumentation``."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        include_content: bool,
        provider_name: str,
    ) -> None:
        from agentkit import __version__

        tp = tracer_provider or trace.get_tracer_provider()
        mp = meter_provider or get_meter_provider()
        self.tracer = tp.get_tracer(_SCOPE, __version__, schema_url=sc.SCHEMA_URL)
        meter = mp.get_meter(_SCOPE, __version__, schema_url=sc.SCHEMA_URL)
        self.tokens: Histogram = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Tokens used per model request, by token type",
            explicit_bucket_boundaries_advisory=sc.TOKEN_BUCKETS,
        )
        self.duration: Histogram = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="Duration of model requests",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.first_chunk: Histogram = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from a streamed request to its first chunk",
            explicit_bucket_boundaries_advisory=sc.DURATION_BUCKETS,
        )
        self.include_content = include_content
        self.provider_name = provider_name


class RunSpan(RunObservation):
    """One run's ``invoke_agent`` span, parent of its ``chat`` and ``execute_tool`` spans."""

    def __init__(self, telemetry: Telemetry, info: RunInfo) -> None:
        self._t = telemetry
        self.info = info
        name = f"{sc.OP_INVOKE_AGENT} {info.agent_name}" if info.agent_name else sc.OP_INVOKE_AGENT
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.PROVIDER_NAME: telemetry.provider_name,
        }
        if info.agent_name:
            attributes[sc.AGENT_NAME] = info.agent_name
        if info.conversation_id:
            attributes[sc.CONVERSATION_ID] = info.conversation_id
        if info.model:
            attributes[sc.REQUEST_MODEL] = info.model
        _server(attributes, info)
        if telemetry.include_content and info.system:
            attributes[sc.SYSTEM_INSTRUCTIONS] = _content.system_instructions(
                [{"role": "system", "content": info.system}]
            )
        # The caller's current span (if any) is the parent; nothing is attached here.
        parent = otel_context.get_current()
        self.span = telemetry.tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        )
        self.context = trace.set_span_in_context(self.span, parent)
        self._ended = False
        # Own requests' token details, for totals the Usage type may not carry yet.
        self.cached = self.reasoning = 0
        self.input = self.output = 0

    def model_call(self, request: Request) -> ModelObservation:
        """A ``chat {model}`` span for one logical request (the client's retries inside)."""
        return ChatSpan(self, request)

    def tool_call(self, call: PendingCall) -> ToolObservation:
        """An ``execute_tool {name}`` span for one tool call."""
        return ToolSpan(self, call)

    def end(
        self,
        result: RunResult[Any] | None,
        error: BaseException | None,
        usage: Usage | None = None,
    ) -> None:
        """Set the usage totals and end the span (once: a consumer closing a finished
        stream reports a second end, which is ignored). A stream its consumer left early
        ends without an error, marked ``agentkit.stream.closed_early``."""
        if self._ended:
            return
        self._ended = True
        span = self.span
        usage = result.usage if result is not None else usage
        if usage is not None:
            usage = _since(usage, self.info.prior_usage)
            span.set_attribute(sc.USAGE_INPUT_TOKENS, usage.prompt_tokens)
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, usage.completion_tokens)
            span.set_attribute(sc.AGENTKIT_REQUESTS, usage.requests)
            span.set_attribute(sc.AGENTKIT_TOOL_CALLS, usage.tool_calls)
            if usage.cost is not None:
                span.set_attribute(sc.AGENTKIT_COST, usage.cost)
        else:
            span.set_attribute(sc.USAGE_INPUT_TOKENS, self.input)
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, self.output)
        cached = getattr(usage, "cached_tokens", None)  # once Usage has token details
        reasoning = getattr(usage, "reasoning_tokens", None)
        cached = cached if isinstance(cached, int) else self.cached
        reasoning = reasoning if isinstance(reasoning, int) else self.reasoning
        if cached:
            span.set_attribute(sc.USAGE_CACHE_READ_INPUT_TOKENS, cached)
        if reasoning:
            span.set_attribute(sc.USAGE_REASONING_OUTPUT_TOKENS, reasoning)
        if _left(error):
            span.set_attribute(sc.AGENTKIT_CLOSED_EARLY, True)
        elif error is not None:
            _fail(span, error_type(error))
        span.end()


def _since(total: Usage, prior: Usage | None) -> Usage:
    """What a run consumed itself: a resumed run's usage goes on from its paused run's,
    which that run's own span reported already (a backend sums the spans)."""
    if prior is None or not (prior.requests or prior.tool_calls):
        return total
    counts = [f.name for f in fields(Usage) if f.name != "cost"]
    own = Usage(**{name: getattr(total, name) - getattr(prior, name) for name in counts})
    own.cost = None if total.cost is None else total.cost - (prior.cost or 0.0)
    return own


def _server(attributes: dict[str, Any], info: RunInfo) -> None:
    if info.server_address:
        attributes[sc.SERVER_ADDRESS] = info.server_address
        if info.server_port is not None:
            attributes[sc.SERVER_PORT] = info.server_port


class ChatSpan(ModelObservation):
    """One model request's ``chat {model}`` span and its metrics."""

    def __init__(self, run: RunSpan, request: Request) -> None:
        self._run = run
        t = run._t
        kwargs = request.kwargs
        model = kwargs.get("model") or run.info.model
        self.model = model if isinstance(model, str) else None
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_CHAT,
            sc.PROVIDER_NAME: t.provider_name,
            sc.OUTPUT_TYPE: "json" if kwargs.get("response_format") else "text",
        }
        if self.model:
            attributes[sc.REQUEST_MODEL] = self.model
        if run.info.streamed:
            attributes[sc.REQUEST_STREAM] = True
        for key, attribute in _SAMPLING.items():
            value = kwargs.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                attributes[attribute] = value
        stop = kwargs.get("stop")
        if isinstance(stop, str):
            attributes[sc.REQUEST_STOP_SEQUENCES] = [stop]
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            attributes[sc.REQUEST_STOP_SEQUENCES] = stop
        _server(attributes, run.info)
        self.metric_attributes: dict[str, Any] = {
            k: attributes[k]
            for k in (sc.OPERATION_NAME, sc.PROVIDER_NAME, sc.REQUEST_MODEL, sc.SERVER_ADDRESS,
                      sc.SERVER_PORT)
            if k in attributes
        }  # fmt: skip
        if t.include_content:
            system = _content.system_instructions(request.messages)
            if system is not None:
                attributes[sc.SYSTEM_INSTRUCTIONS] = system
            attributes[sc.INPUT_MESSAGES] = _content.input_messages(request.messages)
        name = f"{sc.OP_CHAT} {self.model}" if self.model else sc.OP_CHAT
        self.span = t.tracer.start_span(
            name, context=run.context, kind=SpanKind.CLIENT, attributes=attributes
        )
        self.started = time.perf_counter()

    def first_chunk(self) -> None:
        """Record the time to the first chunk of a streamed answer."""
        elapsed = time.perf_counter() - self.started
        self.span.set_attribute(sc.RESPONSE_TIME_TO_FIRST_CHUNK, elapsed)
        self._run._t.first_chunk.record(elapsed, self.metric_attributes)

    def end(self, completion: ChatCompletion | None, error: BaseException | None) -> None:
        """Set the response attributes, record the metrics, end the span."""
        elapsed = time.perf_counter() - self.started
        t, span, metric = self._run._t, self.span, dict(self.metric_attributes)
        if completion is not None:
            self._response(completion, metric)
        # One span per logical request: the client's retries happen inside it, and count.
        retries = completion.retries if completion is not None else getattr(error, "retries", 0)
        if isinstance(retries, int) and retries:
            span.set_attribute(sc.AGENTKIT_RETRIES, retries)
        if _left(error):
            span.set_attribute(sc.AGENTKIT_CLOSED_EARLY, True)  # the answer was not read
        elif error is not None:
            kind = error_type(error)
            _fail(span, kind)
            metric[sc.ERROR_TYPE] = kind
        t.duration.record(elapsed, metric)
        span.end()

    def _response(self, completion: ChatCompletion, metric: dict[str, Any]) -> None:
        run, span = self._run, self.span
        if completion.id:
            span.set_attribute(sc.RESPONSE_ID, completion.id)
        if completion.model:
            span.set_attribute(sc.RESPONSE_MODEL, completion.model)
            metric[sc.RESPONSE_MODEL] = completion.model
        reasons = [c.finish_reason for c in completion.choices if c.finish_reason]
        if reasons:
            span.set_attribute(sc.RESPONSE_FINISH_REASONS, reasons)
        usage = completion.usage
        if usage is not None:
            span.set_attribute(sc.USAGE_INPUT_TOKENS, usage.prompt_tokens)
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, usage.completion_tokens)
            run.input += usage.prompt_tokens
            run.output += usage.completion_tokens
            cached, reasoning = token_details(usage)
            if cached is not None:
                span.set_attribute(sc.USAGE_CACHE_READ_INPUT_TOKENS, cached)
                run.cached += cached
            if reasoning is not None:
                span.set_attribute(sc.USAGE_REASONING_OUTPUT_TOKENS, reasoning)
                run.reasoning += reasoning
            tokens = run._t.tokens
            tokens.record(usage.prompt_tokens, {**metric, sc.TOKEN_TYPE: sc.TOKEN_TYPE_INPUT})
            tokens.record(usage.completion_tokens, {**metric, sc.TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT})
        if run._t.include_content:
            span.set_attribute(sc.OUTPUT_MESSAGES, _content.output_messages(completion))


class ToolSpan(ToolObservation):
    """One tool call's ``execute_tool {name}`` span."""

    def __init__(self, run: RunSpan, call: PendingCall) -> None:
        self._run = run
        self._call = call
        name = call.call.name
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.PROVIDER_NAME: run._t.provider_name,
            sc.TOOL_NAME: name,
            sc.TOOL_TYPE: "function",
        }
        if call.call.id:
            attributes[sc.TOOL_CALL_ID] = call.call.id
        description = getattr(call.tool, "description", None)
        if isinstance(description, str) and description:
            attributes[sc.TOOL_DESCRIPTION] = description
        if run._t.include_content:
            attributes[sc.TOOL_CALL_ARGUMENTS] = call.call.arguments
        self.span = run._t.tracer.start_span(
            f"{sc.OP_EXECUTE_TOOL} {name}",
            context=run.context,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )
        self._context = trace.set_span_in_context(self.span, run.context)

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        """Make the span current around the tool's code, in the task or thread running it."""
        token = otel_context.attach(self._context)
        try:
            yield
        finally:
            otel_context.detach(token)

    def end(
        self, outcome: Outcome | None, content: str, is_error: bool, *, left: bool = False
    ) -> None:
        """Mark failures (``timeout`` for agentkit's own timeout) and end the span."""
        span = self.span
        # A valid call the stream's consumer did not wait for: it has no result to record.
        unrun = left and outcome is None and self._call.kwargs is not None
        if self._run._t.include_content and not unrun:
            span.set_attribute(sc.TOOL_CALL_RESULT, content)
        if unrun:
            span.set_attribute(sc.AGENTKIT_CLOSED_EARLY, True)
        elif outcome is not None and outcome.timed_out:
            _fail(span, "timeout")
        elif outcome is not None and outcome.error is not None:
            _fail(span, error_type(outcome.error))
        elif outcome is None and self._call.kwargs is not None:
            _fail(span, "cancelled")  # it was to run, but the run ended first
        elif is_error and self._call.retry_error:
            _fail(span, "invalid_call")  # unknown tool or invalid arguments: never ran
        elif is_error:
            _fail(span, "refused")  # a person refused it (now, or this very call before)
        span.end()
