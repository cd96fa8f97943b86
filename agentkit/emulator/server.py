"""Serve the emulator over real HTTP with uvicorn (imported only here, only when called)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

from agentkit.emulator.core import Emulator, emulator_from
from agentkit.errors import UserError

__all__ = ["EmulatorServer", "serve"]


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise UserError(
            "serving the emulator over HTTP needs uvicorn: pip install 'agentkit-lean[emulator]'"
        ) from None
    return uvicorn


def _config(app: Emulator, log_level: str, **extra: Any) -> Any:
    uvicorn = _uvicorn()
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws="none",
        # keep-alive longer than any client pool idle time, so pooled connections stay valid
        timeout_keep_alive=30,
        **extra,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    emulator: Emulator | None = None,
    log_level: str = "warning",
    sock: socket.socket | None = None,
    **options: Any,
) -> None:
    """Run the emulator as an HTTP server until interrupted (blocking; Ctrl-C stops it).

    Args:
        host: Interface to bind (loopback by default; the emulator has no real security).
        port: TCP port.
        emulator: The emulator to serve; by default one built from ``options``.
        log_level: uvicorn's log level.
        sock: A socket already bound (to ``host:port``) to serve on instead of binding one.
        **options: :class:`Emulator` keyword arguments when ``emulator`` is not given;
            ``record_requests`` defaults to False here: nothing could read the bodies of a
            server that runs until interrupted, and keeping them grows without bound.

    Raises:
        UserError: uvicorn is not installed, or both ``emulator`` and ``options`` are given.
    """
    if emulator is None:
        options.setdefault("record_requests", False)
    app = emulator_from(emulator, options, "serve()")
    server = _uvicorn().Server(_config(app, log_level, host=host, port=port))
    server.run(sockets=None if sock is None else [sock])


class EmulatorServer:
    """The emulator on a loopback port, in a background thread; a context manager.

    Args:
        emulator: The emulator to serve; by default one built from ``options``.
        host: Interface to bind.
        port: TCP port; 0 picks a free one (read it back from ``port``/``base_url``).
        **options: :class:`Emulator` keyword arguments when ``emulator`` is not given.

    Example:
        >>> with EmulatorServer() as server:  # doctest: +SKIP
        ...     httpx.get(server.base_url + "/models", headers={"Authorization": "Bearer k"})
    """

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        **options: Any,
    ) -> None:
        self.emulator = emulator_from(emulator, options, "EmulatorServer")
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
        # without it every answer waits ~40 ms for a delayed ACK (Nagle)
        self._socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        # log_config=None: do not reconfigure the host process's logging
        self._server = _uvicorn().Server(_config(self.emulator, log_level, log_config=None))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Start serving; returns once the server accepts connections."""
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name=f"agentkit-emulator-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise UserError(f"the emulator server on port {self.port} did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
