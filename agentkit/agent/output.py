"""Structured output: how to ask the model for an ``output_type`` and validate its answer."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Literal

from agentkit._pydantic_errors import compact_errors
from agentkit.errors import UserError
from agentkit.result import OutputTypeForm

__all__ = ["OutputMode", "OutputSpec", "OutputTypeForm"]

OutputMode = Literal["json_object", "json_schema"]


class OutputSpec:
    """How to ask for, and validate, a structured ``output_type`` (built once per agent).

    Objects (pydantic models, dataclasses, TypedDicts) are asked for as they are; other
    types are wrapped as ``{"result": ...}`` because JSON mode answers with an object. The
    answer is validated as tool arguments are (``agentkit.schema.values``): strict types,
    extra keys refused at every depth, in both output modes.
    """

    __slots__ = ("_value", "instructions", "response_format", "type", "wrapped")

    def __init__(self, output_type: Any, mode: OutputMode) -> None:
        from agentkit.schema.values import ValueSchema  # structured output only

        if mode not in ("json_object", "json_schema"):
            raise UserError(f"output_mode must be 'json_object' or 'json_schema', not {mode!r}")
        self.type = output_type
        self._value = ValueSchema(output_type)
        self.wrapped = not _is_object_type(output_type)
        schema = self._value.schema if self.wrapped else self._value.value_schema()
        name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(output_type, "__name__", "output"))[:64]
        schema_text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
        if mode == "json_schema":
            self.response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name or "output", "schema": schema},
            }
            self.instructions = "Answer with a JSON object matching the given schema."
        else:
            self.response_format = {"type": "json_object"}
            self.instructions = (
                "Answer with only a JSON object (no other text, no code fence) that matches "
                f"this JSON schema:\n{schema_text}"
            )

    def validate(self, content: str) -> Any:
        """Parse and validate the model's answer; ``ValueError`` with a compact message."""
        from pydantic import ValidationError

        from agentkit.jsonanswer import parse_json_answer  # structured output only

        try:
            # The same parser as ``create_json``: both accept exactly the same answers.
            data = parse_json_answer(content)
        except ValueError as exc:
            raise ValueError(f"Your answer is {exc}.") from None
        if self.wrapped and (not isinstance(data, dict) or "result" not in data):
            raise ValueError('Your answer must be a JSON object with a "result" key.')
        try:
            # An object answer is the value itself: its error locations lose "result".
            return self._value.validate(data if self.wrapped else {"result": data})
        except ValidationError as exc:
            errors = compact_errors(exc, skip=0 if self.wrapped else 1)
            raise ValueError("Your answer does not match the schema:\n" + errors) from None


def _is_object_type(tp: Any) -> bool:
    from pydantic import BaseModel
    from typing_extensions import is_typeddict

    if isinstance(tp, type) and (issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp)):
        return True
    return bool(is_typeddict(tp))
