"""OpenTelemetry GenAI tracing and metrics for agent runs (``pip install 'agentkit-lean[otel]'``).

``Instrumentation`` and ``instrument_all`` are importable without opentelemetry; it is
imported when an ``Instrumentation`` is built. ``semconv`` pins the convention names.
"""

from agentkit.instrumentation._observer import Instrumentation, instrument_all

__all__ = ["Instrumentation", "instrument_all"]
