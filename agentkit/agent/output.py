"""Structured output: how to ask the model for an ``output_type`` and validate its answer."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Literal

from agentkit._pydantic_errors import compact_errors
from agentkit.errors import UserError

__all__ = ["OutputMode", "OutputSpec"]

OutputMode = Literal["json_object", "json_schema"]


class OutputSpec:
    """How to ask for, and validate, a structured ``output_type`` (built once per agent).

    Objects (pydantic models, dataclasses, TypedDicts) are asked for as they are; other
    types are wrapped as ``{"result": ...}`` because JSON mode answers with an object.
    """

    __slots__ = ("_adapter", "instructions", "response_format", "type", "wrapped")

    def __init__(self, output_type: Any, mode: OutputMode) -> None:
        from pydantic import PydanticSchemaGenerationError, TypeAdapter

        self.type = output_type
        try:
            self._adapter: Any = TypeAdapter(output_type)
            schema: dict[str, Any] = self._adapter.json_schema()
        except (PydanticSchemaGenerationError, TypeError) as exc:
            raise UserError(f"Unsupported output_type {output_type!r}: {exc}") from None
        self.wrapped = not _is_object_type(output_type)
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {"result": schema},
                "required": ["result"],
            }
            if defs:
                schema["$defs"] = defs
        name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(output_type, "__name__", "output"))[:64]
        schema_text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
        if mode == "json_schema":
            self.response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name or "output", "schema": schema},
            }
            self.instructions = "Answer with a JSON object matching the given schema."
        elif mode == "json_object":
            self.response_format = {"type": "json_object"}
            self.instructions = (
                "Answer with only a JSON object (no other text, no code fence) that matches "
                f"this JSON schema:\n{schema_text}"
            )
        else:
            raise UserError(f"output_mode must be 'json_object' or 'json_schema', not {mode!r}")

    def validate(self, content: str) -> Any:
        """Parse and validate the model's answer; ``ValueError`` with a compact message."""
        from pydantic import ValidationError

        from agentkit.jsonanswer import parse_json_answer  # structured output only

        try:
            # The same parser as ``create_json``: both accept exactly the same answers.
            data = parse_json_answer(content)
        except ValueError as exc:
            raise ValueError(f"Your answer is {exc}.") from None
        if self.wrapped:
            if not isinstance(data, dict) or "result" not in data:
                raise ValueError('Your answer must be a JSON object with a "result" key.')
            data = data["result"]
        try:
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            raise ValueError(
                "Your answer does not match the schema:\n" + compact_errors(exc)
            ) from None


def _is_object_type(tp: Any) -> bool:
    from pydantic import BaseModel
    from typing_extensions import is_typeddict

    if isinstance(tp, type) and (issubclass(tp, BaseModel) or dataclasses.is_dataclass(tp)):
        return True
    return bool(is_typeddict(tp))
