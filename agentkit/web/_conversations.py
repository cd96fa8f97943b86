"""Where conversations live between requests: the one seam between the web app and runs.

:class:`StoreConversations` keeps them in an agentkit session store (``chat_app(store=...)``)
and lets the agent load and save them (``session=``). :class:`MemoryConversations` keeps
them in this process (``store=None``): each session's history is passed as ``history=``
and replaced by the run's messages, one run at a time per session.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentkit.errors import AgentkitError
from agentkit.events import RunFinished
from agentkit.messages import Message
from agentkit.web._common import approval_json
from agentkit.web._requests import ApprovalDecision, BadRequest

__all__ = ["Conversations", "MemoryConversations", "StoreConversations", "is_busy_error"]


def is_busy_error(exc: BaseException) -> bool:
    """True for the sessions' ``SessionBusyError`` (matched by name: that module is optional)."""
    return any(cls.__name__ == "SessionBusyError" for cls in type(exc).__mro__)


def _busy(session_id: str) -> BadRequest:
    return BadRequest(
        f"session {session_id!r} is still answering an earlier message; try again when it ends",
        status=409,
        code="session_busy",
    )


def _decisions(decisions: Mapping[str, ApprovalDecision]) -> dict[str, Any]:
    """The agent's decision objects; imported here because approval support is optional."""
    try:
        from agentkit import Approve, Reject
    except ImportError:
        raise BadRequest(
            "this agentkit version cannot resume paused runs", status=501, code="no_approval"
        ) from None
    out: dict[str, Any] = {}
    for call_id, d in decisions.items():
        if d.approve:
            out[call_id] = Approve(arguments=d.arguments) if d.arguments else Approve()
        else:
            out[call_id] = Reject(d.reason or "rejected by the user")
    return out


class Conversations(Protocol):
    """What the web app needs from wherever conversations are kept."""

    async def history(self, session_id: str) -> tuple[list[Message], list[dict[str, Any]]]:
        """The stored messages and the approval requests of a paused run (may be empty)."""
        ...

    def stream(self, session_id: str, prompt: str) -> AsyncIterator[Any]:
        """Run ``prompt`` on the session, yielding the agent's stream events.

        Raises ``BadRequest`` (409) before the first event when the session is busy.
        """
        ...

    async def run(self, session_id: str, prompt: str) -> Any:
        """Run ``prompt`` on the session; the ``RunResult``."""
        ...

    async def resume(self, session_id: str, decisions: Mapping[str, ApprovalDecision]) -> Any:
        """Continue the session's paused run with these decisions; the ``RunResult``."""
        ...


