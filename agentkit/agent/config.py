"""An agent's constructor arguments, checked and turned into what its runs share.

Pure code: nothing here does I/O or touches a client, so ``Agent.__init__`` is only the
public signature and the assignments of what ``configure`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from agentkit.agent import observe
from agentkit.agent.instructions import check_instructions, system_message
from agentkit.agent.observe import RunObserver
from agentkit.agent.output import OutputMode, OutputSpec
from agentkit.agent.settings import ModelSettings
from agentkit.agent.sources import ToolSource, split_tools
from agentkit.agent.spec import AgentSpec, OnToolError
from agentkit.client.base import BaseClient
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.prices import Prices, PriceTable, check_prices
from agentkit.tool import Tool

if TYPE_CHECKING:
    from agentkit.client import AsyncClient, Client

__all__ = ["AgentSetup", "configure"]


class AgentSetup(NamedTuple):
    """What an agent keeps from its arguments besides the ones it stores as given."""

    spec: AgentSpec
    sources: list[ToolSource]
    system: Message | None  # the shared system message of static instructions
    observer: RunObserver | None
    prices: Prices | Mapping[str, Prices] | None


def check_client(client: object) -> None:
    """``UserError`` unless ``client`` is a ``Client`` or an ``AsyncClient``."""
    if not isinstance(client, BaseClient):
        raise UserError(f"client must be a Client or AsyncClient, got {type(client).__name__}")


def configure(
    model: str | None,
    *,
    instructions: object,
    tools: Sequence[Tool[Any, Any] | ToolSource],
    client: Client | AsyncClient | None,
    output_type: type[Any] | None,
    output_mode: OutputMode,
    model_settings: ModelSettings | Mapping[str, Any] | None,
    max_turns: int,
    on_tool_error: OnToolError,
    tool_concurrency: int,
    instrument: bool | RunObserver | None,
    on_busy: Literal["raise", "wait"],
    prices: PriceTable | None,
    retry_hint: str | None,
    **spec_options: Any,
) -> AgentSetup:
    """Check ``Agent(...)``'s arguments and precompute what every run shares.

    ``spec_options`` are the ``AgentSpec`` fields taken as given (``usage_limits``,
    ``run_timeout``, the retry budgets...), typed by ``Agent``'s signature.

    Raises:
        UserError: An argument is of the wrong type or out of range (the first found,
            in the order of the checks below).
    """
    output = _checked_output(
        instructions, retry_hint, client, on_tool_error, max_turns, tool_concurrency,
        output_type, output_mode, on_busy,
    )  # fmt: skip
    observer = observe.resolve(instrument)
    checked_prices = check_prices(prices)
    plain, sources = split_tools(tools)
    spec = AgentSpec.build(
        model=model,
        tools=plain,
        settings=ModelSettings.coerce(model_settings),
        output=output,
        max_turns=max_turns,
        on_tool_error=on_tool_error,
        retry_hint=retry_hint or None,
        **spec_options,
    )
    # Static instructions become one shared system message, built once.
    system = None
    if isinstance(instructions, str) or instructions is None:
        system = system_message(instructions, output)
    return AgentSetup(spec, sources, system, observer, checked_prices)


def _checked_output(
    instructions: object,
    retry_hint: object,
    client: object,
    on_tool_error: object,
    max_turns: int,
    tool_concurrency: int,
    output_type: type[Any] | None,
    output_mode: OutputMode,
    on_busy: object,
) -> OutputSpec | None:
    """The output spec of ``output_type``, after the checks of the plain arguments."""
    check_instructions(instructions)
    if retry_hint is not None and not isinstance(retry_hint, str):
        raise UserError(f"retry_hint must be a str or None, got {type(retry_hint).__name__}")
    if client is not None:
        check_client(client)
    if on_tool_error not in ("report", "raise"):
        raise UserError(f"on_tool_error must be 'report' or 'raise', not {on_tool_error!r}")
    if max_turns < 1 or tool_concurrency < 1:
        raise UserError("max_turns and tool_concurrency must be at least 1")
    output = (
        None if output_type is None or output_type is str else OutputSpec(output_type, output_mode)
    )
    if on_busy not in ("raise", "wait"):
        raise UserError(f"on_busy must be 'raise' or 'wait', not {on_busy!r}")
    return output
