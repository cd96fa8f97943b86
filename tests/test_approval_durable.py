"""A durable run (DBOS) that pauses for approval waits inside its workflow; decisions sent
with ``DurableAgent.approve`` from another process resume it, without asking the model
again for the paused turn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dbos  # noqa: F401  (the dev extra installs it; missing must fail, not skip)
import pytest

APP = Path(__file__).with_name("_approval_durable_app.py")
ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(APP.parent)]),
        DBOS__CLOUD="false",
    )


@pytest.mark.parametrize("flavor", ["run", "run_sync"])
def test_a_paused_durable_run_waits_and_is_approved_from_another_process(
    tmp_path: Path, flavor: str
) -> None:
    db = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    extra = ["--async"] if flavor == "run" else []
    worker = subprocess.Popen(
        [sys.executable, str(APP), "run", db, "wf-1", str(tmp_path), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    try:
        waiting = tmp_path / "waiting"
        deadline = time.monotonic() + 60
        while not waiting.exists() and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting.exists(), worker.communicate(timeout=5)[1][-3000:]
        paused = json.loads(waiting.read_text())
        assert paused["requests"] == 1
        time.sleep(0.3)
        assert worker.poll() is None  # it waits for the decisions
        log = (tmp_path / "tools.log").read_text().split()
        assert log[0] == "lookup_order" and "refund" not in log

        approver = subprocess.run(
            [sys.executable, str(APP), "approve", db, "wf-1", str(tmp_path),
             json.dumps({"c_refund": {"type": "approve"}})],
            capture_output=True, text=True, timeout=60, env=_env(), check=False,
        )  # fmt: skip
        assert approver.returncode == 0, approver.stderr[-3000:]
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["output"] == "已退款 50 元。"
    assert result["requests"] == 2  # one per turn: the paused turn was not asked again
    lines = (tmp_path / "tools.log").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["lookup_order", "refund"]
    roles = [m["role"] for m in result["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