@dataclass
class MemoryConversations:
    """Conversations in this process's memory, lost when it exits."""

    agent: Any
    _histories: dict[str, list[Message]] = field(default_factory=dict)
    _pauses: dict[str, Any] = field(default_factory=dict)  # session -> (PausedRun, approvals)
    _busy: set[str] = field(default_factory=set)

    async def history(self, session_id: str) -> tuple[list[Message], list[dict[str, Any]]]:
        """The session's messages and pending approvals."""
        pause = self._pauses.get(session_id)
        approvals = [approval_json(a) for a in pause[1]] if pause else []
        return list(self._histories.get(session_id, [])), approvals

    def _claim(self, session_id: str) -> None:
        if session_id in self._busy:
            raise _busy(session_id)
        if session_id in self._pauses:
            raise BadRequest(
                "this conversation is waiting for an approval: approve or reject the "
                "pending tool call first",
                status=409,
                code="session_paused",
            )
        self._busy.add(session_id)

    def _keep(self, session_id: str, result: Any) -> None:
        self._histories[session_id] = list(result.messages)
        if getattr(result, "paused", False):
            self._pauses[session_id] = (result.pause, list(result.approvals))
        else:
            self._pauses.pop(session_id, None)

    def _keep_failed(self, session_id: str, exc: AgentkitError) -> None:
        # The error carries the conversation so far, valid as history.
        if exc.messages:
            self._histories[session_id] = list(exc.messages)

    def stream(self, session_id: str, prompt: str) -> AsyncIterator[Any]:
        """The run's events; the session is claimed now, before the first event."""
        self._claim(session_id)
        return self._stream(session_id, prompt)

    async def _stream(self, session_id: str, prompt: str) -> AsyncIterator[Any]:
        try:
            history = self._histories.get(session_id, [])
            events = self.agent.stream(prompt, history=history)
            async with contextlib.aclosing(events):
                async for event in events:
                    if isinstance(event, RunFinished):
                        self._keep(session_id, event.result)
                    yield event
        except AgentkitError as exc:
            self._keep_failed(session_id, exc)
            raise
        finally:
            # A cancelled run (client gone) leaves the history as it was: still valid.
            self._busy.discard(session_id)

    async def run(self, session_id: str, prompt: str) -> Any:
        """Run once and keep the result's messages."""
        self._claim(session_id)
        try:
            result = await self.agent.run(prompt, history=self._histories.get(session_id, []))
        except AgentkitError as exc:
            self._keep_failed(session_id, exc)
            raise
        finally:
            self._busy.discard(session_id)
        self._keep(session_id, result)
        return result

    async def resume(self, session_id: str, decisions: Mapping[str, ApprovalDecision]) -> Any:
        """Resume the paused run kept for this session."""
        pause = self._pauses.get(session_id)
        if pause is None:
            raise BadRequest(
                f"session {session_id!r} has no paused run", status=409, code="not_paused"
            )
        agent_decisions = _decisions(decisions)
        if session_id in self._busy:
            raise _busy(session_id)
        self._busy.add(session_id)
        try:
            result = await self.agent.resume(pause[0], agent_decisions)
        finally:
            self._busy.discard(session_id)
        self._keep(session_id, result)
        return result


def pending_from_pause(state: Any) -> list[dict[str, Any]]:
    """The approval requests in a session's stored pause state (a JSON dict)."""
    if not isinstance(state, dict):
        return []
    requests = state.get("approvals", state.get("requests", []))
    out = []
    for item in requests if isinstance(requests, list) else []:
        if isinstance(item, dict) and "tool_call_id" in item:
            out.append(
                {
                    "tool_call_id": item["tool_call_id"],
                    "tool_name": item.get("tool_name"),
                    "arguments": item.get("arguments"),
                }
            )
    return out


@dataclass
class StoreConversations:
    """Conversations in a session store; the agent loads and saves them itself."""

    agent: Any
    store: Any

    async def history(self, session_id: str) -> tuple[list[Message], list[dict[str, Any]]]:
        """The stored messages and the paused run's requests."""
        session = self.store.session(session_id)
        messages = await session.amessages()
        return list(messages), pending_from_pause(session.pause())

    def stream(self, session_id: str, prompt: str) -> AsyncIterator[Any]:
        """The run's events (a busy session fails at the first event)."""
        return self._stream(session_id, prompt)

    async def _stream(self, session_id: str, prompt: str) -> AsyncIterator[Any]:
        events = self.agent.stream(prompt, session=self.store.session(session_id))
        async with contextlib.aclosing(events):
            try:
                async for event in events:
                    yield event
            except AgentkitError as exc:
                if is_busy_error(exc):
                    raise _busy(session_id) from None
                raise

    async def run(self, session_id: str, prompt: str) -> Any:
        """Run once; the store keeps the messages."""
        try:
            return await self.agent.run(prompt, session=self.store.session(session_id))
        except AgentkitError as exc:
            if is_busy_error(exc):
                raise _busy(session_id) from None
            raise

    async def resume(self, session_id: str, decisions: Mapping[str, ApprovalDecision]) -> Any:
        """Resume the paused run the store keeps for this session."""
        session = self.store.session(session_id)
        try:
            return await self.agent.resume(session=session, decisions=_decisions(decisions))
        except AgentkitError as exc:
            if is_busy_error(exc):
                raise _busy(session_id) from None
            raise
