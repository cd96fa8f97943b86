"""The SQL of the PostgreSQL store (pure: statements and parameters, no connection).

Leases: each open store holds one connection with a session-level advisory lock on a
random key (its *holder* key). A session's row names its holder; a lease may be taken when
the row has no holder or the holder's advisory lock is gone from ``pg_locks`` — which
happens the moment the holding process or its connection dies. Taking a lease draws a new
fencing token from a sequence; every write checks it, and that the holder's lock is still
held (a store whose lock connection died retakes it under a new key, so a lease taken
under the old one can never write again).
"""

from __future__ import annotations

import secrets
from typing import Any

from agentkit.sessions._backend import Mark, Stored
from agentkit.sessions._core import KEEP, WriteOp

__all__ = [
    "ACQUIRE",
    "DELETE",
    "LIST",
    "MIGRATION_LOCK",
    "READ",
    "READ_TAKEN",
    "RELEASE",
    "holder_key",
    "read_args",
    "stored",
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

# One statement, so one snapshot: the session row first (seq -1, with its epoch), then its
# messages: only those after %(after)s while the epoch is still %(epoch)s, else all of them.
# Two branches, not one "seq > after OR epoch moved": that OR made the server read every
# row of the session to return the new ones; this way the first branch is an index range
# and the second one is skipped as a whole (a one-time filter) unless the epoch moved.
_SAME_EPOCH = "EXISTS (SELECT 1 FROM agentkit_sessions WHERE id = %(id)s AND epoch = %(epoch)s)"
_READ = (
    "SELECT -1 AS seq, epoch, journal, pause FROM agentkit_sessions WHERE id = %(id)s{s} "
    "UNION ALL SELECT seq, format, body, NULL FROM agentkit_messages "
    f"WHERE session_id = %(id)s AND seq > %(after)s AND {_SAME_EPOCH}{{m}} "
    "UNION ALL SELECT seq, format, body, NULL FROM agentkit_messages "
    f"WHERE session_id = %(id)s AND NOT {_SAME_EPOCH}{{m}} ORDER BY 1"
)
READ = _READ.format(s="", m="")

# READ right after ACQUIRE (one round trip): nothing is read unless this store took it.
READ_TAKEN = _READ.format(
    s=" AND holder = %(holder)s",
    m=" AND EXISTS (SELECT 1 FROM agentkit_sessions WHERE id = %(id)s AND holder = %(holder)s)",
)

# COLLATE "C": code point order, as Python and SQLite sort (the database's own collation,
# often a locale's, puts "B" after "a").
LIST = (
    "SELECT id FROM agentkit_sessions s WHERE journal IS NOT NULL OR pause IS NOT NULL "
    "OR EXISTS (SELECT 1 FROM agentkit_messages m WHERE m.session_id = s.id) "
    'ORDER BY id COLLATE "C"'
)

DELETE = [
    f"DELETE FROM agentkit_sessions AS s WHERE id = %s AND token = %s AND {_HOLDER_ALIVE}",
    "DELETE FROM agentkit_messages WHERE session_id = %s",
]

_INSERT = (
    "INSERT INTO agentkit_messages (session_id, seq, format, body) "
    "SELECT %(id)s, COALESCE((SELECT MAX(seq) FROM agentkit_messages "
    "WHERE session_id = %(id)s), 0) + t.n, t.f, t.b "
    "FROM unnest(%(formats)s::integer[], %(bodies)s::text[]) WITH ORDINALITY AS t(f, b, n)"
)


def read_args(session_id: str, since: Mark | None, holder: int | None = None) -> dict[str, Any]:
    """The parameters of ``READ`` (``since=None``: every row), or of ``READ_TAKEN``."""
    epoch, after = since if since is not None else (None, 0)
    return {"id": session_id, "epoch": epoch, "after": after, "holder": holder}


def stored(rows: list[tuple[Any, ...]], since: Mark | None) -> Stored:
    """What ``READ`` returned, as a ``Stored``."""
    journal = pause = None
    epoch = 0
    messages: list[tuple[int, str]] = []
    last = 0
    for seq, fmt, body, p in rows:
        if seq == -1:
            epoch, journal, pause = int(fmt), body, p
        else:
            messages.append((fmt, body))
            last = seq
    if since is None or since[0] != epoch:
        since = None
    elif not messages:
        last = since[1]
    return Stored(messages, journal, pause, (epoch, last) if epoch else None, since)


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
        f"UPDATE agentkit_sessions AS s SET {', '.join(sets)} "
        f"WHERE id = %(id)s AND token = %(token)s AND {_HOLDER_ALIVE}",
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
