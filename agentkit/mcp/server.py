"""``MCPServer``: an MCP server's tools as a tool source for ``Agent(tools=[...])``.

Each server gets a daemon thread with an event loop of its own (``_loop``) whose one task
owns the connection (``_connection``); every caller, from any thread or event loop, hands
its work to that loop. So a server is started once (on first use or ``async with``) and
survives across runs, concurrent runs share it, and ``run_sync`` works without a loop.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

import mcp.types as mt
from mcp import Client, StdioServerParameters
from mcp.client.session import MessageHandlerFnT
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agentkit._checks import check_seconds
from agentkit.client._logmask import MaskedLogs
from agentkit.client._redact import Redactor
from agentkit.errors import UserError
from agentkit.mcp._connection import Connection, ConnectionLost, describe
from agentkit.mcp._content import result_text
from agentkit.mcp._errors import MCPError, MCPToolError
from agentkit.mcp._logmask import env_secrets, header_secrets, mask_sdk_logs, url_secrets
from agentkit.mcp._loop import LoopThread
from agentkit.mcp._names import public_names, usable
from agentkit.mcp._options import check_patterns, check_per_tool, per_tool, strip_credentials
from agentkit.tool import Tool

__all__ = ["MCPServer"]

logger = logging.getLogger("agentkit.mcp")

T = TypeVar("T")
Approval = bool | Callable[..., Any]
OnError = Literal["raise", "skip"]
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_Factory = Callable[[MessageHandlerFnT], Client]


class _State:
    """What lives on one server loop: the loop thread, the connection, the cached tools."""

    def __init__(self, name: str) -> None:
        self.loop = LoopThread(f"agentkit-mcp-{name}")
        self.lock: asyncio.Lock | None = None  # made on the loop, at first use
        self.conn: Connection | None = None
        self.tools: list[Tool[..., Any]] | None = None
        self.stale = False


class MCPServer:
    """The tools of one MCP server, as a tool source: ``Agent(tools=[..., server])``.

    Build one with ``MCPServer.stdio(...)`` or ``MCPServer.http(...)``. It connects on
    first use (or ``async with server:`` / ``with server:``), stays connected across runs,
    and is closed by ``aclose()`` / ``close()`` (``agent.aclose()`` closes the servers the
    agent started). The tool list is fetched once and cached until the server says it
    changed (``tools/list_changed``) or ``refresh_tools()`` is called.

    Attributes:
        source_name: The server's name in errors and ``RunResult.notes``.
        on_error: ``"raise"``: a server that fails to start fails the run with
            ``MCPError``; ``"skip"``: the run goes on without its tools, with a note.
    """

    def __init__(
        self,
        factory: _Factory,
        *,
        name: str,
        prefix: str | None = None,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        timeout: float | Mapping[str, float | None] | None = None,
        needs_approval: Approval | Mapping[str, Approval] = False,
        on_error: OnError = "raise",
        connect_timeout: float | None = 30.0,
        secrets: Sequence[str] = (),
    ) -> None:
        """Use ``MCPServer.stdio`` or ``MCPServer.http``; ``factory`` builds an SDK client.

        ``secrets`` are values kept out of the SDK's log records (masked as ``***``); the
        constructors pass the credentials they were given.
        """
        if on_error not in ("raise", "skip"):
            raise UserError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
        if prefix is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", prefix):
            raise UserError(f"prefix must be 1-40 letters, digits, '_' or '-', got {prefix!r}")
        for label, patterns in (("allow", allow), ("deny", deny)):
            if isinstance(patterns, str):
                raise UserError(f"{label} takes a list of name patterns, not a str: [{patterns!r}]")
            check_patterns(label, patterns or ())
        check_per_tool(timeout, needs_approval)
        check_seconds("connect_timeout", connect_timeout, none=True)
        self._factory = factory
        self.source_name = name
        self.on_error: OnError = on_error
        self._prefix = prefix
        self._allow = list(allow) if allow is not None else None
        self._deny = list(deny or ())
        self._timeout = timeout
        self._needs_approval = needs_approval
        self._connect_timeout = connect_timeout
        self._redactor = Redactor(secrets)
        self._state: _State | None = None
        self._state_lock = threading.Lock()
        self._entered = 0

    # ------------------------------------------------------------------ constructors

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        *,
        name: str | None = None,
        prefix: str | None = None,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        timeout: float | Mapping[str, float | None] | None = None,
        needs_approval: Approval | Mapping[str, Approval] = False,
        on_error: OnError = "raise",
        connect_timeout: float | None = 30.0,
    ) -> MCPServer:
        """A server started as a subprocess, spoken to over its stdin and stdout.

        Args:
            command: The executable, e.g. ``"python"`` or ``"npx"``.
            args: Its arguments, e.g. ``["-m", "my_server"]``.
            env: Environment variables for it, added to the SDK's minimal safe environment
                (``PATH``, ``HOME``...; nothing else of yours, so no API key, is passed).
            cwd: Its working directory (by default this process's).
            name: The name in errors and notes (default: the command line).
            prefix: Prefix every tool name: ``prefix="fs"`` makes ``read_file``
                ``fs_read_file``.
            allow: Only tools whose server-side name matches one of these fnmatch patterns.
            deny: Leave out tools matching one of these patterns (applied after ``allow``).
            timeout: Seconds a call may take, for every tool or per tool name (a mapping of
                fnmatch patterns); becomes each ``Tool.timeout``.
            needs_approval: ``True``, ``False`` or a callable, for every tool or per tool
                name (a mapping of patterns); becomes each ``Tool.needs_approval``.
            on_error: What a run does when the server fails to start (see the class).
            connect_timeout: Seconds to wait for the server to start and answer the
                handshake, and again for it to list its tools.
        """
        params = StdioServerParameters(
            command=command, args=list(args), env=dict(env) if env else None, cwd=cwd
        )

        def factory(handler: MessageHandlerFnT) -> Client:
            return Client(stdio_client(params), message_handler=handler, client_info=_INFO)

        label = name or " ".join([command, *args])
        return cls(
            factory,
            name=label,
            prefix=prefix,
            allow=allow,
            deny=deny,
            timeout=timeout,
            needs_approval=needs_approval,
            on_error=on_error,
            connect_timeout=connect_timeout,
            secrets=env_secrets(env),
        )

    @classmethod
    def http(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        prefix: str | None = None,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        timeout: float | Mapping[str, float | None] | None = None,
        needs_approval: Approval | Mapping[str, Approval] = False,
        on_error: OnError = "raise",
        connect_timeout: float | None = 30.0,
    ) -> MCPServer:
        """A server reached over streamable HTTP at ``url`` (e.g. ``http://host:8765/mcp``).

        Args:
            url: The server's MCP endpoint.
            headers: Sent with every request (e.g. ``Authorization``); never logged nor
                shown in ``repr``.
            name: The name in errors and notes (default: the URL without credentials).

        The other arguments are those of ``MCPServer.stdio``.
        """
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            shown = strip_credentials(url) if isinstance(url, str) else url
            raise UserError(f"MCPServer.http needs an http:// or https:// URL, got {shown!r}")
        sent = dict(headers or {})
        for key, value in sent.items():
            if not isinstance(key, str) or not isinstance(value, str):
                # Named by the header, never by its value (a credential).
                raise UserError(
                    f"MCPServer.http headers map names to str values; {key!r} has a "
                    f"{type(value).__name__} value"
                )

        @asynccontextmanager
        async def transport() -> AsyncIterator[Any]:
            async with (
                create_mcp_http_client(headers=sent) as http_client,
                streamable_http_client(url, http_client=http_client) as streams,
            ):
                yield streams

        def factory(handler: MessageHandlerFnT) -> Client:
            return Client(transport(), message_handler=handler, client_info=_INFO)

        return cls(
            factory,
            name=name or strip_credentials(url),
            prefix=prefix,
            allow=allow,
            deny=deny,
            timeout=timeout,
            needs_approval=needs_approval,
            on_error=on_error,
            connect_timeout=connect_timeout,
            secrets=[*url_secrets(url), *header_secrets(sent)],
        )

    def __repr__(self) -> str:
        return f"MCPServer({self.source_name!r}, prefix={self._prefix!r})"

    # ------------------------------------------------------------------ the tool source

    async def list_tools(self) -> list[Tool[..., Any]]:
        """The server's tools (connecting first if needed), filtered and prefixed.

        Raises:
            MCPError: The server failed to start or to list its tools.
        """
        return await self._await(self._tools_on_loop(refresh=False))

    def list_tools_sync(self) -> list[Tool[..., Any]]:
        """``list_tools`` for sync code (any thread, with or without a running loop)."""
        return self._block(self._tools_on_loop(refresh=False))

    async def refresh_tools(self) -> list[Tool[..., Any]]:
        """Fetch the tool list again now, whatever the cache holds."""
        return await self._await(self._tools_on_loop(refresh=True))

    def refresh_tools_sync(self) -> list[Tool[..., Any]]:
        """``refresh_tools`` for sync code."""
        return self._block(self._tools_on_loop(refresh=True))

    @property
    def in_context(self) -> bool:
        """Whether ``async with`` / ``with`` holds the server open (then the agent leaves
        closing it to that block)."""
        return self._entered > 0

    async def aclose(self) -> None:
        """Close the connection (a stdio server's process exits) and stop the loop thread.

        The server can be used again afterwards: it then reconnects.
        """
        state = self._take_state()
        if state is not None:
            await asyncio.wrap_future(state.loop.submit(_shutdown(state)))
            state.loop.stop()

    def close(self) -> None:
        """``aclose`` for sync code."""
        state = self._take_state()
        if state is not None:
            state.loop.submit(_shutdown(state)).result()
            state.loop.stop()

    async def __aenter__(self) -> MCPServer:
        await self.list_tools()
        self._entered += 1
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._entered -= 1
        if not self._entered:
            await self.aclose()

    def __enter__(self) -> MCPServer:
        self.list_tools_sync()
        self._entered += 1
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._entered -= 1
        if not self._entered:
            self.close()

    # ------------------------------------------------------------------ plumbing

    def _get_state(self) -> _State:
        with self._state_lock:
            if self._state is None:
                self._state = _State(_BAD_NAME_CHARS.sub("_", self.source_name)[:40])
            return self._state

    def _take_state(self) -> _State | None:
        with self._state_lock:
            state, self._state = self._state, None
            return state

    async def _await(self, make: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(self._get_state().loop.submit(self._masked(make)))

    def _block(self, make: Coroutine[Any, Any, T]) -> T:
        state = self._get_state()
        if state.loop.in_thread():
            make.close()
            raise UserError("MCPServer: a blocking call from the server's own loop")
        return state.loop.submit(self._masked(make)).result()

    # Everything below runs on the server's loop.

    async def _masked(self, make: Coroutine[Any, Any, T]) -> T:
        # The SDK's and httpx2's records in this task, and in the tasks it starts (the
        # connection's owner task and the transport's), are masked with our credentials.
        with MaskedLogs(self._redactor):
            return await make

    async def _connected(self, state: _State) -> Connection:
        if state.lock is None:
            state.lock = asyncio.Lock()
        async with state.lock:
            if state.conn is not None and state.conn.alive:
                if not state.conn.hung_up():
                    return state.conn
                await state.conn.close()  # reaps the exited process; a new one starts below
            conn = Connection(self._factory, lambda: _mark_stale(state))
            mask_sdk_logs()
            state.conn = conn  # so that close() ends a start in progress too
            try:
                await conn.open(self._connect_timeout)
            except asyncio.CancelledError:
                if state.conn is conn:  # our caller was cancelled
                    raise
                raise MCPError(
                    f"MCP server {self.source_name!r} was closed while it was starting"
                ) from None
            except (asyncio.TimeoutError, TimeoutError):
                raise MCPError(
                    f"MCP server {self.source_name!r} did not start within "
                    f"{self._connect_timeout} seconds"
                ) from None
            except Exception as exc:
                raise MCPError(
                    f"MCP server {self.source_name!r} failed to start: {describe(exc)}"
                ) from exc
            state.conn, state.stale = conn, True
            return conn

    async def _tools_on_loop(self, *, refresh: bool) -> list[Tool[..., Any]]:
        state = self._get_state()
        conn = await self._connected(state)
        if refresh or state.stale or state.tools is None:
            state.stale = False
            try:
                listed = await conn.list_tools(self._connect_timeout)
            except TimeoutError:
                state.stale = True
                raise MCPError(
                    f"MCP server {self.source_name!r} did not list its tools within "
                    f"{self._connect_timeout} seconds"
                ) from None
            except Exception as exc:
                state.stale = True
                raise MCPError(
                    f"MCP server {self.source_name!r} could not list its tools: {describe(exc)}"
                ) from exc
            state.tools = self._build_tools(listed)
        return list(state.tools)

    def _build_tools(self, listed: list[mt.Tool]) -> list[Tool[..., Any]]:
        selected = [t for t in usable(listed, self.source_name) if self._selected(t.name)]
        public = public_names([t.name for t in selected], self._prefix, self.source_name)
        tools = []
        for t in selected:
            tools.append(
                Tool.from_schema(
                    public[t.name],
                    t.description or "",
                    t.input_schema,
                    self._handler(t.name, per_tool(self._timeout, t.name, None)),
                    timeout=per_tool(self._timeout, t.name, None),
                    needs_approval=per_tool(self._needs_approval, t.name, False),
                )
            )
        return tools

    def _selected(self, name: str) -> bool:
        if self._allow is not None and not any(fnmatch.fnmatchcase(name, p) for p in self._allow):
            return False
        return not any(fnmatch.fnmatchcase(name, p) for p in self._deny)

    def _handler(self, remote: str, timeout: float | None) -> Callable[..., Any]:
        async def call_mcp_tool(**arguments: Any) -> str:
            return await self._await(self._call_on_loop(remote, arguments, timeout))

        call_mcp_tool.__qualname__ = call_mcp_tool.__name__ = f"mcp_{remote}"
        return call_mcp_tool

    async def _call_on_loop(
        self, remote: str, arguments: dict[str, Any], timeout: float | None
    ) -> str:
        state = self._get_state()
        conn = await self._connected(state)
        try:
            result = await conn.call_tool(remote, arguments, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"MCP tool {remote!r} of {self.source_name!r} did not answer within "
                f"{timeout} seconds"
            ) from None
        except ConnectionLost as exc:
            raise MCPToolError(
                f"MCP server {self.source_name!r} was lost during a call to {remote!r} "
                f"({exc}); it is restarted on next use"
            ) from exc
        except Exception as exc:
            raise MCPToolError(
                f"MCP tool {remote!r} of {self.source_name!r} failed: {describe(exc)}"
            ) from exc
        text = result_text(result)
        if result.is_error:
            why = text.strip() or "the server gave no message"
            raise MCPToolError(f"MCP tool {remote!r} of {self.source_name!r} failed: {why}")
        return text


_INFO = mt.Implementation(name="agentkit", version="0.1")


async def _shutdown(state: _State) -> None:
    conn, state.conn = state.conn, None
    if conn is not None:
        await conn.close()
    if state.lock is not None:
        async with state.lock:  # a start that close() cut short has told its caller
            pass


def _mark_stale(state: _State) -> None:
    state.stale = True
