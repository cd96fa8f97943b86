"""The agent: ``Agent`` and the run core behind it.

Layout, bottom up: ``settings`` and ``output`` (what a run asks for), ``spec`` (an agent's
precomputed request), ``history`` (checking and repairing histories), ``state`` (one run's
decisions, no I/O), ``effects`` and ``flow`` (the run as a generator of effects),
``drivers`` (the sync and async interpreters of the flow), ``streams``, ``subagent``,
``capture``, ``config`` (the constructor's checks), ``public_runs`` (the run methods) and
``core`` (the public ``Agent``).
"""

from typing import TYPE_CHECKING

from agentkit._lazy import exports

if TYPE_CHECKING:
    from agentkit.agent.capture import RunCapture, capture_run
    from agentkit.agent.core import Agent
    from agentkit.agent.settings import ModelSettings
    from agentkit.agent.streams import AgentStream, SyncAgentStream

__all__ = ["Agent", "AgentStream", "ModelSettings", "RunCapture", "SyncAgentStream", "capture_run"]

__getattr__ = exports(
    __name__,
    {
        "Agent": "agentkit.agent.core",
        "AgentStream": "agentkit.agent.streams",
        "ModelSettings": "agentkit.agent.settings",
        "RunCapture": "agentkit.agent.capture",
        "SyncAgentStream": "agentkit.agent.streams",
        "capture_run": "agentkit.agent.capture",
    },
)
