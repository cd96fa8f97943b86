"""A value's type validated as tool arguments are: the structured output of a run.

``ValueSchema(output_type)`` applies the argument model's rules to one value:

- ``typing.TypedDict`` classes are rebuilt as ``typing_extensions`` ones before Python 3.12.
- The value is the ``result`` field of a model with ``extra="forbid"``, so nested
  dataclasses and TypedDicts refuse extra keys, and nested pydantic models that leave
  ``extra`` unset are swapped for subclasses that refuse them (``forbid_extras``).
- Validation is strict JSON validation: ``"5"`` is not an integer, ``"yes"`` not a boolean.

The value returned is made of the user's own classes: when a pydantic model was swapped,
the value is built again from the same JSON with the user's type (which cannot fail once
the stricter check passed), so ``type(value) is Order`` holds and the value pickles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError
from pydantic_core import PydanticSerializationError, to_json

from agentkit.errors import UserError
from agentkit.schema.type_fixes import forbid_extras, modern_typed_dicts

__all__ = ["ValueSchema"]


class ValueSchema:
    """The JSON schema and the strict validator of values of one type.

    Attributes:
        type: The type as the user gave it.
        schema: The JSON schema of ``{"result": value}`` (an object schema).

    Raises:
        UserError: Pydantic cannot validate the type, or it is a string or other forward
            reference; the message names the type.
    """

    __slots__ = ("_build", "_model", "schema", "type")

    def __init__(self, output_type: Any) -> None:
        self.type = output_type
        if isinstance(output_type, str):
            # Pydantic would only fail on the first answer, saying to call .rebuild().
            raise UserError(
                f"Unsupported output_type {output_type!r}: a string is a forward reference "
                "agentkit cannot resolve; pass the type itself"
            )
        try:
            fixed = modern_typed_dicts(output_type)
            checking = forbid_extras(fixed)
            self._model: type[BaseModel] = create_model(
                "output", __config__=ConfigDict(extra="forbid"), result=(checking, ...)
            )
            self.schema: dict[str, Any] = self._model.model_json_schema()
            # Only when a model was swapped: the value is then rebuilt from the user's type.
            self._build = TypeAdapter(fixed) if checking is not fixed else None
        except (PydanticSchemaGenerationError, PydanticUserError, TypeError) as exc:
            reason = str(exc).splitlines()[0]
            raise UserError(f"Unsupported output_type {output_type!r}: {reason}") from None
        self.schema.pop("title", None)
        self.schema["properties"]["result"].pop("title", None)

    def value_schema(self) -> dict[str, Any]:
        """The JSON schema of the value itself (for types whose value is an object)."""
        schema = self.schema
        defs: dict[str, Any] = dict(schema.get("$defs", {}))
        field: dict[str, Any] = schema["properties"]["result"]
        ref = field.get("$ref")
        if not isinstance(ref, str) or len(field) > 1:
            return field
        name = ref.rsplit("/", 1)[-1]
        top = dict(defs.pop(name))
        if f'"{ref}"' in json.dumps([top, defs]):  # recursive or shared: the definition stays
            defs[name] = schema["$defs"][name]
        if defs:
            top["$defs"] = defs
        return top

    def validate(self, wrapper: Mapping[str, Any]) -> Any:
        """The value of ``{"result": value}`` (decoded JSON), validated.

        Raises:
            pydantic.ValidationError: The value does not fit, or ``wrapper`` has other
                keys; error locations start with ``"result"``.
        """
        try:
            text: bytes | None = to_json(wrapper)
        except PydanticSerializationError:
            text = None  # Python objects no JSON decodes to: the caller built these on purpose
        if text is None:
            checked = self._model.model_validate(wrapper)
        else:
            checked = self._model.model_validate_json(text, strict=True)
        if self._build is None:
            return checked.__dict__["result"]
        if text is None:
            return self._build.validate_python(wrapper["result"])
        return self._build.validate_json(to_json(wrapper["result"]), strict=True)
