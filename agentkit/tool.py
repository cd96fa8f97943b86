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

import asyncio
import contextlib
import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from pydantic_core import PydanticSerializationError, to_json

from agentkit.context import RunContext
from agentkit.errors import UserError

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
    ) -> None:
        if not callable(func):
            raise UserError(f"@tool needs a function, got {type(func).__name__!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise UserError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise UserError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
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
        self.is_async = _is_async(func)
        self.takes_context = schema.takes_context
        self.arguments_model: type[BaseModel] = schema.arguments_model

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

    async def invoke(
        self,
        kwargs: dict[str, Any],
        ctx: RunContext[Any] | None = None,
        *,
        own_thread: bool = False,
    ) -> Any:
        """Run the function on already-validated arguments and return its raw result.

        A sync function runs in a worker thread so the event loop is never blocked. No
        timeout is applied here.

        Args:
            kwargs: The validated arguments.
            ctx: The run context, required when the tool takes one.
            own_thread: Run a sync function on a daemon thread of its own rather than on the
                loop's default executor. Pass it when the caller may stop waiting (a
                timeout): an abandoned call then holds no executor worker, and
                ``asyncio.run`` does not wait for it on shutdown.
        """
        args = self._context_args(ctx)
        if self.is_async:
            return await self._func(*args, **kwargs)
        if own_thread:
            return await _in_daemon_thread(self._thread_name, self._func, *args, **kwargs)
        # Without a timeout the call is always awaited to the end: reuse the pooled threads.
        return await asyncio.to_thread(self._func, *args, **kwargs)

    def invoke_sync(self, kwargs: dict[str, Any], ctx: RunContext[Any] | None = None) -> Any:
        """Run the function on already-validated arguments in this thread; raw result.

        Raises:
            UserError: The tool is async and an event loop is running in this thread.
        """
        args = self._context_args(ctx)
        if self.is_async:
            return self._run_coroutine(lambda: self._func(*args, **kwargs))
        return self._func(*args, **kwargs)

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
        return serialize_result(await self._run(kwargs, ctx))

    async def _run(self, kwargs: dict[str, Any], ctx: RunContext[Any] | None) -> Any:
        if self.timeout is None:
            return await self.invoke(kwargs, ctx)
        # Not asyncio.wait_for: a TimeoutError the tool raises itself must stay its own.
        task = asyncio.ensure_future(self.invoke(kwargs, ctx, own_thread=True))
        try:
            done, _ = await asyncio.wait((task,), timeout=self.timeout)
        except BaseException:
            task.cancel()
            raise
        if not done:
            task.cancel()
            raise self._timed_out()
        return task.result()

    def call_sync(self, arguments: Arguments, ctx: RunContext[Any] | None = None) -> str:
        """``call`` for use without an event loop; a sync function runs in this thread.

        An async tool is run with ``asyncio.run``, which is only possible when no event loop
        is running in this thread (``UserError`` otherwise: use ``await tool.call(...)``).
        With a ``timeout``, a sync function runs in a daemon thread that is abandoned if it
        overruns.
        """
        kwargs = self._schema.validate(arguments)
        if self.is_async:
            return serialize_result(self._run_coroutine(lambda: self._run(kwargs, ctx)))
        if self.timeout is None:
            return serialize_result(self._func(*self._context_args(ctx), **kwargs))
        return serialize_result(self._run_with_timeout(kwargs, ctx))

    def _run_coroutine(self, make: Callable[[], Awaitable[Any]]) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_as_coroutine(make()))
        raise UserError(
            f"Tool {self.name!r} is async and an event loop is running in this thread: "
            "use `await tool.call(...)` instead"
        )

    def _run_with_timeout(self, kwargs: dict[str, Any], ctx: RunContext[Any] | None) -> Any:
        args = self._context_args(ctx)
        outcome: list[_Outcome] = []
        worker = _start_daemon_thread(
            self._thread_name, functools.partial(self._func, *args, **kwargs), outcome.append
        )
        worker.join(self.timeout)
        if not outcome:
            raise self._timed_out()
        return _unwrap(outcome[0])

    @property
    def _thread_name(self) -> str:
        return f"agentkit-tool-{self.name}"

    def _timed_out(self) -> TimeoutError:
        return TimeoutError(f"Tool {self.name!r} did not finish within {self.timeout} seconds")


def _is_async(func: Callable[..., Any]) -> bool:
    """``async def`` functions, and partials and callable objects wrapping one."""
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    return not inspect.isroutine(func) and inspect.iscoroutinefunction(type(func).__call__)


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


# A finished call: (True, its result) or (False, the exception it raised).
_Outcome = tuple[bool, Any]


def _unwrap(outcome: _Outcome) -> Any:
    ok, value = outcome
    if ok:
        return value
    raise value


def _start_daemon_thread(
    name: str, func: Callable[[], Any], deliver: Callable[[_Outcome], None]
) -> threading.Thread:
    """Run ``func`` on a new daemon thread, in a copy of the caller's contextvars (as
    ``asyncio.to_thread`` does), and hand its outcome to ``deliver`` from that thread.

    A daemon thread of its own, not a pooled one, because a timed-out call cannot be stopped:
    the caller abandons it, and it must then hold no shared worker nor delay the exit.
    """
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome: _Outcome = (True, context.run(func))
        except BaseException as exc:  # delivered to the caller, as a pool would
            outcome = (False, exc)
        deliver(outcome)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


async def _in_daemon_thread(
    name: str, func: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """``asyncio.to_thread`` on a thread of its own (see ``_start_daemon_thread``).

    Cancelling the awaiting coroutine cancels the future, and the thread's late outcome is
    then dropped, so that no "exception was never retrieved" is logged for it.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(outcome: _Outcome) -> None:  # on the loop's thread
        if future.cancelled():
            return
        ok, value = outcome
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def deliver(outcome: _Outcome) -> None:  # on the worker thread
        # RuntimeError: the loop has closed since, so nobody awaits the outcome.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, outcome)

    _start_daemon_thread(name, functools.partial(func, *args, **kwargs), deliver)
    return await future


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
        )

    if func is not None:
        return decorate(func)
    return decorate


def serialize_result(value: Any) -> str:
    """Turn a tool's return value into the content of a tool message.

    A ``str`` is returned unchanged. Everything else (pydantic models, dataclasses, dicts,
    lists, numbers, ``None``, and the values inside them: enums, datetimes, UUIDs...) becomes
    compact JSON, non-ASCII text kept as is so that Chinese stays readable.

    Raises:
        UserError: The value (or something inside it) has a type with no JSON form.
    """
    if type(value) is str:
        return value
    if isinstance(value, str) and not isinstance(value, Enum):
        return str.__str__(value)
    try:
        return to_json(value).decode()
    except PydanticSerializationError as exc:
        raise UserError(
            f"Cannot serialize a tool result of type {type(value).__name__!r}: {exc}; "
            "return a str, a dict, a list, a dataclass or a pydantic model"
        ) from exc
