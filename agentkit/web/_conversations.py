"""Where conversations live between requests: a session store, one session per conversation.

``chat_app(store=...)`` keeps them in that store; ``store=None`` in a ``MemoryStore`` (this
process only). The agent loads and saves the history itself (``session=``), holds the
session's lease for the whole run, and keeps a paused run in the session until it is
resumed. This module turns the sessions' refusals into the API's 409 answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from agentkit._record import record
from agentkit.approvals import Decision
from agentkit.errors import AgentkitError, UserError
from agentkit.messages import Message
from agentkit.sessions import Session, SessionBusyError
from agentkit.web._errors import BadRequest

__all__ = ["Conversations", "pending_from_pause"]


def _busy(session_id: str) -> BadRequest:
    return BadRequest(
        f"session {session_id!r} is still answering an earlier message; try again when it ends",
        status=409,
        code="session_busy",
    )


def _paused(session_id: str) -> BadRequest:
    return BadRequest(
        f"session {session_id!r} is waiting for an approval: approve or reject the pending "
        "tool call first (POST /sessions/{id}/approve)",
        status=409,
        code="session_paused",
    )


def _not_paused(session_id: str) -> BadRequest:
    return BadRequest(f"session {session_id!r} has no paused run", status=409, code="not_paused")


def pending_from_pause(state: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The approval requests of a session's stored paused run (``PausedRun.to_dict()``)."""
    if state is None:
        return []
    return [
        {
            "tool_call_id": r["tool_call_id"],
            "tool_name": r["tool_name"],
            "arguments": r["arguments"],
        }
        for r in state["requests"]
    ]


async def _prepend(first: Any, events: Any) -> AsyncIterator[Any]:
    """``first`` then the rest of ``events`` (closed when this generator is)."""
    async with contextlib.aclosing(events):
        yield first
        async for event in events:
            yield event


async def _failed(exc: BaseException, events: Any) -> AsyncIterator[Any]:
    """A stream whose run failed before its first event: the failure, raised in the stream."""
    await events.aclose()
    raise exc
    yield  # pragma: no cover - makes this an async generator


@record
class Conversations:
    """The agent's runs on the sessions of one store."""

    agent: Any
    store: Any

    def _session(self, session_id: str) -> Session:
        return self.store.session(session_id)  # type: ignore[no-any-return]

    async def history(self, session_id: str) -> tuple[list[Message], list[dict[str, Any]]]:
        """The stored messages and the requests of a paused run (empty when not paused).

        While a run is paused its turn so far (the assistant's tool calls, the results of
        the calls that needed no approval) lives in the paused run, not yet in the history:
        those messages are returned, so a page can show the call waiting for a decision.
        """
        session = self._session(session_id)
        pause = await session.apause()
        if pause is not None:
            return list(pause["messages"]), pending_from_pause(pause)
        return list(await session.amessages()), []

    async def _refusal(self, session: Session, exc: AgentkitError) -> BadRequest | None:
        """The 409 a run refused by its session becomes, else ``None``."""
        if isinstance(exc, SessionBusyError):
            return _busy(session.id)
        # A session holding a paused run refuses every new prompt with a UserError.
        if isinstance(exc, UserError) and await session.apause() is not None:
            return _paused(session.id)
        return None

    async def stream(self, session_id: str, prompt: str | Message) -> AsyncIterator[Any]:
        """The run's events. Its first event is awaited here, so that a busy or paused
        session is refused (``BadRequest`` 409) before a response starts."""
        session = self._session(session_id)
        events = self.agent.stream(prompt, session=session)
        try:
            first = await events.__anext__()
        except StopAsyncIteration:  # pragma: no cover - a run always ends with RunFinished
            return _prepend(None, events)
        except AgentkitError as exc:
            refusal = await self._refusal(session, exc)
            if refusal is not None:
                await events.aclose()
                raise refusal from None
            return _failed(exc, events)
        except BaseException:
            await events.aclose()
            raise
        return _prepend(first, events)

    async def run(self, session_id: str, prompt: str | Message) -> Any:
        """Run ``prompt`` on the session; the ``RunResult``."""
        session = self._session(session_id)
        try:
            return await self.agent.run(prompt, session=session)
        except AgentkitError as exc:
            refusal = await self._refusal(session, exc)
            if refusal is not None:
                raise refusal from None
            raise

    async def resume(self, session_id: str, decisions: Mapping[str, Decision]) -> Any:
        """Continue the session's paused run with these decisions; the ``RunResult``."""
        session = self._session(session_id)
        if await session.apause() is None:
            raise _not_paused(session_id)
        try:
            return await self.agent.resume(session=session, decisions=decisions)
        except SessionBusyError:
            raise _busy(session_id) from None
        except UserError:
            if await session.apause() is None:  # resumed by another request meanwhile
                raise _not_paused(session_id) from None
            raise
