"""The errors of session stores (all under ``AgentkitError``).

```
AgentkitError
└── SessionError              a session store could not do what was asked
    ├── SessionBusyError      another run holds the session's lease
    ├── SessionLostError      this lease was lost; its write was refused (history unchanged)
    └── SessionFormatError    a stored row or database is of a format this agentkit cannot read
```
"""

from __future__ import annotations

from agentkit.errors import AgentkitError

__all__ = ["SessionBusyError", "SessionError", "SessionFormatError", "SessionLostError"]


class SessionError(AgentkitError):
    """A session store could not do what was asked.

    Attributes:
        session_id: The session concerned, or ``None`` for store-wide failures.
    """

    def __init__(self, message: str, *, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class SessionBusyError(SessionError):
    """Another run holds the session's lease (raised at once with ``on_busy="raise"``,
    or when ``on_busy="wait"`` timed out)."""


class SessionLostError(SessionError):
    """The lease this write was made under is no longer held (another run took over, or
    the database connection holding it was lost); nothing was written."""


class SessionFormatError(SessionError):
    """A stored row, journal, pause state or database schema has a format this version of
    agentkit does not know (written by a newer agentkit, or corrupted)."""
