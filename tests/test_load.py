"""A smaller version of ``tools/load.py``: 100 concurrent agent runs against the emulator.

Every run makes a tool call; all must finish with exactly their own conversation. With 5 %
injected 429/503 faults they still finish (retries) or fail typed, and nothing hangs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests._reliability_support import shared_server

RUNS = 100


def _load_tool() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "tools" / "load.py"
    spec = importlib.util.spec_from_file_location("agentkit_tools_load", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


load = _load_tool()


@pytest.fixture(scope="module")
def base_url() -> Any:
    return shared_server().base_url


async def test_concurrent_runs_lose_nothing(base_url: str) -> None:
    report = await load.run_load(base_url, RUNS, global_timeout=60)
    assert not report.timed_out
    assert report.untyped_errors == [] and report.lost == [] and report.typed_errors == {}
    assert report.ok == RUNS and report.requests == 2 * RUNS
    assert len(report.latencies) == RUNS


async def test_concurrent_runs_with_faults_finish_or_fail_typed(base_url: str) -> None:
    # 20 % faults (10x the script's 5 %) so that retries surely happen with 100 runs.
    report = await load.run_load(base_url, RUNS, fault_rate=0.2, global_timeout=60)
    assert not report.timed_out
    assert report.untyped_errors == [] and report.lost == []
    assert report.ok + sum(report.typed_errors.values()) == RUNS
    assert set(report.typed_errors) <= {"RateLimitError", "InternalServerError"}
    assert report.retries > 0
