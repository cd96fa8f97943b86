"""``ModelSettings``: the sampling and tool-calling settings every request of a run carries."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from agentkit._checks import check_count
from agentkit._record import record
from agentkit.errors import UserError
from agentkit.params import MODEL_PARAMS

__all__ = [
    "AGENT_OWNED_PARAMS",
    "SETTINGS_BODY_FIELDS",
    "ModelSettings",
    "check_tool_choice",
    "choice_needs",
]

AGENT_OWNED_PARAMS: frozenset[str] = frozenset({"response_format", "tools"})
"""The model parameters an agent sets from its ``output_type`` and ``tools``, not settings."""

_PER_TURN_PARAMS = frozenset({"tool_choice"})  # the flow decides it turn by turn

SETTINGS_BODY_FIELDS: tuple[str, ...] = tuple(
    p for p in MODEL_PARAMS if p not in AGENT_OWNED_PARAMS | _PER_TURN_PARAMS
)
"""The ``ModelSettings`` fields sent as they are in every request body, in the order of
``agentkit.params.MODEL_PARAMS``."""


@record(frozen=True, slots=True)
class ModelSettings:
    """Sampling and tool-calling settings sent with every request of a run.

    ``None`` means "not sent" (the provider's default applies). The fields are the chat
    parameters of ``agentkit.params.ChatParams`` an agent does not set itself
    (``AGENT_OWNED_PARAMS``), plus ``extra_body``; a test keeps the two lists equal.

    Attributes:
        temperature: Randomness.
        top_p: Nucleus sampling.
        max_completion_tokens: Most output tokens per response.
        tool_choice: ``"auto"``, ``"none"``, ``"required"`` or
            ``{"type": "function", "function": {"name": ...}}``. A forced choice applies
            to the first tool turn only, unless the agent sets ``reset_tool_choice=False``.
        parallel_tool_calls: Whether the model may call several tools in one turn.
        extra_body: More JSON fields for the request body.
    """

    temperature: float | None = None
    top_p: float | None = None
    max_completion_tokens: int | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    extra_body: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise UserError(f"model setting {name} must be a number, not {value!r}")
        check_count("model setting max_completion_tokens", self.max_completion_tokens, none=True)
        parallel = self.parallel_tool_calls
        if parallel is not None and not isinstance(parallel, bool):
            raise UserError(f"model setting parallel_tool_calls must be a bool, not {parallel!r}")
        if self.extra_body is not None and not isinstance(self.extra_body, Mapping):
            raise UserError(f"model setting extra_body must be a dict, not {self.extra_body!r}")
        check_tool_choice(self.tool_choice)

    @classmethod
    def coerce(cls, value: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
        """Accept a ``ModelSettings``, a mapping of its fields, or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, ModelSettings):
            return value
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise UserError(
                f"Unknown model setting(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**value)

    def merged(self, other: ModelSettings | Mapping[str, Any] | None) -> ModelSettings:
        """These settings overridden by the non-``None`` fields of ``other``."""
        if other is None:
            return self
        o = ModelSettings.coerce(other)
        changes = {
            f.name: getattr(o, f.name)
            for f in dataclasses.fields(o)
            if getattr(o, f.name) is not None
        }
        return dataclasses.replace(self, **changes) if changes else self


def check_tool_choice(choice: object) -> None:
    """``UserError`` unless ``choice`` is a ``tool_choice`` the API takes (or ``None``)."""
    if choice is None or choice in ("auto", "none", "required"):
        return
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if (
            choice.get("type") == "function"
            and isinstance(function, Mapping)
            and isinstance(function.get("name"), str)
        ):
            return
    raise UserError(
        f"tool_choice must be 'auto', 'none', 'required' or "
        f'{{"type": "function", "function": {{"name": ...}}}}, not {choice!r}'
    )


def choice_needs(choice: object) -> str | None:
    """The tool a forced ``tool_choice`` names, ``""`` for ``"required"`` (any tool), or
    ``None`` when the choice forces no call."""
    if choice == "required":
        return ""
    if isinstance(choice, Mapping):
        name: str = choice["function"]["name"]
        return name
    return None
