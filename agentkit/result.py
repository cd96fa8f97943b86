"""What an agent run returns."""

from __future__ import annotations

import copy
import types
from collections.abc import Mapping
from dataclasses import asdict, field
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, _SpecialForm, overload

from agentkit._record import record
from agentkit.errors import UserError
from agentkit.messages import Message
from agentkit.usage import Usage

if TYPE_CHECKING:
    from agentkit.approvals import ApprovalRequest, PausedRun

__all__ = ["OutputTypeForm", "RunResult", "ToolFailure"]

OutputT = TypeVar("OutputT")
T = TypeVar("T")
# An output type that is no class, as type checkers see it: Literal[...], Optional[...] or
# Annotated[...] (a special form) and X | None (mypy: "UnionType | type[X]"). The public
# signatures take it in an overload of its own, typing the output Any: no checker can name
# the type such an expression stands for, and a union with type[T] would spoil inferring T.
OutputTypeForm: TypeAlias = _SpecialForm | types.UnionType | type[Any]


@record(slots=True)
class ToolFailure:
    """A tool call that failed during a run (the model was told only that it failed).

    Attributes:
        tool_name: The tool that failed.
        tool_call_id: The model's id of the call.
        error_type: The exception's class name (``"TimeoutError"`` for a timeout).
        error: The exception's message (for you; the model never sees it).
    """

    tool_name: str
    tool_call_id: str
    error_type: str
    error: str


@record(slots=True)
class RunResult(Generic[OutputT]):
    """The outcome of a finished agent run.

    Attributes:
        output: The model's final answer: a ``str``, or an instance of the agent's
            ``output_type``.
        messages: Every user, assistant and tool message of the conversation, history
            included, as JSON-serializable wire-format dicts; pass it back as ``history``
            to continue the chat. The instructions are not part of it.
        usage: Tokens summed over the run's requests, and the requests and tool calls made.
        tool_failures: Tool calls that raised or timed out (the model was told they failed).
        notes: Things the run did that you may want to know about, e.g. that it stopped a
            repeated tool call or truncated a large tool result.
        new_messages_start: Index in ``messages`` of this run's first message (the end of
            the history passed in, after any repair).
        pause: When the run stopped for a person's approval, its ``PausedRun`` (then
            ``output`` is ``None``); else ``None``.
    """

    output: OutputT
    messages: list[Message]
    usage: Usage
    tool_failures: list[ToolFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_messages_start: int = 0
    pause: PausedRun | None = None

    @property
    def paused(self) -> bool:
        """Whether the run stopped before tool calls that need approval (not an error)."""
        return self.pause is not None

    @property
    def approvals(self) -> list[ApprovalRequest]:
        """The calls waiting for a decision (empty unless ``paused``)."""
        return list(self.pause.requests) if self.pause is not None else []

    @property
    def cost(self) -> float | None:
        """What the run cost, from the agent's ``prices`` (sub-agents included); ``None``
        without prices or when any response could not be priced."""
        return self.usage.cost

    def new_messages(self) -> list[Message]:
        """The messages added by this run (its prompt, answers and tool results)."""
        return self.messages[self.new_messages_start :]

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (``json.dumps`` works on it).

        ``output`` is converted as a tool result would be (a pydantic model or dataclass
        becomes a dict, an enum its value, a datetime ISO text); everything else is copied.
        ``RunResult.from_dict(d, output_type=...)`` turns it back into a ``RunResult``.
        """
        from pydantic_core import to_jsonable_python

        return {
            "output": to_jsonable_python(self.output),
            "messages": copy.deepcopy(self.messages),
            "usage": self.usage.to_dict(),
            "tool_failures": [asdict(f) for f in self.tool_failures],
            "notes": list(self.notes),
            "new_messages_start": self.new_messages_start,
            "pause": self.pause.to_dict() if self.pause is not None else None,
        }

    @overload
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult[Any]: ...

    @overload
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], output_type: type[T]) -> RunResult[T]: ...

    @overload
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], output_type: OutputTypeForm) -> RunResult[Any]: ...

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], output_type: Any = None) -> RunResult[Any]:
        """Rebuild a result from ``to_dict()``'s output, e.g. after storing it as JSON.

        Args:
            data: What ``to_dict()`` returned (or its JSON, decoded).
            output_type: The agent's ``output_type`` to validate ``output`` back into (a
                pydantic model, dataclass...); without it ``output`` stays as stored.

        Raises:
            UserError: A key is missing or unknown, or ``output`` does not fit ``output_type``.
        """
        keys = {"output", "messages", "usage", "tool_failures", "notes", "new_messages_start"}
        keys.add("pause")
        missing, unknown = {"output", "messages", "usage"} - set(data), set(data) - keys
        if missing or unknown:
            raise UserError(
                f"RunResult.from_dict: missing keys {sorted(missing)}, unknown {sorted(unknown)}"
            )
        output = data["output"]
        if output_type is not None:
            from pydantic import ValidationError

            from agentkit.schema.values import ValueSchema  # rebuilt outputs only

            try:
                # As the answer was validated: to_dict() gave its JSON form.
                output = ValueSchema(output_type).validate({"result": output})
            except ValidationError as exc:
                raise UserError(f"RunResult.from_dict: output does not fit {output_type!r}: "
                                f"{exc.errors(include_url=False)[0]['msg']}") from None  # fmt: skip
        try:
            failures = [ToolFailure(**f) for f in data.get("tool_failures", [])]
        except TypeError as exc:
            raise UserError(f"RunResult.from_dict: bad tool_failures entry: {exc}") from None
        pause = data.get("pause")
        return cls(
            output=output,
            messages=copy.deepcopy(list(data["messages"])),
            usage=Usage.from_dict(data["usage"]),
            tool_failures=failures,
            notes=list(data.get("notes", [])),
            new_messages_start=int(data.get("new_messages_start", 0)),
            pause=_paused_run(pause) if pause else None,
        )


def _paused_run(data: dict[str, Any]) -> PausedRun:
    # agentkit.approvals loads with the first pause or resume: most programs never pause.
    from agentkit.approvals import PausedRun

    return PausedRun.from_dict(data)
