"""``@tool``: a typed Python function becomes a tool a model can call.

```python
@tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    \"\"\"Get the current weather in a city.

    Args:
        city: The city, e.g. "Beijing".
        unit: Temperature unit.
    \"\"\"
```

The decorated object is a ``Tool``, still callable exactly like the function. Its schema is
built once, at decoration (see ``agentkit.schema``); ``Tool.call`` validates a model's
arguments in one step, runs the function and serializes its result for a tool message.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

from agentkit._aio import loop_running
from agentkit._callables import is_async
from agentkit._execute import Invocation, run_async, run_sync
from agentkit._text import lone_surrogate
from agentkit._tool_options import (
    check_approval,
    check_flags,
    check_not_generator,
    check_options,
)
from agentkit.context import RunContext
from agentkit.errors import UserError

ApprovalCheck = Callable[[RunContext[Any], dict[str, Any]], bool]
"""Decides per call whether a tool call needs a person's approval."""

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agentkit.schema import DocstringFormat

__all__ = ["Tool", "serialize_result", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

Arguments = str | bytes | Mapping[str, Any] | None


class Tool(Generic[P, R]):
    """A function a model can call, with its name, description and JSON schema.

    Calling the tool calls the function (``functools.update_wrapper`` keeps ``__name__``,
    ``__doc__`` and ``__wrapped__``). Build one with ``@tool``.

    Attributes:
        name: The name the model calls the tool by.
        description: What the model reads about the tool.
        parameters: The JSON schema of the arguments. Do not mutate it.
        strict: Whether ``parameters`` follows OpenAI's strict subset.
        max_retries: How many times a run may send a failed call back to the model.
        timeout: Seconds a call may take, or ``None``.
        is_async: Whether the function is ``async def``.
        takes_context: Whether the first parameter receives the ``RunContext``.
        context_hint: That parameter's annotation (``RunContext[Deps]``), else ``None``.
        arguments_model: The pydantic model that validates the arguments.
    """

    def __init__(
        self,
        func: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool = False,
        max_retries: int = 2,
        timeout: float | None = None,
        docstring_format: DocstringFormat = "auto",
        needs_approval: bool | ApprovalCheck = False,
        idempotent: bool = True,
    ) -> None:
        if not callable(func):
            raise UserError(f"@tool needs a function, got {type(func).__name__!r}")
        if isinstance(func, Tool):
            # Its options (approval above all) would silently revert to the defaults.
            raise UserError(
                f"{getattr(func, 'name', None)!r} is already a Tool: give @tool all the "
                "options at once, or make a new tool from its function: "
                "tool(name=...)(existing.__wrapped__)"
            )
        check_options(max_retries, timeout)
        check_flags(description, strict=strict, idempotent=idempotent)
        check_approval(needs_approval)
        check_not_generator(func, name)
        functools.update_wrapper(self, func)
        # Imported here: the schema builder needs pydantic's model machinery (about a fifth
        # of `import agentkit`), which a program only pays for once it defines a tool.
        from agentkit.schema import function_schema

        schema = function_schema(
            func,
            name=name,
            description=description,
            strict=strict,
            context_type=RunContext,
            docstring_format=docstring_format,
        )
        self._schema = schema
        self._func: Callable[..., Any] = func
        self.name = schema.name
        self.description = schema.description
        self.parameters = schema.parameters
        self.strict = strict
        self.max_retries = max_retries
        self.timeout = timeout
        self.needs_approval = needs_approval
        self.idempotent = idempotent
        self.is_async = is_async(func)
        self.takes_context = schema.takes_context
        self.arguments_model: type[BaseModel] = schema.arguments_model
        self.context_hint = schema.context_hint

    # Whether a call needs a person's approval first (a bool, or a callable deciding per
    # call), and whether running it twice is harmless (crash recovery re-runs it then).
    needs_approval: bool | ApprovalCheck = False
    idempotent: bool = True
    context_hint: Any = None

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        function: Callable[..., Any],
        *,
        strict: bool | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        needs_approval: bool | Callable[..., Any] = False,
    ) -> Tool[..., Any]:
        """A tool from a raw JSON schema and a handler (e.g. a tool of an MCP server).

        The schema goes to the model exactly as given. The model's arguments get cheap
        checks only (valid JSON, an object, required arguments present, no unknown one when
        ``additionalProperties`` is false, each top-level argument's JSON type); the handler
        gets the decoded arguments as keyword arguments: ``function(**arguments)``, so it
        is typically ``def handler(**arguments)`` or ``async def handler(**arguments)``.

        Args:
            name: The tool name (1-64 letters, digits, ``_`` or ``-``).
            description: What the model reads about the tool.
            parameters: The JSON object schema of the arguments. Not copied deeply and
                never rewritten: do not mutate it.
            function: The handler, sync or async, called with the arguments as keywords.
            strict: ``None`` (default): strict exactly when the schema already is in
                OpenAI's strict subset; ``True``: require that (``UserError`` otherwise);
                ``False``: never. The schema itself is never changed.
            max_retries: As for ``@tool``.
            timeout: As for ``@tool``.
            needs_approval: Stored as ``tool.needs_approval`` for the agent.

        Raises:
            UserError: A bad name, a schema that is not an object schema, ``strict=True``
                on a schema outside the strict subset, or a bad option.
        """
        if not callable(function):
            raise UserError(f"Tool {name!r} needs a function, got {type(function).__name__!r}")
        check_options(max_retries, timeout)
        check_flags(description, strict=strict if strict is not None else False)
        check_approval(needs_approval)
        check_not_generator(function, name)
        from agentkit.schema.raw import RawSchema

        schema = RawSchema.build(name, description, parameters, strict)
        self = cls.__new__(cls)
        functools.update_wrapper(self, function)
        self._schema = schema
        self._func = function
        self.name = schema.name
        self.description = schema.description
        self.parameters = schema.parameters
        self.strict = schema.strict
        self.max_retries = max_retries
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(function)
        self.takes_context = False
        self.context_hint = None
        self.arguments_model = schema.arguments_model
        self.needs_approval = needs_approval
        return self

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._func(*args, **kwargs)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, strict={self.strict}, is_async={self.is_async})"

    def to_openai(self) -> dict[str, Any]:
        """The tool as a Chat Completions ``tools`` entry.

        Returns:
            ``{"type": "function", "function": {"name", "description", "parameters"}}``,
            with ``"strict": true`` added in strict mode.
        """
        function: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def validate_arguments(self, arguments: Arguments) -> dict[str, Any]:
        """Validate a model's arguments and return them as keyword arguments.

        Args:
            arguments: The model's JSON text (``""`` and ``None`` mean ``{}``) or a decoded
                mapping.

        Raises:
            ToolArgumentsError: Invalid JSON, a wrong type, a missing or an extra argument;
                the message names the argument and what was expected, for the model.
        """
        return self._schema.validate(arguments)

    def _context_args(self, ctx: RunContext[Any] | None) -> tuple[Any, ...]:
        if not self.takes_context:
            return ()
        if ctx is None:
            raise UserError(f"Tool {self.name!r} takes a RunContext: pass ctx=RunContext(...)")
        return (ctx,)

    def bind(
        self,
        kwargs: dict[str, Any],
        ctx: RunContext[Any] | None = None,
        *,
        timeout: float | None = None,
        sync: bool = False,
        around: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> Invocation:
        """The call of this tool on validated ``kwargs``, ready for ``agentkit._execute``.

        Subclasses whose sync form differs from their async one (an agent as a tool runs
        ``run_sync`` in sync runs) override this for ``sync=True``.
        """
        return Invocation(
            self._func, self._context_args(ctx), kwargs, self.is_async, self.name, timeout, around
        )

    async def invoke(
        self,
        kwargs: dict[str, Any],
        ctx: RunContext[Any] | None = None,
        *,
        own_thread: bool = False,
    ) -> Any:
        """Run the function on already-validated arguments and return its raw result.

        A sync function runs on a daemon thread of its own, so the event loop is never
        blocked and a cancelled call holds nothing back. No timeout is applied here.

        Args:
            kwargs: The validated arguments.
            ctx: The run context, required when the tool takes one.
            own_thread: Kept for compatibility; sync functions always get their own thread.
        """
        del own_thread
        return (await run_async(self.bind(kwargs, ctx))).unwrap()

    def invoke_sync(self, kwargs: dict[str, Any], ctx: RunContext[Any] | None = None) -> Any:
        """Run the function on already-validated arguments in this thread; raw result.

        Raises:
            UserError: The tool is async and an event loop is running in this thread.
        """
        call = self.bind(kwargs, ctx, sync=True)
        if call.is_async:
            self._check_no_loop()
        return run_sync(call).unwrap()

    async def call(self, arguments: Arguments, ctx: RunContext[Any] | None = None) -> str:
        """Validate the model's arguments, run the tool and serialize its result.

        Args:
            arguments: The model's JSON text (``""`` means ``{}``) or a decoded mapping.
            ctx: The run context, required when the tool takes one.

        Returns:
            The result as tool-message content (see ``serialize_result``).

        Raises:
            ToolArgumentsError: The arguments are invalid (the function was not called).
            TimeoutError: The tool ran longer than its ``timeout``. A sync tool's thread
                cannot be stopped and finishes in the background.
            ModelRetry: Raised by the tool, unchanged; as is any other exception it raises.
        """
        kwargs = self._schema.validate(arguments)
        outcome = await run_async(self.bind(kwargs, ctx, timeout=self.timeout))
        return serialize_result(outcome.unwrap())

    def call_sync(self, arguments: Arguments, ctx: RunContext[Any] | None = None) -> str:
        """``call`` for use without an event loop; a sync function runs in this thread.

        An async tool is run with ``asyncio.run``, which is only possible when no event loop
        is running in this thread (``UserError`` otherwise: use ``await tool.call(...)``).
        With a ``timeout``, a sync function runs in a daemon thread that is abandoned if it
        overruns.
        """
        kwargs = self._schema.validate(arguments)
        call = self.bind(kwargs, ctx, timeout=self.timeout, sync=True)
        if call.is_async:
            self._check_no_loop()
        return serialize_result(run_sync(call).unwrap())

    def _check_no_loop(self) -> None:
        if not loop_running():
            return
        raise UserError(
            f"Tool {self.name!r} is async and an event loop is running in this thread: "
            "use `await tool.call(...)` instead"
        )


@overload
def tool(func: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    max_retries: int = 2,
    timeout: float | None = None,
    docstring_format: DocstringFormat = "auto",
    needs_approval: bool | ApprovalCheck = False,
    idempotent: bool = True,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    max_retries: int = 2,
    timeout: float | None = None,
    docstring_format: DocstringFormat = "auto",
    needs_approval: bool | ApprovalCheck = False,
    idempotent: bool = True,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make a typed function (``def`` or ``async def``) a tool; use as ``@tool`` or ``@tool(...)``.

    Besides functions, ``tool(...)`` accepts bound methods (``tool(shop.search)``), callable
    objects (their ``__call__``; the class name is the default tool name) and
    ``functools.partial`` objects (the arguments they bind are not offered to the model).

    Args:
        func: The function, when used as a bare ``@tool``.
        name: The tool name; the function's name by default.
        description: The tool description; the docstring's summary and long description by
            default.
        strict: Emit OpenAI's strict-mode schema (``"strict": true``). Types that strict
            mode cannot express (``dict[str, X]``, tuples, ``Any``, string length limits)
            then fail here with a ``UserError`` saying what to use instead.
        max_retries: How many times a run may send a failed call back to the model.
        timeout: Seconds a call may take (``TimeoutError`` after that), or ``None``.
        docstring_format: The docstring's style: ``"auto"`` (detected), ``"google"``,
            ``"numpy"``, ``"rest"``, ``"epydoc"``, or ``"none"`` (the whole docstring is the
            description; parameters get no description from it).
        needs_approval: ``True`` to pause the run before each call until a person
            decides (``Approve``/``Reject``), or a callable ``(ctx, arguments) -> bool``
            deciding per call (an exception in it counts as "needs approval").
        idempotent: ``False`` when running a call twice would do harm: a call a crash
            interrupted is then not run again on recovery but becomes an approval request.
            A tool with side effects can use ``ctx.tool_call_id`` as its idempotency key.

    Returns:
        A ``Tool``, still callable like the function.

    Raises:
        UserError: The function cannot be a tool (``*args``, ``**kwargs``, a parameter
            without annotation or with an unsupported type, a lambda without ``name=``, a
            docstring documenting a parameter that does not exist...). The message names the
            function and the parameter.
    """

    def decorate(f: Callable[P, R]) -> Tool[P, R]:
        return Tool(
            f,
            name=name,
            description=description,
            strict=strict,
            max_retries=max_retries,
            timeout=timeout,
            docstring_format=docstring_format,
            needs_approval=needs_approval,
            idempotent=idempotent,
        )

    if func is not None:
        return decorate(func)
    return decorate


def serialize_result(value: Any) -> str:
    """Turn a tool's return value into the content of a tool message.

    A ``str`` is returned unchanged. Everything else (pydantic models, dataclasses, dicts,
    lists, numbers, ``None``, and the values inside them: enums, datetimes, UUIDs...) becomes
    compact JSON, non-ASCII text kept as is so that Chinese stays readable. JSON has no
    NaN or infinity: they become ``null``, as ``JSON.stringify`` does. A lone surrogate
    (what ``errors="surrogateescape"`` makes of undecodable bytes) cannot travel in a
    UTF-8 request; it is shown as its escape (``\\udce9``) instead of failing the run.

    Raises:
        UserError: The value (or something inside it) has a type with no JSON form.
    """
    if type(value) is str:
        return _sendable(value)
    if isinstance(value, str) and not isinstance(value, Enum):
        return _sendable(str.__str__(value))
    try:
        return to_json(value, inf_nan_mode="null").decode()
    except PydanticSerializationError as exc:
        error = exc
    try:
        # pydantic refuses to encode a lone surrogate as UTF-8; Python's encoder writes it,
        # and _sendable escapes it. A value with no JSON form fails here again.
        plain = to_jsonable_python(value, inf_nan_mode="null")
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    except (PydanticSerializationError, TypeError, ValueError):
        raise UserError(
            f"Cannot serialize a tool result of type {type(value).__name__!r}: {error}; "
            "return a str, a dict, a list, a dataclass or a pydantic model"
        ) from error
    return _sendable(text)


def _sendable(text: str) -> str:
    """``text``, with any lone surrogate written as its escape (``\\udce9``)."""
    if lone_surrogate(text) is None:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
