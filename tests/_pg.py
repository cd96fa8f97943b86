"""A throwaway PostgreSQL cluster for the durable tests (a real server, no mock).

The same recipe as the sessions tests' cluster (the integrator merges the two): ``initdb``
into a temporary directory, ``pg_ctl`` with the server listening only on a Unix socket in
that directory (nothing reachable from the network), as an unprivileged user under root.
``AGENTKIT_TEST_POSTGRES_DSN`` (a SQLAlchemy URL) uses an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_USER = "agentkit-pg"


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live, or ``None`` when PostgreSQL is missing."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


class Cluster:
    """One temporary cluster; ``url(db)`` is a SQLAlchemy URL of database ``db`` on it."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="agentkit-dbos-pg-"))
        self.data = self.root / "data"
        self._as_user: list[str] = []

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://agentkit@/{database}?host={self.root}&port=5432"

    def _run(self, *args: str) -> None:
        cmd = [*self._as_user, *args]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> Cluster:
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            if subprocess.run(["id", "-u", PG_USER], capture_output=True).returncode != 0:
                subprocess.run(
                    [
                        "useradd",
                        "--system",
                        "--no-create-home",
                        "--shell",
                        "/usr/sbin/nologin",
                        PG_USER,
                    ],
                    check=True,
                    capture_output=True,
                )
            shutil.chown(self.root, PG_USER, PG_USER)
            self._as_user = ["runuser", "-u", PG_USER, "--"]
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "agentkit",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        opts = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.root}' "
            "-c max_connections=200 -c fsync=off -c synchronous_commit=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
