"""The attributes of a run's state that its parts (``RunState`` and its mixins) share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentkit.agent.spec import AgentSpec
    from agentkit.agent.state import PendingCall
    from agentkit.approvals import PausedRun
    from agentkit.messages import Message
    from agentkit.prices import Prices
    from agentkit.result import ToolFailure
    from agentkit.tool import Tool
    from agentkit.usage import Usage

__all__ = ["StateBase"]


class StateBase:
    """Declarations only: the one ``RunState.__init__`` sets them all."""

    # Slots, for every attribute RunState sets: hundreds of runs in flight each hold one.
    __slots__ = (
        "_choice_restated",
        "_choice_sent",
        "_decisions",
        "_forced_none",
        "_ids",
        "_kwargs",
        "_last_failed",
        "_last_signature",
        "_output_retries",
        "_pending",
        "_refused",
        "_repeats",
        "_resume",
        "_resumed_index",
        "_retries",
        "_started",
        "_tool_choice",
        "_turns",
        "conversation_id",
        "deadline",
        "deps",
        "depth",
        "done",
        "ended",
        "journal_kept",
        "messages",
        "new_messages_start",
        "notes",
        "output",
        "pause",
        "pause_undecided",
        "pending_instructions",
        "persist",
        "prices",
        "recover_text_calls",
        "saved",
        "saving",
        "sources",
        "spec",
        "system",
        "tool_failures",
        "usage",
        "was_paused",
    )

    if TYPE_CHECKING:
        spec: AgentSpec
        messages: list[Message]
        usage: Usage
        notes: list[str]
        tool_failures: list[ToolFailure]
        done: bool
        deadline: float | None
        prices: Prices | Mapping[str, Prices] | None
        pause: PausedRun | None
        pause_undecided: bool
        journal_kept: bool
        _pending: list[PendingCall]
        _kwargs: Mapping[str, Any]
        _retries: dict[str, int]
        _tool_choice: str | dict[str, Any] | None
        _forced_none: bool
        _refused: list[list[str]]
        _resume: PausedRun | None
        _decisions: Mapping[str, Any]
        _resumed_index: int | None
        _last_signature: tuple[tuple[str, str], ...] | None
        _repeats: int
        _last_failed: bool
        _turns: int

        def snapshot(self) -> list[Message]: ...

        def check_deadline(self) -> None: ...

        def _prepare(
            self, pc: PendingCall, tool: Tool[Any, Any], kwargs: dict[str, Any]
        ) -> None: ...

        def _count_tool_calls(self, to_run: int) -> None: ...

        def _context(self, c: Any) -> Any: ...
