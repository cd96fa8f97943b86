"""``Client`` and ``AsyncClient``: the Chat Completions API over httpx.

The package's modules, each with one job:

- ``request``: pure request building (headers, body, tool definitions).
- ``retry``: ``RetryPolicy``, the one place that decides retries, waits and the deadline.
- ``response``: what a response or a transport failure means (typed, redacted errors).
- ``sse``, ``chunks``, ``stream_core``: decoding a stream, as pure code.
- ``recording``: the cassette writer and ``RecordingTransport`` (``record_to=``).
- ``sync``, ``async_``: the two thin send loops that only send, read and sleep.

The names load on first use: an async program never loads the sync client, and a program
that never streams never loads the stream decoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit._lazy import exports

if TYPE_CHECKING:
    from agentkit.client.async_ import AsyncClient
    from agentkit.client.async_stream import AsyncChatStream
    from agentkit.client.retry import RetryPolicy
    from agentkit.client.sync import Client
    from agentkit.client.sync_stream import ChatStream
    from agentkit.params import ChatParams

__all__ = ["AsyncChatStream", "AsyncClient", "ChatParams", "ChatStream", "Client", "RetryPolicy"]

__getattr__ = exports(
    __name__,
    {
        "AsyncChatStream": "agentkit.client.async_stream",
        "AsyncClient": "agentkit.client.async_",
        "ChatParams": "agentkit.params",
        "ChatStream": "agentkit.client.sync_stream",
        "Client": "agentkit.client.sync",
        "RetryPolicy": "agentkit.client.retry",
    },
)
