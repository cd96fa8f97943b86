"""CPU per agent run with tracing off, on with no-op providers, and on with in-memory SDK
exporters (``agentkit.Instrumentation``).

Run: ``python tools/bench_otel.py [--baseline DIR]``. Each run is a ``run_sync`` of the
benchmark shape (a tool call, then the answer) against an in-process ``ScriptedModel``, so
the figure is agentkit's own CPU, no network. ``--baseline DIR`` also measures tracing off
with the agentkit source tree in DIR (e.g. ``git archive main | tar -x -C DIR``), in a
subprocess, to compare with the code before instrumentation. Figures are the best of
several repeats (the machine is shared), in µs of process CPU per run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

REPEATS = 7
RUNS = 300

SETUP = '''
from agentkit import Agent, Client, tool
from agentkit.testing import ScriptedModel, tool_call

def get_weather(city: str) -> str:
    """The weather.

    Args:
        city: The city.
    """
    return city + ": sunny"

def answer(body):
    if body["messages"][-1]["role"] == "user":
        return tool_call("get_weather", {"city": "Paris"})
    return "Sunny."

def make_agent(**kw):
    client = Client(api_key="k", transport=ScriptedModel(answer))
    return Agent(client=client, tools=[tool(get_weather)], name="bench", **kw)
'''


def measure(agent: Any) -> float:
    """Best µs of process CPU per run over ``REPEATS`` batches of ``RUNS`` runs."""
    for _ in range(20):
        agent.run_sync("weather?")
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(RUNS):
            agent.run_sync("weather?")
        best = min(best, (time.process_time() - start) / RUNS * 1e6)
    return best


def _baseline(tree: str) -> float:
    here = os.path.dirname(os.path.abspath(__file__))
    code = SETUP + (
        f"\nimport sys\nsys.path.insert(0, {here!r})\n"
        "from bench_otel import measure\nprint(measure(make_agent()))\n"
    )
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="an agentkit source tree to compare 'off' with")
    args = parser.parse_args()

    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import NoOpTracerProvider

    from agentkit import Instrumentation

    namespace: dict[str, Any] = {}
    exec(SETUP, namespace)
    make_agent = namespace["make_agent"]

    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    cases = {
        "tracing off (instrument=False)": make_agent(instrument=False),
        "on, no-op providers": make_agent(
            instrument=Instrumentation(NoOpTracerProvider(), NoOpMeterProvider())
        ),
        "on, SDK in-memory exporters": make_agent(instrument=Instrumentation(tp, mp)),
        "on, in-memory, include_content": make_agent(
            instrument=Instrumentation(tp, mp, include_content=True)
        ),
    }
    if args.baseline:
        print(f"{'tracing off, baseline tree':36s} {_baseline(args.baseline):8.1f} µs/run")
    for label, agent in cases.items():
        print(f"{label:36s} {measure(agent):8.1f} µs/run")
        exporter.clear()


if __name__ == "__main__":
    main()
