"""Sessions: conversations that persist across requests, processes and machines.

```python
from agentkit.sessions import SQLiteStore, PostgresStore, MemoryStore, SessionBusyError

store = SQLiteStore("chat.db")              # stdlib sqlite3, one file, nothing to install
session = store.session("user-42")          # a cheap handle; the store owns connections
session.messages(last_turns=5)              # the stored history, cut at turn boundaries
```

A store keeps plain wire-format JSON messages (never pickle), one run at a time per session
(a lease with a fencing token), and whole tool turns only (no tool call without its
result). ``PostgresStore`` needs ``agentkit[postgres]``; importing this package does not
import psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.sessions._errors import (
    SessionBusyError,
    SessionError,
    SessionFormatError,
    SessionLostError,
)
from agentkit.sessions._lease import AsyncLease, Lease
from agentkit.sessions._store import Session, SessionStore
from agentkit.sessions.memory import MemoryStore
from agentkit.sessions.sqlite import SQLiteStore

if TYPE_CHECKING:
    from agentkit.sessions.postgres import PostgresStore

__all__ = [
    "AsyncLease",
    "Lease",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Session",
    "SessionBusyError",
    "SessionError",
    "SessionFormatError",
    "SessionLostError",
    "SessionStore",
]


def __getattr__(name: str) -> Any:
    # PostgresStore's module is loaded on first use only (it is where psycopg is imported).
    if name == "PostgresStore":
        from agentkit.sessions.postgres import PostgresStore

        globals()[name] = PostgresStore
        return PostgresStore
    raise AttributeError(f"module 'agentkit.sessions' has no attribute {name!r}")
