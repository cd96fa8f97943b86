"""``Instrumentation``: OpenTelemetry tracing and metrics of agent runs, built lazily.

Importing this module does not import ``opentelemetry``; building an ``Instrumentation``
does (``pip install 'agentkit-lean[otel]'``), so ``import agentkit`` stays free of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentkit.agent import observe
from agentkit.agent.observe import RunInfo, RunObservation, RunObserver
from agentkit.errors import UserError

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from agentkit.instrumentation._spans import Telemetry

__all__ = ["Instrumentation", "instrument_all"]

DEFAULT_PROVIDER = "yisu"
"""The provider of ``https://api.yisu.com`` (see the provider API)."""


class Instrumentation(RunObserver):
    """Emit OpenTelemetry GenAI spans and metrics for the runs of the agents using it.

    Spans: ``invoke_agent {agent}`` (INTERNAL) per run; under it ``chat {model}``
    (CLIENT) per model request (one span per logical request: the client's retries
    happen inside it) and ``execute_tool {tool}`` (INTERNAL) per tool call. Metrics: the
    ``gen_ai.client.token.usage`` and ``gen_ai.client.operation.duration`` histograms,
    and ``gen_ai.client.operation.time_to_first_chunk`` for streams. agentkit exports
    nothing itself: the providers you pass (or the global ones) decide where data goes.

    Args:
        tracer_provider: Where spans go; the global tracer provider by default.
        meter_provider: Where metrics go; the global meter provider by default.
        include_content: Record prompts, answers, instructions and tool arguments and
            results (``gen_ai.input.messages`` ...). Off by default: they may hold
            personal data. The API key is never recorded.
        provider_name: ``gen_ai.provider.name`` (``"yisu"``; e.g. ``"openai"`` when the
            client talks to OpenAI).

    Raises:
        UserError: ``opentelemetry-api`` is not installed.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        include_content: bool = False,
        provider_name: str = DEFAULT_PROVIDER,
    ) -> None:
        if not isinstance(provider_name, str) or not provider_name:
            raise UserError(f"provider_name must be a non-empty str, got {provider_name!r}")
        try:
            spans: Any = importlib.import_module("agentkit.instrumentation._spans")
        except ImportError as exc:
            raise UserError(
                "Instrumentation needs opentelemetry-api: pip install 'agentkit-lean[otel]'"
            ) from exc
        self.include_content = bool(include_content)
        self.provider_name = provider_name
        self._spans = spans
        self._telemetry: Telemetry = spans.Telemetry(
            tracer_provider, meter_provider, self.include_content, provider_name
        )

    def __repr__(self) -> str:
        return (
            f"Instrumentation(provider_name={self.provider_name!r}, "
            f"include_content={self.include_content})"
        )

    def start_run(self, info: RunInfo) -> RunObservation:
        """Open the run's ``invoke_agent`` span under the caller's current span."""
        run: RunObservation = self._spans.RunSpan(self._telemetry, info)
        return run


def instrument_all(instrumentation: Instrumentation | None) -> None:
    """Make ``instrumentation`` watch every agent built without its own ``instrument=``
    (``None``: stop). Agents built with ``instrument=False`` stay silent."""
    if instrumentation is not None and not isinstance(instrumentation, RunObserver):
        raise UserError(
            f"instrument_all takes an Instrumentation or None, got {type(instrumentation).__name__}"
        )
    observe.set_default(instrumentation)
