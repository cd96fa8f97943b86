"""The listening socket of the commands that serve HTTP (``emulator``, ``serve``).

The socket is bound and listening before the banner is printed and is then handed to
uvicorn, so a busy port is a one-line error instead of uvicorn's own after the banner, and
``--port 0`` announces the port it got.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from agentkit.cli import PROG
from agentkit.cli.output import CLIError

if TYPE_CHECKING:
    import socket

# errno of "address already in use" on Linux, macOS and Windows
_IN_USE = (98, 48, 10048)


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (port 0: a free one), for uvicorn to serve.

    Raises:
        CLIError: ``host`` does not resolve (2), or the port cannot be bound (1).
    """
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CLIError(f"--host {host!r}: {exc.strerror}", 2) from None
    # proto is TCP here: asyncio sets TCP_NODELAY on accepted sockets only then
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share a port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # listening now, not when uvicorn starts: a client that read the banner and
        # connects at once waits in the backlog instead of being refused
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "is in use" if exc.errno in _IN_USE else f"cannot be used ({exc})"
        raise CLIError(f"port {port} on {host} {reason}; pick another with --port") from None
    return sock


def announce(command: str, what: str, sock: socket.socket, path: str) -> None:
    """Print ``agentkit COMMAND: WHAT at URL — Ctrl-C stops it`` with the port ``sock`` got."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"{PROG} {command}: {what} at http://{shown}:{port}{path} — Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
