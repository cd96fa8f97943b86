"""The database schema as ordered migrations, per SQL dialect (pure data and one rule).

Every table is prefixed ``agentkit_``. ``agentkit_schema`` records each applied version;
a store applies the missing ones at open inside one transaction, under a lock, so two
processes opening the same new database at once apply them exactly once. A database whose
version is newer than this agentkit knows is refused rather than misread.
"""

from __future__ import annotations

from typing import Literal

from agentkit.sessions._errors import SessionFormatError

__all__ = ["MIGRATIONS", "SCHEMA_TABLE", "Dialect", "pending"]

Dialect = Literal["sqlite", "postgres"]

SCHEMA_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS agentkit_schema "
    "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS agentkit_schema "
    "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
}

_SQLITE_NEW_EPOCH = (
    "UPDATE agentkit_lease_counter SET value = value + 1 WHERE id = 1; "
    "UPDATE agentkit_sessions SET epoch = (SELECT value FROM agentkit_lease_counter "
    "WHERE id = 1) WHERE id IN ({ids});"
)

# Version N is MIGRATIONS[dialect][N - 1]. Append only: a released migration never changes.
MIGRATIONS: dict[Dialect, list[list[str]]] = {
    "sqlite": [
        [  # 1: sessions with a fencing token, messages as (format, JSON text) rows
            "CREATE TABLE agentkit_sessions (id TEXT PRIMARY KEY, token INTEGER NOT NULL, "
            "updated_at REAL NOT NULL)",
            "CREATE TABLE agentkit_messages (session_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "format INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (session_id, seq))",
            "CREATE TABLE agentkit_lease_counter (id INTEGER PRIMARY KEY CHECK (id = 1), "
            "value INTEGER NOT NULL)",
            "INSERT INTO agentkit_lease_counter (id, value) VALUES (1, 0)",
        ],
        [  # 2: the journal of a turn in progress and a paused run's state
            "ALTER TABLE agentkit_sessions ADD COLUMN journal TEXT",
            "ALTER TABLE agentkit_sessions ADD COLUMN pause TEXT",
        ],
        [  # 3: the epoch of a session's rows (see agentkit.sessions._cache); 0: unknown
            "ALTER TABLE agentkit_sessions ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0",
            "UPDATE agentkit_sessions SET epoch = token",
            # Whoever removes or rewrites a stored message (any agentkit, or by hand), the
            # session gets a new epoch, one never used before.
            f"CREATE TRIGGER agentkit_messages_removed AFTER DELETE ON agentkit_messages "
            f"BEGIN {_SQLITE_NEW_EPOCH.format(ids='OLD.session_id')} END",
            f"CREATE TRIGGER agentkit_messages_rewritten AFTER UPDATE ON agentkit_messages "
            f"BEGIN {_SQLITE_NEW_EPOCH.format(ids='OLD.session_id, NEW.session_id')} END",
        ],
    ],
    "postgres": [
        [
            # holder: the key of the advisory lock its holding store keeps on a connection
            "CREATE TABLE agentkit_sessions (id TEXT PRIMARY KEY, token BIGINT NOT NULL, "
            "holder BIGINT, updated_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            "CREATE TABLE agentkit_messages (session_id TEXT NOT NULL, seq INTEGER NOT NULL, "
            "format INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (session_id, seq))",
            "CREATE SEQUENCE agentkit_lease_tokens",
        ],
        [
            "ALTER TABLE agentkit_sessions ADD COLUMN journal TEXT",
            "ALTER TABLE agentkit_sessions ADD COLUMN pause TEXT",
        ],
        [  # 3: the epoch of a session's rows (see agentkit.sessions._cache); a new row's
            # epoch is a number never used before, whoever inserts it
            "ALTER TABLE agentkit_sessions ADD COLUMN epoch BIGINT NOT NULL "
            "DEFAULT nextval('agentkit_lease_tokens')",
            "CREATE FUNCTION agentkit_new_epoch() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path FROM CURRENT AS $$ "
            "BEGIN UPDATE agentkit_sessions SET epoch = nextval('agentkit_lease_tokens') "
            "WHERE id IN (OLD.session_id, NEW.session_id); RETURN NULL; END $$",
            "CREATE TRIGGER agentkit_messages_changed AFTER UPDATE OR DELETE "
            "ON agentkit_messages FOR EACH ROW EXECUTE FUNCTION agentkit_new_epoch()",
        ],
    ],
}


def pending(dialect: Dialect, current: int) -> list[tuple[int, list[str]]]:
    """The migrations to apply to a database at version ``current`` (0: a new one), in order."""
    steps = MIGRATIONS[dialect]
    if current > len(steps):
        raise SessionFormatError(
            f"The database's session schema is version {current}, newer than this agentkit "
            f"knows ({len(steps)}); upgrade agentkit to use it"
        )
    return [(v, steps[v - 1]) for v in range(current + 1, len(steps) + 1)]
