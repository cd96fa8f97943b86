"""The built schema of a tool, and the validation of a model's arguments against it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json

from agentkit._record import record
from agentkit.errors import ToolArgumentsError
from agentkit.schema.argument_errors import describe_errors
from agentkit.schema.type_fixes import drain

__all__ = ["Default", "FunctionSchema"]

_EMPTY_OBJECT = b"{}"


@record(frozen=True, slots=True)
class Default:
    """A parameter's default: a value, or a factory called for each use."""

    value: Any
    factory: Callable[[], Any] | None = None

    def get(self) -> Any:
        """The default value for one call: a fresh one from the factory, or a copy of an
        unhashable (mutable) value, as pydantic gives an omitted argument, so that no call
        sees another's edits of a ``list`` default."""
        if self.factory is not None:
            return self.factory()
        try:
            hash(self.value)
        except TypeError:
            return copy.deepcopy(self.value)
        return self.value


@record(frozen=True, slots=True)
class FunctionSchema:
    """Everything derived from a function's signature and docstring, built once.

    Attributes:
        name: The tool name the model calls.
        description: The tool description the model reads.
        parameters: The JSON schema of the arguments (an object schema).
        arguments_model: The pydantic model that validates the arguments.
        strict: Whether ``parameters`` follows OpenAI's strict subset.
        takes_context: Whether the function's first parameter receives a context object.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    arguments_model: type[BaseModel]
    strict: bool
    takes_context: bool
    # Parameters whose model field had to be renamed (it clashes with a BaseModel attribute).
    _renamed: tuple[tuple[str, str], ...]
    # Strict mode: optional parameters are nullable and ``null`` means "use the default".
    _null_defaults: tuple[tuple[str, Default], ...]
    # Per argument, a few words on what it expects, for error messages.
    _expected: Mapping[str, str]
    # Whether some argument is validated lazily by pydantic (Iterable[X]...): drained here.
    _lazy: bool = False
    # The first parameter's annotation when it takes the context (``RunContext[Deps]``).
    context_hint: Any = None

    def validate(self, arguments: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate a model's arguments and return the keyword arguments for the function.

        Args:
            arguments: The JSON text the model sent (``""`` and ``None`` mean ``{}``), or
                an already-decoded mapping, treated exactly as that JSON would be.

        Raises:
            ToolArgumentsError: The arguments are not valid JSON or do not fit the schema;
                its message is short and written for the model to correct its call.
        """
        model = self.arguments_model
        try:
            if isinstance(arguments, (str, bytes)):
                data = arguments if arguments and not arguments.isspace() else _EMPTY_OBJECT
                validated = model.model_validate_json(data, strict=True)
            elif arguments is None:
                validated = model.model_validate_json(_EMPTY_OBJECT, strict=True)
            elif isinstance(arguments, Mapping):
                validated = self._validate_mapping(arguments)
            else:
                kind = type(arguments).__name__
                raise ToolArgumentsError(
                    self.name, [f"arguments must be a JSON object, got {kind}"]
                )
        except ValidationError as exc:
            errors = describe_errors(exc, self.parameters, self._expected)
            raise ToolArgumentsError(self.name, errors) from None
        kwargs = validated.__dict__
        if self._renamed:
            kwargs = dict(kwargs)
            for field_name, param in self._renamed:
                kwargs[param] = kwargs.pop(field_name)
        for param, default in self._null_defaults:
            if kwargs[param] is None:
                kwargs[param] = default.get()
        if self._lazy:
            kwargs = {k: drain(v, k, self.name) for k, v in kwargs.items()}
        return kwargs

    def _validate_mapping(self, arguments: Mapping[str, Any]) -> BaseModel:
        # A mapping is decoded model output: give it exactly the JSON text semantics.
        try:
            text = to_json(arguments)
        except PydanticSerializationError:
            # Python objects a model could not have sent: the caller built these on purpose.
            return self.arguments_model.model_validate(arguments)
        return self.arguments_model.model_validate_json(text, strict=True)
