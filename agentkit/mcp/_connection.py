"""One live session with an MCP server, owned by one task on the server's own loop.

Everything here runs on that loop (see ``_loop``). ``Connection.open`` starts the owner
task, which enters the SDK client (and its anyio task groups) and, when told to stop,
exits it — in the same task, as anyio requires. Calls from other tasks of the loop only
send requests through the entered client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import anyio
import mcp.types as mt
from anyio.abc import TaskStatus
from mcp import Client
from mcp.client.session import IncomingMessage, MessageHandlerFnT
from mcp.shared.exceptions import MCPError as SDKError
from mcp_types.jsonrpc import CONNECTION_CLOSED, REQUEST_TIMEOUT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

__all__ = ["Connection", "ConnectionLost", "describe"]

logger = logging.getLogger("agentkit.mcp")

# Builds a fresh, unentered SDK client; its message handler is given.
ClientFactory = Callable[[MessageHandlerFnT], Client]
_PAGE_CAP = 100  # a server whose tools/list never ends cannot hang us


class ConnectionLost(Exception):
    """The session broke (the server exited, the network failed); reconnect to go on."""


class Connection:
    """A session with one server. ``alive`` turns false for good once it breaks or closes."""

    def __init__(self, factory: ClientFactory, on_tools_changed: Callable[[], None]) -> None:
        self._factory = factory
        self._on_tools_changed = on_tools_changed
        self._client: Client | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self.alive = False

    async def open(self, within: float | None) -> None:
        """Start the owner task and wait until the session is ready.

        Raises:
            TimeoutError: Not ready within ``within`` seconds.
            Exception: Whatever starting the server or the handshake raised.
        """
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._own(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), within)
        except BaseException:
            await self.close()
            raise
        self.alive = True

    async def _own(self, ready: asyncio.Future[None]) -> None:
        try:
            # close() cancels a start still in progress with this scope: the SDK then
            # stops the server process, which a native task.cancel() can cut short.
            with anyio.CancelScope() as self._scope:
                async with (
                    self._factory(self._on_message) as client,
                    anyio.create_task_group() as tg,
                ):
                    if client.protocol_version in MODERN_PROTOCOL_VERSIONS and _announces(client):
                        await tg.start(self._listen, client)
                    self._client = client
                    ready.set_result(None)
                    await self._stop.wait()
                    tg.cancel_scope.cancel()
            if not ready.done():
                ready.cancel()
        except BaseException as exc:
            if not ready.done():
                if isinstance(exc, asyncio.CancelledError):
                    ready.cancel()
                else:
                    ready.set_exception(exc)
            elif not isinstance(exc, asyncio.CancelledError):
                logger.debug("MCP session ended: %s", describe(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._client = None
            self.alive = False

    async def _listen(self, client: Client, *, task_status: TaskStatus[None]) -> None:
        # 2026-era servers send change notifications only on a subscriptions/listen stream;
        # they then reach _on_message like the older, unsolicited ones.
        started = False
        try:
            async with client.listen(tools_list_changed=True) as sub:
                task_status.started()
                started = True
                async for _event in sub:
                    self._on_tools_changed()
        except Exception as exc:  # a lost subscription must not end the session
            logger.debug("MCP tools/list_changed subscription ended: %s", describe(exc))
        if not started:
            task_status.started()

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, mt.ToolListChangedNotification):
            self._on_tools_changed()
        await anyio.lowlevel.checkpoint()

    def hung_up(self) -> bool:
        """Whether the server closed its end while the session sat idle (a stdio server
        that exited between runs): the session is then useless, though no call failed."""
        try:
            dispatcher = getattr(self._live_client().session, "_dispatcher", None)
        except (ConnectionLost, RuntimeError):
            return True
        # The SDK has no public flag for this; its dispatcher sets ``_closed`` at the end
        # of the read stream. Read defensively: were it renamed, only this early notice is
        # lost (the next call then fails as "lost" and the one after reconnects).
        return getattr(dispatcher, "_closed", False) is True

    def _live_client(self) -> Client:
        if self._client is None or not self.alive:
            raise ConnectionLost("the MCP session is closed")
        return self._client

    async def list_tools(self, within: float | None) -> list[mt.Tool]:
        """Every tool the server lists, all pages, bypassing the SDK's response cache.

        Raises:
            TimeoutError: The listing took longer than ``within`` seconds (a server that
                never answers ``tools/list`` must not hang every run).
        """
        client = self._live_client()
        tools: list[mt.Tool] = []
        cursor: str | None = None
        seen: set[str] = set()
        try:
            with anyio.fail_after(within):
                for _ in range(_PAGE_CAP):
                    page = await client.list_tools(cursor=cursor, cache_mode="refresh")
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if cursor is None or cursor in seen:  # a cursor seen before: a loop
                        break
                    seen.add(cursor)
        except Exception as exc:
            raise self._classify(exc) from exc
        return tools

    async def call_tool(
        self, name: str, arguments: dict[str, Any], read_timeout: float | None
    ) -> mt.CallToolResult:
        """Call a tool.

        Raises:
            TimeoutError: No answer within ``read_timeout`` seconds.
            ConnectionLost: The session broke (it is then dead; reconnect).
            mcp.shared.exceptions.MCPError: A protocol error the server answered.
            pydantic.ValidationError: The server's answer is not a valid result.
            RuntimeError: Its structured content does not match the tool's outputSchema.
        """
        client = self._live_client()
        try:
            return await client.call_tool(name, arguments, read_timeout_seconds=read_timeout)
        except Exception as exc:
            raise self._classify(exc) from exc

    def _classify(self, exc: Exception) -> Exception:
        if isinstance(exc, SDKError):
            if exc.code == REQUEST_TIMEOUT:
                return TimeoutError(exc.message)
            if exc.code != CONNECTION_CLOSED:
                return exc
        elif isinstance(exc, (TimeoutError, ValidationError)):
            # An answer the SDK found invalid came over a session that still works.
            return exc
        elif isinstance(exc, RuntimeError) and self._client is not None and self._owner_runs():
            # So is structured content that breaks the tool's outputSchema (the SDK raises
            # RuntimeError); the session is gone only once its owner task has ended.
            return exc
        # Anything else (a closed stream, an HTTP failure...) means the session is gone.
        self.alive = False
        self._stop.set()
        return ConnectionLost(describe(exc))

    def _owner_runs(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        """End the session (the owner task exits the SDK client) and wait for it."""
        self.alive = False
        self._stop.set()
        task = self._task
        if task is None or task.done():
            return
        if self._client is None and self._scope is not None:
            self._scope.cancel()  # still starting: _stop is not watched yet
        try:
            await asyncio.wait_for(asyncio.shield(task), 10)
        except (asyncio.TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def _announces(client: Client) -> bool:
    tools = client.server_capabilities.tools
    return bool(tools is not None and tools.list_changed)


def describe(exc: BaseException) -> str:
    """A one-line description of ``exc``, looking inside exception groups."""
    # An exception group (builtin from 3.11, anyio's backport before) names its first leaf.
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
