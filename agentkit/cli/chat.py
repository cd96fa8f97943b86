"""``agentkit chat``: an interactive chat that streams answers and shows tool calls, with
tools from ``--tools``/``--mcp``/``--mcp-url`` or a whole ``--agent``, and a conversation kept
in ``--session``/``--store`` across invocations."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from agentkit.cli import DEFAULT_CHAT_STORE, PROG
from agentkit.cli.connect import client_for
from agentkit.cli.loading import as_tools, load, load_agent, open_store, run_kwargs
from agentkit.cli.output import CLIError, clean, describe, render_events, shorten

if TYPE_CHECKING:
    from agentkit.agent import Agent
    from agentkit.tool import Tool

_CHAT_HELP_SHORT = "/help lists the commands; /exit or Ctrl-D quits."
_CHAT_HELP = """commands (not sent to the model):
  /reset        forget the conversation
  /help         this list
  /exit, /quit  leave (Ctrl-D too)
a line of one word such as /name is a command, never a message; a line with more words,
or a path such as /etc/hosts, is sent to the model
empty lines are ignored; arrow keys edit the line and recall earlier ones"""

# One word: a slash, then no space and no other slash. A mistyped command is caught, while
# "/etc/hosts is what?" or "/ 2" is still a message.
_COMMAND = re.compile(r"/[^\s/]+")
_REFUSED = "refused by the user at the chat prompt"


def chat(args: argparse.Namespace) -> int:
    """Run ``agentkit chat``: build the agent, start its MCP servers, then talk."""
    from agentkit.agent import Agent

    agent: Agent[Any]
    sources: list[Any] = []
    if args.agent is not None:
        if args.tools or args.mcp or args.mcp_url or args.instructions is not None:
            raise CLIError(
                "--agent brings its own tools and instructions; "
                "do not combine it with --tools, --mcp, --mcp-url or --instructions",
                2,
            )
        agent = load_agent(args.agent)
        client = client_for(args)
        agent = agent.with_client(client)
        tools = agent.tools
    else:
        tools = [t for spec in args.tools for t in as_tools(load(spec, "--tools"), spec, "--tools")]
        client = client_for(args)
        sources = _mcp_servers(args)
        agent = Agent(instructions=args.instructions, tools=[*tools, *sources], client=client)
    try:
        for server in sources:  # start them now: a broken one fails here, not mid-chat
            tools = [*tools, *server.list_tools_sync()]
        return _chat_loop(args, agent, client.model, tools)
    finally:
        agent.close()


def _mcp_servers(args: argparse.Namespace) -> list[Any]:
    if not args.mcp and not args.mcp_url:
        return []
    import shlex

    from agentkit.mcp import MCPServer

    servers = []
    for line in args.mcp:
        words = shlex.split(line)
        if not words:
            raise CLIError("--mcp needs a command, e.g. --mcp 'python -m my_server'", 2)
        servers.append(MCPServer.stdio(words[0], words[1:], cwd=os.getcwd()))
    from agentkit.errors import UserError

    for url in args.mcp_url:
        try:
            servers.append(MCPServer.http(url))
        except UserError as exc:  # a bad value of an option: a usage error, as argparse's
            raise CLIError(f"--mcp-url: {exc}", 2) from None
    return servers


def _chat_loop(
    args: argparse.Namespace, agent: Any, model: str, tools: list[Tool[Any, Any]]
) -> int:
    from agentkit.errors import AgentkitError

    kwargs = run_kwargs(args)
    interactive = sys.stdin.isatty()
    if interactive:
        _line_editing()
        names = ", ".join(t.name for t in tools) or "none"
        print(f"agentkit chat with {model} (tools: {names}). {_CHAT_HELP_SHORT}")
    history: list[dict[str, Any]] = []
    session = _chat_session(args)
    if session is not None:
        kwargs["session"] = session
        if interactive and session.messages():
            print(f"(continuing session {session.id!r})", flush=True)
        # An earlier chat ended while a call waited: decide it before anything else.
        waiting = session.pause() is not None
        if waiting and _settle(agent, None, session, kwargs, interactive) is None:
            return 0
    while True:
        line = _read_line(interactive)
        if line is None:
            return 0
        text = line.strip()
        if not text:
            continue  # an empty Enter is not the end of the conversation
        if _COMMAND.fullmatch(text):
            if text in ("/exit", "/quit"):
                return 0
            if text == "/reset":
                history = []
                if session is not None:
                    session.clear()
                print("(conversation forgotten)", flush=True)
            elif text in ("/help", "/?"):
                print(_CHAT_HELP, flush=True)
            else:
                print(f"{PROG}: unknown command {clean(text)}; /help lists them", file=sys.stderr)
            continue
        if session is None:
            kwargs["history"] = history
        try:
            result = render_events(agent.stream_sync(text, **kwargs), sys.stdout)
            if result is not None and result.paused:
                result = _settle(agent, result, session, kwargs, interactive)
                if result is None:
                    return 0  # the input ended while a call waited: it stays undecided
        except AgentkitError as exc:
            if not interactive:
                raise
            # Keep talking: the error carries the conversation so far, valid as history.
            print(f"{PROG}: error: {describe(exc, args)}", file=sys.stderr)
            history = list(exc.messages) or history
            continue
        if result is not None:
            history = result.messages


def _settle(
    agent: Any, result: Any, session: Any, kwargs: dict[str, Any], interactive: bool
) -> Any:
    """Ask about each call a paused run waits for, resume it, show what followed; again
    while it pauses. ``None`` when the input ends before every call is decided.

    ``result`` is the paused ``RunResult``, or ``None`` for the run paused in ``session``
    by an earlier invocation. Without this a tool marked ``needs_approval`` never ran and
    nothing was shown: the model was told on the next line that the call was interrupted.
    """
    extra = {k: v for k, v in kwargs.items() if k not in ("history", "session")}
    while result is None or result.paused:
        if result is None:
            state = session.pause()
            waiting = [
                (r["tool_call_id"], r["tool_name"], r["arguments"]) for r in state["requests"]
            ]
        else:
            waiting = [(r.tool_call_id, r.tool_name, r.arguments) for r in result.approvals]
        decisions = _ask(waiting, interactive)
        if decisions is None:
            return None
        if session is not None:
            result = agent.resume_sync(decisions=decisions, session=session, **extra)
        else:
            result = agent.resume_sync(result.pause, decisions, **extra)
        _show_resumed(result.new_messages(), {call_id: name for call_id, name, _ in waiting})
    return result


def _ask(waiting: list[tuple[str, str, Any]], interactive: bool) -> dict[str, Any] | None:
    """A decision per waiting call, read from the user (``None``: the input ended)."""
    import json

    from agentkit.approvals import Approve, Reject

    decisions: dict[str, Any] = {}
    for call_id, name, arguments in waiting:
        shown = json.dumps(arguments, ensure_ascii=False, default=str)
        print(f"[approval needed] {clean(name)}({clean(shown)})", flush=True)
        answer = _read_line(interactive, "run it? [y/N] ")
        if answer is None or answer.strip() in ("/exit", "/quit"):
            return None  # leaving: the call stays undecided (kept in a --session)
        approved = answer.strip().lower() in ("y", "yes")
        decisions[call_id] = Approve() if approved else Reject(_REFUSED)
    return decisions


def _show_resumed(messages: list[dict[str, Any]], names: dict[str, str]) -> None:
    """What a resumed run added, shown as a streamed run is (it is not streamed)."""
    for m in messages:
        if m["role"] == "tool":
            name = clean(names.get(m["tool_call_id"], "tool"))
            print(f"[tool result] {name}: {shorten(str(m.get('content')))}", flush=True)
        elif m["role"] == "assistant":
            for call in m.get("tool_calls") or []:
                names[call["id"]] = call["function"]["name"]
                function = call["function"]
                print(f"[tool call] {clean(function['name'])}({clean(function['arguments'])})")
            if isinstance(m.get("content"), str) and m["content"]:
                print(clean(m["content"]), flush=True)


def _chat_session(args: argparse.Namespace) -> Any:
    """The session ``--session``/``--store`` name (``None``: the chat lives in memory)."""
    if args.session is None:
        if args.store is not None:
            raise CLIError("--store keeps a --session: give --session NAME too", 2)
        return None
    from agentkit.errors import AgentkitError

    store = open_store(args.store or DEFAULT_CHAT_STORE)
    try:
        return store.session(args.session)
    except AgentkitError as exc:
        store.close()
        raise CLIError(f"--session {args.session!r}: {clean(str(exc))}", 2) from None


def _read_line(interactive: bool, prompt: str = "you> ") -> str | None:
    """The next line typed (``None`` at the end of input)."""
    if not interactive:
        line = sys.stdin.readline()
        return line or None
    try:
        return input(prompt)
    except EOFError:
        print()
        return None


def _line_editing() -> None:
    # Importing readline is what gives input() line editing and history (where available).
    # Windows has no readline: plain input() still works there.
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401
