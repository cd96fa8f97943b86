"""Scale-out of durable agent runs on PostgreSQL: 200 runs through a DBOS queue, consumed
by 1 and by 3 worker processes (and 3 with one killed midway); prints throughput and the
split of the runs over the workers.

    PYTHONPATH=. python tools/scale_durable.py [--runs 200]

A throwaway PostgreSQL cluster is started (tests/_pg.py) unless AGENTKIT_TEST_POSTGRES_URL
names a server (a SQLAlchemy URL). The model is the emulator on loopback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _durable_scale import scale_out
from _pg import Cluster, find_bindir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200)
    args = p.parse_args()
    given = os.environ.get("AGENTKIT_TEST_POSTGRES_URL")
    cluster = None
    if given is None:
        bindir = find_bindir()
        if bindir is None:
            sys.exit("PostgreSQL is not installed")
        cluster = Cluster(bindir).start()
    try:
        for n, (workers, kill) in enumerate([(1, False), (3, False), (3, True)]):
            name = f"scale_{n}"
            db = cluster.url(name) if cluster else f"{given.rsplit('/', 1)[0]}/{name}"  # type: ignore[union-attr]
            r = scale_out(db, args.runs, workers, kill_one=kill, timeout=900)
            ok = r.statuses == {"SUCCESS": args.runs} and not r.wrong_outputs
            print(
                f"{workers} worker(s){' (w2 killed, restarted)' if kill else '':<24} "
                f"{r.runs} runs in {r.seconds:6.1f} s = {r.throughput:5.1f} runs/s  "
                f"split {dict(sorted(r.split.items()))}  statuses {dict(r.statuses)}  "
                f"repeated model requests {r.repeated_requests}  {'OK' if ok else 'FAILED'}",
                flush=True,
            )
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
