"""``@tool`` and ``Tool``: decoration, calls with model output, context, results, properties."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime as dt
import enum
import functools
import gc
import json
import math
import os
import threading
import time
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from agentkit.agent import Agent
from agentkit.context import RunContext
from agentkit.errors import ModelRetry, ToolArgumentsError, UserError
from agentkit.testing import ScriptedModel
from agentkit.tool import Tool, serialize_result, tool
from agentkit.usage import Usage
from tests._agent_support import MODES, async_client_for, calls, client_for, run_mode, text

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID")


@tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Get the current weather in a city.

    Args:
        city: The city, e.g. "Beijing".
        unit: Temperature unit.
    """
    return f"{city}: 21°{unit.upper()}"


WEATHER_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": 'The city, e.g. "Beijing".'},
                "unit": {
                    "type": "string",
                    "description": "Temperature unit.",
                    "enum": ["c", "f"],
                    "default": "c",
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


# ----------------------------------------------------------------------------- decoration


def test_to_openai_matches_the_wire_format() -> None:
    assert get_weather.to_openai() == WEATHER_OPENAI
    assert json.loads(json.dumps(get_weather.to_openai())) == WEATHER_OPENAI


def test_strict_to_openai_adds_strict_true() -> None:
    strict = tool(strict=True)(get_weather.__wrapped__)
    function = strict.to_openai()["function"]
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["city", "unit"]
    assert function["parameters"]["properties"]["unit"] == {
        "description": "Temperature unit.",
        "anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}],
        "default": "c",
    }


def test_tool_is_still_the_function() -> None:
    assert isinstance(get_weather, Tool)
    assert get_weather("Paris", "f") == "Paris: 21°F"
    assert get_weather.__name__ == "get_weather"
    assert get_weather.__doc__ is not None
    assert get_weather.__doc__.startswith("Get the current weather")
    assert callable(get_weather.__wrapped__)
    assert (get_weather.name, get_weather.strict, get_weather.is_async) == (
        "get_weather",
        False,
        False,
    )
    assert (get_weather.max_retries, get_weather.timeout, get_weather.takes_context) == (
        2,
        None,
        False,
    )
    assert repr(get_weather) == "Tool(name='get_weather', strict=False, is_async=False)"


def test_decorator_with_options() -> None:
    @tool(name="lookup", description="Look a thing up.", max_retries=5, timeout=1.5)
    async def find(query: str) -> str:
        """Ignored docstring."""
        return query

    assert (find.name, find.description, find.max_retries, find.timeout) == (
        "lookup",
        "Look a thing up.",
        5,
        1.5,
    )
    assert find.is_async
    assert find.__name__ == "find"
    assert asyncio.run(find("q")) == "q"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -2.0}, "timeout"),
        ({"timeout": "5"}, "timeout must be a number"),  # was a raw TypeError
        ({"timeout": float("nan")}, "timeout"),
        ({"description": 5}, "description must be a str"),  # was sent as a number
        ({"strict": "yes"}, "strict must be True or False"),
        ({"idempotent": "no"}, "idempotent must be True or False"),  # "no" passed as true
        ({"needs_approval": "no"}, "needs_approval must be True, False or a callable"),
    ],
)
def test_bad_options_are_user_errors(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        tool(**options)(get_weather.__wrapped__)


def _numbers(count: int) -> Any:
    """Yields numbers."""
    yield from range(count)


async def _numbers_async(count: int) -> Any:
    """Yields numbers."""
    for n in range(count):
        yield n


class _Yielding:
    def __call__(self, count: int) -> Any:
        """Yields numbers."""
        yield from range(count)


@pytest.mark.parametrize(
    "func",
    [_numbers, _numbers_async, _Yielding(), functools.partial(_numbers, count=2)],
    ids=["generator", "async generator", "callable object", "partial"],
)
def test_generator_functions_are_refused_at_decoration(func: Any) -> None:
    # A generator tool's body ran only when its result was serialized: on the event loop
    # and past its timeout (an async generator's result failed at every call).
    with pytest.raises(UserError, match=r"generator function.*return a list"):
        tool(func)
    with pytest.raises(UserError, match="generator function"):
        Tool.from_schema("numbers", "Numbers.", {"type": "object"}, func)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"timeout": "5"}, "timeout must be a number"),
        ({"description": 5}, "description must be a str"),
        ({"strict": "yes"}, "strict must be True or False"),
        ({"needs_approval": "no"}, "needs_approval must be True, False or a callable"),
    ],
)
def test_bad_from_schema_options_are_user_errors(options: dict[str, Any], fragment: str) -> None:
    arguments: dict[str, Any] = {"description": "Look up.", **options}
    with pytest.raises(UserError, match=fragment):
        Tool.from_schema("lookup", parameters={"type": "object"}, function=str, **arguments)


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        # A raw AttributeError while building the tool.
        ({"type": "object", "properties": "city"}, "'properties' must be an object"),
        # Read letter by letter: every call refused ("c: missing required argument; ...").
        (
            {"type": "object", "properties": {"city": {}}, "required": "city"},
            "'required' must be an array of property names",
        ),
        ({"type": "object", "required": [1]}, "'required' must be an array"),
    ],
)
def test_from_schema_refuses_a_malformed_schema(parameters: Any, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        Tool.from_schema("lookup", "Look up.", parameters, lambda **kwargs: "x")


@pytest.mark.parametrize("name", ["lookup\n", "a" * 65, "", "no space"])
def test_from_schema_refuses_names_servers_refuse(name: str) -> None:
    # "lookup\n" once passed: the name pattern ended in `$`, which matches before a "\n".
    with pytest.raises(UserError, match="letters, digits"):
        Tool.from_schema(name, "Look up.", {"type": "object"}, lambda **kwargs: "x")


def test_a_tool_made_of_a_tool_is_refused_with_the_way_out() -> None:
    # It failed with "Parameter 'city' of callable object 'Tool instance' has no type
    # annotation", which it has.
    with pytest.raises(UserError, match=r"'get_weather' is already a Tool.*__wrapped__"):
        tool(name="weather", timeout=5)(get_weather)
    renamed = tool(name="weather", timeout=5)(get_weather.__wrapped__)  # type: ignore[attr-defined]
    assert (renamed.name, renamed.parameters) == ("weather", get_weather.parameters)


def test_misuse_raises_at_decoration() -> None:
    with pytest.raises(UserError, match=r"'city'.*no type annotation"):

        @tool
        def bad(city) -> str:  # type: ignore[no-untyped-def]
            return str(city)

    with pytest.raises(UserError, match="needs a function"):
        Tool(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- calling


async def test_call_with_text_dict_and_empty_arguments() -> None:
    assert await get_weather.call('{"city": "北京"}') == "北京: 21°C"
    assert await get_weather.call({"city": "Oslo", "unit": "f"}) == "Oslo: 21°F"
    assert await get_weather.call(b'{"city": "Rome"}') == "Rome: 21°C"

    @tool
    def ping() -> str:
        return "pong"

    for empty in ("", "  ", None, {}):
        assert await ping.call(empty) == "pong"
        assert ping.call_sync(empty) == "pong"


def test_validate_arguments_returns_keyword_arguments() -> None:
    assert get_weather.validate_arguments('{"city": "x"}') == {"city": "x", "unit": "c"}


async def test_sync_tool_runs_in_a_worker_thread_in_call_and_inline_in_call_sync() -> None:
    seen: list[int] = []

    @tool
    def where() -> int:
        seen.append(threading.get_ident())
        return 1

    assert await where.call("") == "1"
    assert seen[-1] != threading.get_ident()
    assert where.call_sync("") == "1"
    assert seen[-1] == threading.get_ident()


async def test_async_tool_via_call_and_invoke() -> None:
    @tool
    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    assert await double.call('{"n": 21}') == "42"
    assert await double.invoke({"n": 2}, None) == 4


def test_async_tool_with_call_sync_outside_a_loop() -> None:
    @tool
    async def double(n: int) -> int:
        return n * 2

    assert double.call_sync('{"n": 4}') == "8"
    assert double.invoke_sync({"n": 5}, None) == 10


async def test_async_tool_with_call_sync_inside_a_loop_is_a_user_error() -> None:
    @tool
    async def double(n: int) -> int:
        return n * 2

    with pytest.raises(UserError, match=r"'double'.*await tool.call"):
        double.call_sync('{"n": 4}')
    with pytest.raises(UserError, match="event loop"):
        double.invoke_sync({"n": 4}, None)


async def test_model_retry_and_tool_errors_propagate_unchanged() -> None:
    @tool
    def picky(n: int) -> int:
        if n < 0:
            raise ModelRetry("n must be positive")
        raise KeyError(n)

    with pytest.raises(ModelRetry, match="n must be positive"):
        await picky.call('{"n": -1}')
    with pytest.raises(ModelRetry):
        picky.call_sync('{"n": -1}')
    with pytest.raises(KeyError):
        await picky.call('{"n": 1}')
    with pytest.raises(KeyError):
        picky.call_sync('{"n": 1}')


async def test_invalid_arguments_never_call_the_function() -> None:
    calls: list[int] = []

    @tool
    def count(n: int) -> None:
        calls.append(n)

    with pytest.raises(ToolArgumentsError):
        await count.call('{"n": "x"}')
    with pytest.raises(ToolArgumentsError):
        count.call_sync("{")
    assert calls == []


async def test_timeouts() -> None:
    @tool(timeout=0.05)
    async def slow_async() -> str:
        await asyncio.sleep(5)
        return "late"

    @tool(timeout=0.05)
    def slow_sync() -> str:
        time.sleep(0.3)
        return "late"

    @tool(timeout=1)
    def quick() -> str:
        return "ok"

    with pytest.raises(TimeoutError, match=r"'slow_async'.*0.05"):
        await slow_async.call("")
    with pytest.raises(TimeoutError, match="'slow_sync'"):
        await slow_sync.call("")
    with pytest.raises(TimeoutError, match="'slow_sync'"):
        slow_sync.call_sync("")
    assert await quick.call("") == "ok"
    assert quick.call_sync("") == "ok"


async def test_a_tools_own_timeout_error_is_not_rewritten() -> None:
    @tool(timeout=1)
    async def upstream() -> str:
        raise TimeoutError("upstream API timed out")

    @tool(timeout=1)
    def upstream_sync() -> str:
        raise TimeoutError("upstream API timed out")

    with pytest.raises(TimeoutError, match=r"^upstream API timed out$"):
        await upstream.call("")
    with pytest.raises(TimeoutError, match=r"^upstream API timed out$"):
        await upstream_sync.call("")
    with pytest.raises(TimeoutError, match=r"^upstream API timed out$"):
        upstream_sync.call_sync("")


async def test_cancelling_a_call_with_timeout_cancels_the_tool() -> None:
    cancelled = asyncio.Event()

    @tool(timeout=10)
    async def forever() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    task = asyncio.ensure_future(forever.call(""))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 1)


def _logged(func: Any) -> Any:
    """A plain decorator, as users write them: a sync wrapper keeping the signature."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


async def test_an_async_function_under_a_plain_decorator_runs_on_the_callers_loop() -> None:
    # The wrapper is a sync function returning a coroutine: every call once failed with
    # "Cannot serialize a tool result of type 'coroutine'" (never awaited).
    loops: list[asyncio.AbstractEventLoop] = []

    @tool
    @_logged
    async def fetch(url: str) -> str:
        """Fetch a page."""
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return f"page of {url}"

    assert await fetch.call({"url": "a"}) == "page of a"
    assert await fetch.invoke({"url": "b"}) == "page of b"
    assert loops == [asyncio.get_running_loop()] * 2
    assert await asyncio.to_thread(fetch.call_sync, {"url": "c"}) == "page of c"
    assert await asyncio.to_thread(fetch.invoke_sync, {"url": "d"}) == "page of d"


@pytest.mark.parametrize("mode", MODES)
async def test_agents_run_an_async_tool_under_a_plain_decorator(mode: str) -> None:
    @tool
    @_logged
    async def fetch(url: str) -> str:
        """Fetch a page."""
        await asyncio.sleep(0)
        return f"page of {url}"

    model = ScriptedModel([calls(("fetch", {"url": "a"})), text("done")])
    client = client_for(model) if mode.startswith("sync") else async_client_for(model)
    result, _ = await run_mode(Agent(tools=[fetch], client=client), mode, "go")
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == ["page of a"]
    assert result.tool_failures == []


@pytest.mark.parametrize("mode", ["call", "call_sync"])
def test_the_timeout_covers_the_coroutine_a_plain_decorator_returns(mode: str) -> None:
    @tool(timeout=0.2)
    @_logged
    async def slow(seconds: float) -> str:
        """Sleep."""
        await asyncio.sleep(seconds)
        return "done"

    def call(arguments: dict[str, Any]) -> str:
        if mode == "call":
            return asyncio.run(slow.call(arguments))
        return slow.call_sync(arguments)

    assert call({"seconds": 0}) == "done"
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not finish within 0\.2 seconds"):
        call({"seconds": 5})
    assert time.monotonic() - started < 2


def test_timeout_in_call_sync_still_propagates_tool_errors() -> None:
    @tool(timeout=1)
    def fails() -> str:
        raise ModelRetry("again")

    with pytest.raises(ModelRetry, match="again"):
        fails.call_sync("")


# A sync tool with a timeout runs on a daemon thread of its own, not on the loop's default
# executor: abandoned at its timeout, it neither holds asyncio.run up on exit (the default
# executor's shutdown joins its threads) nor takes one of that executor's few workers.


def test_a_hung_sync_tool_does_not_hold_up_asyncio_run() -> None:
    release = threading.Event()

    @tool(timeout=0.1)
    def hang() -> str:
        release.wait(5)
        return "late"

    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match="'hang'"):
            asyncio.run(hang.call(""))
        assert time.monotonic() - started < 1
    finally:
        release.set()


def test_hung_sync_tools_leave_the_default_executor_free() -> None:
    release = threading.Event()
    default_workers = min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default

    @tool(timeout=0.1)
    def hang() -> str:
        release.wait(5)
        return "late"

    async def main() -> str:
        hung = await asyncio.gather(
            *(hang.call("") for _ in range(default_workers + 2)), return_exceptions=True
        )
        assert all(isinstance(r, TimeoutError) for r in hung)
        return await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 1)

    started = time.monotonic()
    try:
        assert asyncio.run(main()) == "free"
        assert time.monotonic() - started < 2
    finally:
        release.set()


async def test_a_timed_sync_tool_raises_and_sees_contextvars() -> None:
    @tool(timeout=1)
    def retry() -> str:
        raise ModelRetry("again")

    @tool(timeout=1)
    def broken() -> str:
        raise ValueError("broken")

    @tool(timeout=1)
    def whose() -> str:
        return f"{REQUEST_ID.get()} on {threading.current_thread().name}"

    with pytest.raises(ModelRetry, match="again"):
        await retry.call("")
    with pytest.raises(ValueError, match="broken"):
        await broken.call("")
    token = REQUEST_ID.set("req-7")
    try:
        assert await whose.call("") == "req-7 on agentkit-tool-whose"
        assert whose.call_sync("") == "req-7 on agentkit-tool-whose"
    finally:
        REQUEST_ID.reset(token)


_USER: contextvars.ContextVar[str] = contextvars.ContextVar("_USER", default="nobody")


@tool
def _login(name: str) -> str:
    """Log in."""
    _USER.set(name)
    return "ok"


@tool
def _whoami() -> str:
    """Who is logged in."""
    return _USER.get()


@pytest.mark.parametrize("mode", MODES)
async def test_a_tool_setting_a_context_variable_keeps_it_to_itself(mode: str) -> None:
    # In sync runs a sync tool ran in the caller's own context: what it set was seen by
    # the run's later calls and by the caller after the run (async runs kept it apart).
    model = ScriptedModel(
        [calls(("_login", {"name": "mallory"})), calls(("_whoami", {})), text("done")]
    )
    client = client_for(model) if mode.startswith("sync") else async_client_for(model)
    agent = Agent(tools=[_login, _whoami], client=client)
    result, _ = await run_mode(agent, mode, "go")
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == ["ok", "nobody"]
    assert _login.call_sync({"name": "eve"}) == "ok"
    assert _USER.get() == "nobody"


def test_cancelling_a_timed_sync_tool_drops_its_late_outcome() -> None:
    release, finished = threading.Event(), threading.Event()
    loop_errors: list[dict[str, Any]] = []

    @tool(timeout=10)
    def fails_late() -> str:
        release.wait(5)
        finished.set()
        raise ValueError("too late")

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, c: loop_errors.append(c))
        task = asyncio.ensure_future(fails_late.call(""))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        assert finished.wait(1)
        await asyncio.sleep(0.05)  # let the thread's outcome reach the loop
        gc.collect()  # "Future exception was never retrieved" is reported on collection

    asyncio.run(main())
    assert loop_errors == []


# ----------------------------------------------------------------------------- context


@dataclasses.dataclass
class Deps:
    user: str


@tool
def whoami(ctx: RunContext[Deps], greeting: str = "hi") -> str:
    """Greet the current user."""
    return f"{greeting} {ctx.deps.user} ({ctx.tool_call_id}, {len(ctx.messages)} messages)"


@tool
async def whoami_async(ctx: RunContext[Deps]) -> str:
    """Greet the current user."""
    return ctx.deps.user


CTX = RunContext(
    deps=Deps("ana"),
    messages=[{"role": "user", "content": "who am I?"}],
    usage=Usage(requests=1),
    tool_call_id="call_1",
    tool_name="whoami",
)


async def test_context_is_injected_and_left_out_of_the_schema() -> None:
    assert whoami.takes_context
    assert whoami.parameters == {
        "type": "object",
        "properties": {"greeting": {"type": "string", "default": "hi"}},
        "additionalProperties": False,
    }
    assert await whoami.call("", CTX) == "hi ana (call_1, 1 messages)"
    assert whoami.call_sync('{"greeting": "hey"}', CTX) == "hey ana (call_1, 1 messages)"
    assert await whoami_async.call(None, CTX) == "ana"
    assert await whoami.invoke({"greeting": "yo"}, CTX) == "yo ana (call_1, 1 messages)"
    assert whoami.invoke_sync({}, CTX) == "hi ana (call_1, 1 messages)"
    assert whoami(CTX, "hello").startswith("hello ana")


def test_context_with_sync_calls() -> None:
    assert whoami_async.call_sync(None, CTX) == "ana"
    assert whoami_async.invoke_sync({}, CTX) == "ana"


async def test_the_model_cannot_supply_the_context() -> None:
    with pytest.raises(ToolArgumentsError, match=r"ctx: unexpected argument \(allowed: greeting\)"):
        await whoami.call('{"ctx": {"deps": {"user": "mallory"}}}', CTX)


async def test_a_context_tool_without_a_context_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"'whoami'.*RunContext"):
        await whoami.call("")
    with pytest.raises(UserError, match=r"'whoami'.*RunContext"):
        whoami.call_sync("")


def test_run_context_defaults() -> None:
    ctx = RunContext(deps=None)
    assert (ctx.messages, ctx.usage, ctx.tool_call_id, ctx.tool_name, ctx.retry) == (
        [],
        Usage(),
        None,
        None,
        0,
    )
    assert RunContext(deps=1).messages is not ctx.messages


# ----------------------------------------------------------------------------- bad arguments


class Item(BaseModel):
    sku: str
    qty: Annotated[int, Field(ge=1)]


@tool
def order(item: Item, express: bool = False, tags: list[str] | None = None) -> str:
    """Place an order."""
    return item.sku


BAD_ARGUMENTS = [
    ("invalid JSON", '{"item": ', ["arguments are not valid JSON"]),
    ("not an object", "[1, 2]", ["arguments must be a JSON object, got an array"]),
    ("a string", '"hello"', ['arguments must be a JSON object, got "hello"']),
    ("python list", [1, 2], ["arguments must be a JSON object, got list"]),
    ("missing", "{}", ["item: missing required argument (expected object)"]),
    (
        "extra",
        '{"item": {"sku": "a", "qty": 1}, "colour": "red"}',
        ["colour: unexpected argument (allowed: item, express, tags)"],
    ),
    (
        "wrong type",
        '{"item": {"sku": "a", "qty": 1}, "express": "yes"}',
        ['express: Input should be a valid boolean, got "yes"'],
    ),
    ("nested missing", '{"item": {"sku": "a"}}', ["item.qty: missing required field"]),
    (
        "nested constraint",
        '{"item": {"sku": "a", "qty": 0}}',
        ["item.qty: Input should be greater than or equal to 1, got 0"],
    ),
    (
        "list element",
        '{"item": {"sku": "a", "qty": 1}, "tags": ["x", 3]}',
        ["tags[1]: Input should be a valid string, got 3"],
    ),
    (
        "numeric string",
        '{"item": {"sku": "a", "qty": "2"}}',
        ['item.qty: Input should be a valid integer, got "2"'],
    ),
    (
        "whole float for int",
        '{"item": {"sku": "a", "qty": 2.0}}',
        ["item.qty: Input should be a valid integer, got 2.0"],
    ),
    (
        "several at once",
        '{"item": {"qty": "x"}, "express": 1, "zzz": 0}',
        ["item.sku: missing required field", "item.qty:", "express:", "zzz: unexpected argument"],
    ),
]


@pytest.mark.parametrize(
    ("arguments", "fragments"), [pytest.param(*row[1:], id=row[0]) for row in BAD_ARGUMENTS]
)
async def test_bad_arguments_give_compact_model_readable_errors(
    arguments: Any, fragments: list[str]
) -> None:
    with pytest.raises(ToolArgumentsError) as info:
        await order.call(arguments)
    error = info.value
    assert error.tool_name == "order"
    message = str(error)
    assert message.startswith("Invalid arguments for tool 'order': ")
    for fragment in fragments:
        assert fragment in message
    assert "\n" not in message
    assert "pydantic" not in message and "https://" not in message
    assert len(message) < 300


async def test_errors_never_repeat_a_long_input() -> None:
    huge = "x" * 5000
    with pytest.raises(ToolArgumentsError) as info:
        await order.call(json.dumps({"item": {"sku": "a", "qty": huge}}))
    assert huge not in str(info.value)
    assert len(str(info.value)) < 200


async def test_errors_never_repeat_a_long_key_either() -> None:
    # A key the model made up was repeated in full in each line sent back to it.
    huge = "k" * 5000
    top = {"item": {"sku": "a", "qty": 1}, huge: 1}
    nested = {"item": {"sku": "a", "qty": 1, huge: 1}}
    for arguments in (top, nested):
        with pytest.raises(ToolArgumentsError) as info:
            await order.call(arguments)
        assert huge not in str(info.value) and len(str(info.value)) < 200
        assert "k" * 61 + "..." in str(info.value)
    raw = Tool.from_schema(
        "raw", "Raw.", {"type": "object", "additionalProperties": False}, lambda **kw: "x"
    )
    with pytest.raises(ToolArgumentsError) as info:
        await raw.call({huge: 1})
    assert huge not in str(info.value) and len(str(info.value)) < 200


async def test_error_count_is_capped() -> None:
    @tool
    def many(values: list[int]) -> None: ...

    with pytest.raises(ToolArgumentsError) as info:
        await many.call(json.dumps({"values": ["a"] * 50}))
    assert len(info.value.errors) == 6
    assert info.value.errors[-1] == "... and 45 more"


async def test_union_errors_are_merged_per_argument() -> None:
    @tool
    def either(value: int | str) -> None: ...

    with pytest.raises(ToolArgumentsError) as info:
        await either.call('{"value": [1]}')
    assert info.value.errors == [
        "value: Input should be a valid integer or Input should be a valid string, got an array"
    ]


async def test_errors_under_an_optional_argument_name_the_key_that_is_wrong() -> None:
    # Under `X | None` the next key was taken for the name of a union member and dropped:
    # "counts: Input should be a valid integer" told the model `counts` is an integer.
    @tool
    def tally(counts: dict[str, int] | None = None, item: Item | None = None) -> None: ...

    with pytest.raises(ToolArgumentsError) as info:
        await tally.call('{"counts": {"apples": "x"}, "item": {"sku": "a", "qty": 1, "zz": 1}}')
    assert info.value.errors == [
        'counts.apples: Input should be a valid integer, got "x"',
        "item.zz: unexpected field",
    ]


class Leaf(BaseModel):
    value: int
    children: list[Leaf] = []


class Bird(BaseModel):
    kind: Literal["bird"]
    sings: bool


class Fish(BaseModel):
    kind: Literal["fish"]
    fins: int


async def test_error_paths_follow_the_schema_not_pydantic_tags() -> None:
    @tool
    def paths(
        date: dt.date, pets: list[Bird | Fish], tree: Leaf, scores: dict[str, int]
    ) -> None: ...

    with pytest.raises(ToolArgumentsError) as info:
        await paths.call(
            json.dumps(
                {
                    "date": "soon",
                    "pets": [{"kind": "bird", "sings": 3}],
                    "tree": {"value": 1, "children": [{"value": "z"}]},
                    "scores": {"a": "b"},
                }
            )
        )
    paths_in_errors = [line.split(":")[0] for line in info.value.errors]
    assert paths_in_errors[0] == "date"  # a field named like a pydantic union tag
    assert "pets[0].sings" in paths_in_errors
    assert "tree.children[0].value" in paths_in_errors
    assert all("function-" not in p and "[key]" not in p for p in paths_in_errors)


def test_tool_without_parameters_rejects_any_argument() -> None:
    @tool
    def nothing() -> None: ...

    with pytest.raises(ToolArgumentsError, match="this tool takes no arguments"):
        nothing.call_sync('{"a": 1}')


# ----------------------------------------------------------------------------- results


class Colour(enum.Enum):
    RED = "red"


class Label(str, enum.Enum):
    HOT = "hot"


class Forecast(BaseModel):
    city: str
    when: dt.date


@dataclasses.dataclass
class Reading:
    sensor: uuid.UUID
    value: Decimal


class Opaque:
    pass


class Text(str):
    pass


SERIALIZED = [
    ("str", "北京 sunny", "北京 sunny"),
    ("str subclass", Text("plain"), "plain"),
    ("empty str", "", ""),
    ("None", None, "null"),
    ("int", 3, "3"),
    ("float", 2.5, "2.5"),
    ("bool", True, "true"),
    ("dict with Chinese", {"城市": "北京", "temp": 21}, '{"城市":"北京","temp":21}'),
    ("list", [1, "二", None], '[1,"二",null]'),
    ("tuple", (1, 2), "[1,2]"),
    ("enum", Colour.RED, '"red"'),
    ("str enum", Label.HOT, '"hot"'),
    (
        "pydantic model",
        Forecast(city="上海", when=dt.date(2026, 5, 1)),
        '{"city":"上海","when":"2026-05-01"}',
    ),
    (
        "dataclass",
        Reading(uuid.UUID(int=1), Decimal("1.50")),
        '{"sensor":"00000000-0000-0000-0000-000000000001","value":"1.50"}',
    ),
    (
        "nested",
        {"items": [Forecast(city="a", when=dt.date(2026, 1, 1))]},
        '{"items":[{"city":"a","when":"2026-01-01"}]}',
    ),
    # JSON has no NaN or infinity: null, as JSON.stringify writes them.
    (
        "nan and infinities",
        {"mean": math.nan, "max": [math.inf, -math.inf]},
        '{"mean":null,"max":[null,null]}',
    ),
    ("nan", math.nan, "null"),
    # Lone surrogates (undecodable bytes read with surrogateescape) go as their escapes.
    ("str with a lone surrogate", "caf\udce9 é", "caf\\udce9 é"),
    (
        "json with a lone surrogate",
        {"name": "caf\udce9", "城市": "北京"},
        '{"name":"caf\\udce9","城市":"北京"}',
    ),
]


@pytest.mark.parametrize(("value", "expected"), [pytest.param(*r[1:], id=r[0]) for r in SERIALIZED])
def test_serialize_result(value: Any, expected: str) -> None:
    out = serialize_result(value)
    assert out == expected
    assert type(out) is str


def test_serialized_results_are_valid_json_in_utf_8() -> None:
    for value in ({"x": math.nan, "s": "a\udcff"}, [math.inf], "b\ud800"):
        out = serialize_result(value)
        out.encode("utf-8")  # sendable
        if not isinstance(value, str):
            assert json.loads(out, parse_constant=lambda c: pytest.fail(f"bare {c}"))


def test_unserializable_result_is_a_user_error_naming_the_type() -> None:
    with pytest.raises(UserError, match="'Opaque'"):
        serialize_result(Opaque())
    with pytest.raises(UserError, match="'dict'"):
        serialize_result({"a": Opaque()})


async def test_call_serializes_results() -> None:
    @tool
    def forecast(city: str) -> Forecast:
        return Forecast(city=city, when=dt.date(2026, 6, 1))

    assert await forecast.call('{"city": "广州"}') == '{"city":"广州","when":"2026-06-01"}'


# ----------------------------------------------------------------------------- property


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Spot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    lat: float


def _property_tool(
    count: int,
    ratio: float,
    flag: bool,
    label: str,
    mode: Literal["a", "b"],
    values: list[int],
    level: Level,
    spot: Spot,
    note: str | None = None,
    score: Annotated[int, Field(ge=0, le=10)] = 5,
) -> str:
    return "ok"


PROPERTY_TOOLS = [tool(_property_tool), tool(strict=True)(_property_tool)]

# JSON integers are what the validator accepts for `int`; jsonschema would also take 1.0.
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: type(value) is int
)
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=_TYPES)

# Lone surrogates cannot occur in UTF-8 JSON text from a model.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
_VALID = {
    "count": st.integers(),
    "ratio": st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    "flag": st.booleans(),
    "label": _text,
    "mode": st.sampled_from(["a", "b"]),
    "values": st.lists(st.integers(), max_size=4),
    "level": st.sampled_from(["low", "high"]),
    "spot": st.fixed_dictionaries(
        {"name": _text, "lat": st.floats(allow_nan=False, allow_infinity=False)}
    ),
    "note": st.none() | _text,
    "score": st.integers(min_value=-1, max_value=11),
}


@st.composite
def _arguments(draw: st.DrawFn) -> dict[str, Any]:
    # About half the examples validate; the rest break one or more rules in varied ways.
    arguments: dict[str, Any] = {}
    for name, valid in _VALID.items():
        choice = draw(st.integers(0, 39))
        if choice == 0:
            continue  # leave it out
        arguments[name] = draw(_json) if choice == 1 else draw(valid)
    if draw(st.integers(0, 39)) == 0:
        arguments[draw(_text)] = draw(_json)
    return arguments


@pytest.mark.parametrize("subject", PROPERTY_TOOLS, ids=["normal", "strict"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments=_arguments())
def test_schema_valid_iff_call_accepts(subject: Tool[..., str], arguments: dict[str, Any]) -> None:
    schema_valid = Validator(subject.parameters).is_valid(arguments)
    for form in (json.dumps(arguments), arguments):
        try:
            accepted = subject.call_sync(form) == "ok"
        except ToolArgumentsError:
            accepted = False
        assert accepted == schema_valid, (arguments, subject.strict)


class _AsyncLookup:
    """Look things up."""

    async def __call__(self, key: str) -> str:
        return key.upper()


def _scale(value: float, factor: float) -> float:
    """Scale a value."""
    return value * factor


def test_callable_objects_and_partials_run_as_tools() -> None:
    import functools

    lookup = tool(_AsyncLookup())
    assert lookup.is_async and lookup.name == "_AsyncLookup"
    assert lookup.call_sync('{"key": "ab"}') == "AB"
    double = tool(functools.partial(_scale, factor=2.0), name="double")
    assert list(double.parameters["properties"]) == ["value"]
    assert double.call_sync('{"value": 1.5}') == "3.0"
    with pytest.raises(ToolArgumentsError, match="unexpected argument"):
        double.call_sync('{"value": 1.5, "factor": 9}')


def test_docstring_format_is_a_tool_option() -> None:
    def f(a: int) -> None:
        """Summary.

        :param a: The a.
        """

    assert tool(docstring_format="none")(f).description.endswith(":param a: The a.")
    assert tool(docstring_format="rest")(f).parameters["properties"]["a"]["description"] == "The a."
