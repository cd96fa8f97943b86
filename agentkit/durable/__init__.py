"""Durable agent runs on DBOS Transact: runs that survive crashes and spread over workers.

``pip install 'agentkit-lean[dbos]'``. Importing this package imports ``dbos``; importing
``agentkit`` alone never does.

::

    from dbos import DBOS
    from agentkit.durable import DurableAgent, durable_config

    DBOS(config=durable_config("refunds", "sqlite:///runs.sqlite", application_version="1"))
    durable = DurableAgent(agent, name="refund-bot")

    @DBOS.workflow()
    async def handle(question: str) -> str:
        result = await durable.run(question)    # each model call and tool call: one step
        return result.output
"""

from __future__ import annotations

from agentkit.durable._agent import DurableAgent, durable_config
from agentkit.durable._driver import StepNames
from agentkit.durable._wire import RecordedError

__all__ = ["DurableAgent", "RecordedError", "StepNames", "durable_config"]
