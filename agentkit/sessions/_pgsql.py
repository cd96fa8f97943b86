"""The SQL of the PostgreSQL store (pure: statements and parameters, no connection).

Leases: each open store holds one connection with a session-level advisory lock on a
random key (its *holder* key). A session's row names its holder; a lease may be taken when
the row has no holder or the holder's advisory lock is gone from ``pg_locks`` — which
happens the moment the holding process or its connection dies. Taking a lease draws a new
fencing token from a sequence; every write checks it.
"""

from __future__ import annotations

import secrets
from typing import Any

from agentkit.sessions._core import KEEP, WriteOp

__all__ = [
    "ACQUIRE",
    "DELETE",
    "LIST",
    "MIGRATION_LOCK",
    "READ",
    "RELEASE",
    "holder_key",
    "write_statements",
]

MIGRATION_LOCK = 0x61676B74  # "agkt": the transaction-level lock migrations run under

_HOLDER_ALIVE = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
    "WHERE datname = current_database()) "
    "AND ((l.classid::bigint << 32) | l.objid::bigint) = s.holder)"
)

ACQUIRE = (
    "INSERT INTO agentkit_sessions AS s (id, token, holder) "
    "VALUES (%(id)s, nextval('agentkit_lease_tokens'), %(holder)s) "
    "ON CONFLICT (id) DO UPDATE SET token = excluded.token, holder = excluded.holder, "
    f"updated_at = now() WHERE s.holder IS NULL OR NOT {_HOLDER_ALIVE} "
    "RETURNING token"
)

RELEASE = "UPDATE agentkit_sessions SET holder = NULL WHERE id = %s AND token = %s"

# One statement, so one snapshot: the session row first (seq -1), then the messages.
READ = (
    "SELECT -1 AS seq, NULL::integer, journal, pause FROM agentkit_sessions WHERE id = %(id)s "
    "UNION ALL SELECT seq, format, body, NULL FROM agentkit_messages "
    "WHERE session_id = %(id)s ORDER BY 1"
)

LIST = (
    "SELECT id FROM agentkit_sessions s WHERE journal IS NOT NULL OR pause IS NOT NULL "
    "OR EXISTS (SELECT 1 FROM agentkit_messages m WHERE m.session_id = s.id) ORDER BY id"
)

DELETE = [
    "DELETE FROM agentkit_sessions WHERE id = %s AND token = %s",
    "DELETE FROM agentkit_messages WHERE session_id = %s",
]

_INSERT = (
    "INSERT INTO agentkit_messages (session_id, seq, format, body) "
    "SELECT %(id)s, COALESCE((SELECT MAX(seq) FROM agentkit_messages "
    "WHERE session_id = %(id)s), 0) + t.n, t.f, t.b "
    "FROM unnest(%(formats)s::integer[], %(bodies)s::text[]) WITH ORDINALITY AS t(f, b, n)"
)


def holder_key() -> int:
    """A fresh positive 62-bit advisory-lock key for one open store."""
    return secrets.randbits(62) | 1


def write_statements(
    session_id: str, token: int, op: WriteOp
) -> tuple[tuple[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The fenced update (it must touch one row, else the lease is lost) and what follows."""
    sets = ["updated_at = now()"]
    args: dict[str, Any] = {"id": session_id, "token": token}
    if op.journal is not KEEP:
        sets.append("journal = %(journal)s")
        args["journal"] = op.journal
    if op.pause is not KEEP:
        sets.append("pause = %(pause)s")
        args["pause"] = op.pause
    fence = (
        f"UPDATE agentkit_sessions SET {', '.join(sets)} WHERE id = %(id)s AND token = %(token)s",
        args,
    )
    rest: list[tuple[str, dict[str, Any]]] = []
    if op.clear:
        rest.append(("DELETE FROM agentkit_messages WHERE session_id = %(id)s", {"id": session_id}))
    if op.rows:
        rest.append(
            (
                _INSERT,
                {
                    "id": session_id,
                    "formats": [f for f, _ in op.rows],
                    "bodies": [b for _, b in op.rows],
                },
            )
        )
    return fence, rest
