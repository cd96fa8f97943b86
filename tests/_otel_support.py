"""Shared pieces of the instrumentation tests: in-memory OpenTelemetry providers, scripted
agents and a runner for the four run modes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentkit import Agent, AsyncClient, Client, Instrumentation
from agentkit.result import RunResult
from agentkit.testing import ScriptedModel

MODES = ["run", "run_sync", "stream", "stream_sync"]
KEY = "sk-test-SECRET-do-not-leak-1234567890"


@dataclass
class Telemetry:
    """In-memory providers and what they captured."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def instrumentation(self, **kwargs: Any) -> Instrumentation:
        return Instrumentation(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **kwargs
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name.startswith(prefix)]

    def one(self, prefix: str) -> ReadableSpan:
        found = self.named(prefix)
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    def histogram(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


def make_telemetry() -> Iterator[Telemetry]:
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    yield Telemetry(exporter, reader, tp, mp)
    tp.shutdown()
    mp.shutdown()


def agent_for(script: ScriptedModel, mode: str, **kwargs: Any) -> Agent[Any]:
    client: Client | AsyncClient
    if mode in ("run", "stream"):
        client = AsyncClient(api_key=KEY, transport=script, max_retries=kwargs.pop("retries", 2))
    else:
        client = Client(api_key=KEY, transport=script, max_retries=kwargs.pop("retries", 2))
    return Agent(client=client, **kwargs)


async def _stream(agent: Agent[Any], prompt: str) -> RunResult[Any]:
    async with agent.stream(prompt) as events:
        async for event in events:
            if event.type == "run_finished":
                return event.result  # type: ignore[no-any-return]
    raise AssertionError("no run_finished")


def _stream_sync(agent: Agent[Any], prompt: str) -> RunResult[Any]:
    with agent.stream_sync(prompt) as events:
        for event in events:
            if event.type == "run_finished":
                return event.result  # type: ignore[no-any-return]
    raise AssertionError("no run_finished")


def run_mode(agent: Agent[Any], mode: str, prompt: str = "hi") -> RunResult[Any]:
    """Run ``agent`` in one of the four modes, from sync test code."""
    if mode == "run":
        return asyncio.run(agent.run(prompt))
    if mode == "run_sync":
        return agent.run_sync(prompt)
    if mode == "stream":
        return asyncio.run(_stream(agent, prompt))
    return _stream_sync(agent, prompt)
