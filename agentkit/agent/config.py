"""An agent's constructor arguments, checked and turned into what its runs share.

Pure code: nothing here does I/O or touches a client, so ``Agent.__init__`` is only the
public signature and the assignments of what ``configure`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from agentkit._checks import check_count, check_seconds
from agentkit.agent import observe
from agentkit.agent.instructions import check_instructions, system_message
from agentkit.agent.observe import RunObserver
from agentkit.agent.output import OutputMode, OutputSpec, OutputTypeForm
from agentkit.agent.settings import ModelSettings, choice_needs
from agentkit.agent.sources import ToolSource, is_tool_source, split_tools
from agentkit.agent.spec import AgentSpec, OnToolError
from agentkit.client.base import BaseClient
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.prices import Prices, PriceTable, check_prices
from agentkit.tool import Tool
from agentkit.usage import UsageLimits

if TYPE_CHECKING:
    from agentkit.client import AsyncClient, Client

__all__ = ["AgentSetup", "check_forced_choice", "configure"]


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
    output_type: type[Any] | OutputTypeForm | None,
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
    _check_limits(spec_options)
    observer = observe.resolve(instrument)
    checked_prices = check_prices(prices)
    plain, sources = split_tools(_tool_list(tools))
    settings = ModelSettings.coerce(model_settings)
    check_forced_choice(settings.tool_choice, plain, sources)
    spec = AgentSpec.build(
        model=model,
        tools=plain,
        settings=settings,
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
    output_type: type[Any] | OutputTypeForm | None,
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
    check_count("max_turns", max_turns)
    check_count("tool_concurrency", tool_concurrency)
    output = (
        None if output_type is None or output_type is str else OutputSpec(output_type, output_mode)
    )
    if on_busy not in ("raise", "wait"):
        raise UserError(f"on_busy must be 'raise' or 'wait', not {on_busy!r}")
    return output


def check_agent_waits(busy_timeout: object, max_depth: object) -> None:
    """The ``Agent`` options that its runs use outside the spec."""
    check_seconds("busy_timeout", busy_timeout, zero=True, none=True)
    check_count("max_depth", max_depth)


def _tool_list(tools: object) -> Sequence[Any]:
    """``tools`` if it is a list or tuple of them; a single tool is the usual slip."""
    if isinstance(tools, (list, tuple)):
        return tools
    if isinstance(tools, Tool) or is_tool_source(tools):
        raise UserError(f"tools must be a list, got a single {type(tools).__name__}: tools=[...]")
    raise UserError(f"tools must be a list of tools, got {type(tools).__name__}")


def _check_limits(options: Mapping[str, Any]) -> None:
    """The spec options that are counts, seconds or limits (``AgentSpec`` takes them as given)."""
    for name in ("output_retries", "unknown_tool_retries"):
        check_count(name, options[name], minimum=0)
    for name in ("max_repeated_tool_calls", "max_tool_result_chars", "history_turns"):
        check_count(name, options[name], none=True)
    check_seconds("run_timeout", options["run_timeout"], none=True)
    check_usage_limits(options["usage_limits"])


def check_usage_limits(limits: object) -> None:
    """``UserError`` unless ``limits`` is a ``UsageLimits`` or ``None``."""
    if limits is not None and not isinstance(limits, UsageLimits):
        raise UserError(
            f"usage_limits must be a UsageLimits, not {type(limits).__name__} "
            "(UsageLimits(request_limit=...) checks its fields)"
        )


def check_forced_choice(
    choice: object, tools: Sequence[Tool[Any, Any]], sources: Sequence[ToolSource]
) -> None:
    """``UserError`` when ``choice`` forces a call to a tool the agent does not have.

    With no tool to call, a forced choice would be dropped without a word; a named tool
    the agent lacks would be sent, and refused by the server.
    """
    needed = choice_needs(choice)
    if needed is None or sources:
        return  # a source's tools are known only when a run lists them
    if not tools:
        raise UserError(f"tool_choice={choice!r} forces a tool call, but the agent has no tools")
    if needed and needed not in {t.name for t in tools if isinstance(t, Tool)}:
        raise UserError(f"tool_choice names tool {needed!r}, which the agent does not have")
