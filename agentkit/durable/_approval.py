"""Approval of a paused durable run: the pause its workflow publishes, and the checks of
decisions against it, the plain resume's own checks (``agentkit.agent.pausing``).

Decisions are checked twice. ``DurableAgent.approve`` checks them in the approver's
process against the pause the workflow published (a DBOS event), so a bad one is a
``UserError`` where it was given and never reaches the workflow. The workflow checks what
it receives again before it resumes (a decision sent past ``approve``, or one that raced a
second approver): one that does not check out is logged and dropped, and the workflow
goes on waiting, as a plain paused run stays resumable after a refused resume.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agentkit.agent.pausing import check_decisions
from agentkit.approvals import Decision, PausedRun, check_decisions_argument
from agentkit.durable._sources import definition, tool_from_definition
from agentkit.errors import UserError
from agentkit.tool import Tool

__all__ = ["accepted", "check_ended", "check_published", "published", "wait_seconds"]

logger = logging.getLogger("agentkit")


def published(pause: PausedRun, tools: Mapping[str, Tool[Any, Any]]) -> dict[str, Any]:
    """What a paused workflow publishes: its pause, and the definitions of the paused
    calls' tools (an approver has no tool a source listed inside the workflow)."""
    names = sorted({r.tool_name for r in pause.requests})
    return {"pause": pause.to_dict(), "tools": [definition(tools[n]) for n in names if n in tools]}


def _not_here(**_: Any) -> Any:
    raise AssertionError("a tool rebuilt to check decisions is never run")


def check_ended(workflow_id: str, status: str | None) -> None:
    """``UserError`` if the workflow has ended (``status``: its DBOS status): a cancelled
    or timed-out run still shows the pause it published, but nothing will read decisions.
    """
    if status in ("CANCELLED", "ERROR", "SUCCESS", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
        raise UserError(
            f"workflow {workflow_id!r} has ended ({status}): it waits for no approval "
            "decisions any more"
        )


def check_published(
    workflow_id: str,
    data: Any,
    decisions: Mapping[str, Decision],
    own_tools: Mapping[str, Tool[Any, Any]],
) -> None:
    """Check ``decisions`` against the pause ``data`` a workflow published.

    The agent's own tools validate replacement arguments as in a plain resume; a tool a
    source listed is rebuilt from its recorded definition, as the workflow built it.

    Raises:
        UserError: The workflow waits for no decision, or the decisions do not fit its
            pause (an unknown or a missing call id, arguments that do not fit the tool).
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("pause"), Mapping):
        raise UserError(
            f"workflow {workflow_id!r} waits for no approval decisions (not paused, approved "
            "already, finished, or not a run of this DurableAgent)"
        )
    paused = PausedRun.from_dict(data["pause"])
    tools: dict[str, Tool[Any, Any]] = {}
    for d in data.get("tools") or ():
        name = str(d["name"])
        tools[name] = own_tools.get(name) or tool_from_definition(d, _not_here)
    check_decisions(paused, decisions, tools, fingerprinted=False)


def accepted(pause: PausedRun, tools: Mapping[str, Tool[Any, Any]], received: Any) -> bool:
    """Inside the workflow: whether the decisions ``received`` check out against its pause
    (pure, so a replay takes the same decision); ones that do not are logged."""
    try:
        check_decisions(pause, check_decisions_argument(received), tools)
    except UserError as exc:
        logger.warning("Approval decisions refused, still waiting for valid ones: %s", exc)
        return False
    return True


def wait_seconds(deadline_ms: int | None, now: float, longest: float) -> float:
    """How long one wait for decisions lasts: ``longest``, but not past the workflow's
    deadline. DBOS cancels a workflow at its deadline only when it next starts a step, so
    a wait outlasting it would keep the cancelled workflow, and whoever awaits its result,
    blocked for the whole wait. At least a second: a wait woken at the deadline, before
    DBOS has cancelled, must not spin."""
    if deadline_ms is None:
        return longest
    return max(1.0, min(longest, deadline_ms / 1000 - now + 0.2))
