"""The sessions tests' throwaway PostgreSQL cluster (tests/_postgres.py), with SQLAlchemy
URLs for DBOS: ``Cluster(bindir).start().url("db")``; DBOS creates the database."""

from __future__ import annotations

from _postgres import Cluster as _Cluster
from _postgres import find_bindir

__all__ = ["Cluster", "find_bindir"]


class Cluster(_Cluster):
    """A cluster listening only on a Unix socket in its temporary directory."""

    def url(self, database: str) -> str:
        """A SQLAlchemy URL of ``database`` on this cluster."""
        return f"postgresql+psycopg://agentkit@/{database}?host={self.root}&port=5432"
