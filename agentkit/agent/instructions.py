"""An agent's instructions: a ``str``, a ``Template``, or a function of the run's context.

A function (sync or async) is called once per run with a ``RunContext`` (the run's deps,
the conversation so far, its limits and depth) and returns the instructions' text. A sync
one is rendered when the run's state is built; an async one (or a sync one returning an
awaitable) is kept on the state and awaited by the driver before the first request.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from agentkit._callables import is_async
from agentkit.context import RunContext
from agentkit.errors import RunTimeoutError, UserError
from agentkit.messages import Message
from agentkit.templates import Template

if TYPE_CHECKING:
    from agentkit.agent.output import OutputSpec
    from agentkit.agent.state import RunState

__all__ = [
    "InstructionsFunction",
    "check_instructions",
    "render_pending",
    "render_pending_sync",
    "start_instructions",
    "system_message",
]

_DepsT = TypeVar("_DepsT")

# Generic in the deps type, so ``ctx.deps`` has the agent's ``deps_type`` for type checkers.
InstructionsFunction: TypeAlias = Callable[
    [RunContext[_DepsT]], "str | Awaitable[str | None] | None"
]


def check_instructions(instructions: object) -> None:
    """Refuse instructions that are none of the supported kinds (when the agent is built)."""
    if instructions is None or isinstance(instructions, (str, Template)) or callable(instructions):
        return
    raise UserError(
        "instructions must be a str, an agentkit Template or a function of the RunContext "
        f"returning a str, got {type(instructions).__name__}"
    )


def system_message(text: str | None, output: OutputSpec | None) -> Message | None:
    """The system message for ``text`` and the run's structured output (pure)."""
    if output is not None:
        text = f"{text}\n\n{output.instructions}" if text else output.instructions
    return None if text is None else {"role": "system", "content": text}


def start_instructions(
    instructions: object, variables: Mapping[str, Any] | None, state: RunState
) -> None:
    """Set ``state.system`` from the agent's instructions for this run.

    A sync function is called now; an awaitable it returns (an ``async def``) is left on
    ``state.pending_instructions`` for the driver (``render_pending``).
    """
    output = state.spec.output
    if isinstance(instructions, Template):
        state.system = system_message(instructions.render(variables), output)
        return
    if variables:
        raise UserError(
            "variables were given but the instructions are not a Template; "
            "wrap them in agentkit.Template(...) to render them"
        )
    if instructions is None or isinstance(instructions, str):
        state.system = system_message(instructions, output)
        return
    function: Callable[[RunContext[Any]], Any] = instructions  # type: ignore[assignment]
    ctx = _context(state)
    if is_async(function):
        # Called by the driver, so a run that never starts leaves no coroutine behind.
        state.pending_instructions = (function, lambda: function(ctx))
        return
    try:
        text = function(ctx)
    except Exception as exc:
        raise _failed(function, exc) from exc
    if inspect.isawaitable(text):
        awaitable = text
        state.pending_instructions = (function, lambda: awaitable)
        return
    state.system = system_message(_checked(function, text), output)


async def render_pending(state: RunState) -> None:
    """Await the run's async instructions function, if it has one (async runs)."""
    if state.pending_instructions is None:
        return
    function, start = state.pending_instructions
    state.pending_instructions = None
    remaining = state.remaining()
    try:
        if remaining is None:
            text = await start()
        else:  # the run's time limit covers its instructions too
            import asyncio  # loaded already: this is a coroutine

            text = await asyncio.wait_for(start(), max(0.0, remaining))
    except Exception as exc:
        left = state.remaining()
        if isinstance(exc, TimeoutError) and left is not None and left <= 0:
            raise RunTimeoutError(
                f"The run exceeded its time limit of {state.spec.run_timeout} s while its "
                f"instructions function {_name(function)} ran",
                messages=state.snapshot(),
            ) from None
        raise _failed(function, exc) from exc
    state.system = system_message(_checked(function, text), state.spec.output)


def render_pending_sync(state: RunState) -> None:
    """``render_pending`` for sync runs: the coroutine runs on an event loop of its own."""
    if state.pending_instructions is None:
        return
    import asyncio  # only a sync run with async instructions needs it

    asyncio.run(render_pending(state))


def _context(state: RunState) -> RunContext[Any]:
    # A copy of the messages: the function must not change the run's history.
    return RunContext(
        state.deps,
        list(state.messages),
        state.usage,
        limits=state.spec.usage_limits,
        depth=state.depth,
    )


def _checked(function: object, text: object) -> str | None:
    if text is None or isinstance(text, str):
        return text
    raise UserError(
        f"The instructions function {_name(function)} returned {type(text).__name__}; "
        "it must return a str (or None for no instructions)"
    )


def _failed(function: object, exc: Exception) -> UserError:
    if isinstance(exc, UserError):
        return exc
    return UserError(
        f"The instructions function {_name(function)} raised {type(exc).__name__}: {exc}"
    )


def _name(function: object) -> str:
    return repr(getattr(function, "__qualname__", None) or type(function).__name__)
