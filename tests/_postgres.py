"""A throwaway PostgreSQL cluster for the tests and benchmarks (no mock: a real server).

``Cluster.start()`` runs ``initdb`` into a temporary directory and ``pg_ctl`` with the
server listening only on a Unix socket in that directory. PostgreSQL refuses to run as
root, so under root the cluster belongs to an unprivileged system user (``agentkit-pg``,
created with ``useradd`` if missing) and the commands run through ``runuser``.

Set ``AGENTKIT_TEST_POSTGRES_DSN`` to use an existing server instead (the tests then work
in schemas of their own that they drop afterwards).
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
    """Where ``initdb`` and ``pg_ctl`` live, or ``None`` if PostgreSQL is not installed."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


class Cluster:
    """One temporary cluster; ``dsn`` connects to its ``postgres`` database."""

    def __init__(self, bindir: Path, *, fsync: bool = False, max_connections: int = 300) -> None:
        self.bindir = bindir
        self.fsync = fsync
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="agentkit-pg-"))
        self.data = self.root / "data"
        self.dsn = f"host={self.root} port=5432 dbname=postgres user=agentkit"
        self._as_user: list[str] = []

    def _run(self, *args: str) -> None:
        cmd = [*self._as_user, *args]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> Cluster:
        """Create and start the cluster (returns once it accepts connections)."""
        if os.geteuid() == 0:
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
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        opts = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.root}' "
            f"-c max_connections={self.max_connections} -c fsync={'on' if self.fsync else 'off'} "
            "-c synchronous_commit=" + ("on" if self.fsync else "off")
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

    def restart(self) -> None:
        """Stop the server (every connection to it ends) and start it again, data kept."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server and remove its files."""
        try:
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
