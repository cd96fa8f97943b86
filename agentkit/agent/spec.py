"""``AgentSpec``: everything about an agent the run needs, computed once when it is built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from agentkit.agent.output import OutputSpec
from agentkit.agent.settings import SETTINGS_BODY_FIELDS, ModelSettings
from agentkit.errors import UserError
from agentkit.tool import Tool
from agentkit.usage import UsageLimits

__all__ = ["RETRY_HINT", "AgentSpec", "OnToolError", "build_kwargs"]

OnToolError = Literal["report", "raise"]

RETRY_HINT = "Fix the problem and try again."


class AgentSpec(NamedTuple):
    """Everything about an agent the loop needs, computed once when the agent is built."""

    tools: Mapping[str, Tool[Any, Any]]
    base_kwargs: Mapping[str, Any]  # request kwargs without messages (tools, settings, format)
    tool_choice: str | dict[str, Any] | None
    model: str | None = None
    settings: ModelSettings = ModelSettings()  # frozen: safe to share
    output: OutputSpec | None = None
    max_turns: int = 10
    usage_limits: UsageLimits | None = None
    run_timeout: float | None = None
    reset_tool_choice: bool = True
    on_tool_error: OnToolError = "report"
    max_repeated_tool_calls: int | None = 2
    max_tool_result_chars: int | None = 50_000
    output_retries: int = 2
    unknown_tool_retries: int = 2
    history_turns: int | None = None
    recover_text_tool_calls: bool | None = None  # None: the client profile's
    retry_hint: str | None = RETRY_HINT  # appended to a ModelRetry message; None: nothing

    def with_output(self, output: OutputSpec | None) -> AgentSpec:
        """This spec asking for another structured output (``None``: text) for one run."""
        kwargs = build_kwargs(self.model, self.tools, self.settings, output)
        return self._replace(output=output, base_kwargs=kwargs)

    def with_settings(self, override: ModelSettings | Mapping[str, Any] | None) -> AgentSpec:
        """This spec with some model settings overridden for one run."""
        if override is None:
            return self
        settings = self.settings.merged(override)
        return self._replace(
            settings=settings,
            base_kwargs=build_kwargs(self.model, self.tools, settings, self.output),
            tool_choice=settings.tool_choice if self.tools else None,
        )

    @classmethod
    def build(
        cls,
        *,
        model: str | None,
        tools: Sequence[Tool[Any, Any]],
        settings: ModelSettings,
        output: OutputSpec | None,
        **options: Any,
    ) -> AgentSpec:
        """Precompute the request kwargs shared by every request of every run."""
        by_name: dict[str, Tool[Any, Any]] = {}
        for t in tools:
            if not isinstance(t, Tool):
                raise UserError(
                    f"tools must be agentkit Tool objects (use @tool), got {type(t).__name__}"
                )
            if t.name in by_name:
                raise UserError(f"Two tools are named {t.name!r}; tool names must be unique")
            by_name[t.name] = t
        kw = build_kwargs(model, by_name, settings, output)
        return cls(
            tools=by_name,
            base_kwargs=kw,
            tool_choice=settings.tool_choice if by_name else None,
            model=model,
            settings=settings,
            output=output,
            **options,
        )


def build_kwargs(
    model: str | None,
    tools: Mapping[str, Tool[Any, Any]],
    settings: ModelSettings,
    output: OutputSpec | None,
) -> dict[str, Any]:
    """The request kwargs (besides messages and ``tool_choice``) for these settings."""
    kw: dict[str, Any] = {}
    if model is not None:
        kw["model"] = model
    for name in SETTINGS_BODY_FIELDS:
        value = getattr(settings, name)
        if value is not None:
            kw[name] = value
    if settings.extra_body:
        kw["extra_body"] = dict(settings.extra_body)
    if tools:
        kw["tools"] = [t.to_openai() for t in tools.values()]
    else:
        kw.pop("parallel_tool_calls", None)  # servers reject it without tools
    if output is not None:
        kw["response_format"] = output.response_format
    return kw
