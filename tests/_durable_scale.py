"""Scale-out of durable runs: worker processes on one PostgreSQL database consume a DBOS
queue of agent runs (used by tests/test_durable_scale.py and tools/scale_durable.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _durable_support import env, serve, worker_cmd
from dbos import DBOSClient, DBOSPortableJSONSerializer


@dataclass
class ScaleReport:
    """What one scale-out run measured."""

    runs: int
    workers: int
    seconds: float
    split: Counter[str]
    statuses: Counter[str]
    wrong_outputs: list[str] = field(default_factory=list)
    repeated_requests: int = 0
    killed: str | None = None

    @property
    def throughput(self) -> float:
        """Finished runs per second, from the first enqueue to the last completion."""
        return self.runs / self.seconds


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env())


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not get ready ({path.name}); see its log")
        time.sleep(0.05)


def scale_out(
    db: str, runs: int, workers: int, *, kill_one: bool, timeout: float = 300
) -> ScaleReport:
    """Enqueue ``runs`` agent runs, let ``workers`` processes consume them; with
    ``kill_one``, SIGKILL the second worker a third of the way and restart it under the
    same executor id (DBOS recovers a dead executor's runs when it comes back)."""
    emulator, server = serve()
    state = Path(tempfile.mkdtemp(prefix="agentkit-scale-"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        base = worker_cmd(db, server.base_url, state)

        def launch(executor: str) -> None:
            (state / f"ready-{executor}").unlink(missing_ok=True)
            procs[executor] = _start(
                [*base, "--executor", executor, "worker"], state / f"{executor}.log"
            )

        names = [f"w{i + 1}" for i in range(workers)]
        for n in names:
            launch(n)
        for n in names:
            _wait_for(state / f"ready-{n}", procs[n], 60)
        client = DBOSClient(
            system_database_url=db,
            serializer=DBOSPortableJSONSerializer(),
            application_name="durable-tests",
        )
        prefix = f"scale-{os.getpid()}-{time.monotonic_ns()}-"
        ids = [f"{prefix}{i}" for i in range(runs)]
        started = time.monotonic()
        for i, wid in enumerate(ids):
            options = {
                "queue_name": "agent-runs",
                "workflow_name": "order_run",
                "workflow_id": wid,
                "app_version": "tests-1",
            }
            client.enqueue(options, f"Please order SKU{i:05d} for me")  # type: ignore[arg-type]
        killed: str | None = None
        deadline = started + timeout
        while True:
            found = client.list_workflows(workflow_id_prefix=prefix, load_input=False)
            done = sum(1 for w in found if w.status == "SUCCESS")
            if kill_one and killed is None and done >= runs // 3 and workers > 1:
                killed = names[1]
                procs[killed].send_signal(signal.SIGKILL)
                procs[killed].wait()
                launch(killed)
            if done == runs or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        found = client.list_workflows(workflow_id_prefix=prefix)
        client.destroy()
        by_id = {w.workflow_id: w for w in found}
        outputs = {wid: (w.output or {}).get("output") for wid, w in by_id.items()}
        wrong = [wid for i, wid in enumerate(ids) if outputs.get(wid) != f"Reserved SKU{i:05d}."]
        requests = [str(c["messages"]) for c in emulator.chats]
        return ScaleReport(
            runs=runs,
            workers=workers,
            seconds=seconds,
            split=Counter(str(w.executor_id) for w in found),
            statuses=Counter(str(w.status) for w in found),
            wrong_outputs=wrong,
            repeated_requests=len(requests) - len(set(requests)),
            killed=killed,
        )
    finally:
        (state / "stop").write_text("1")
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
