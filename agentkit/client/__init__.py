"""``Client`` and ``AsyncClient``: the Chat Completions API over httpx.

The package's modules, each with one job:

- ``request``: pure request building (headers, body, tool definitions).
- ``retry``: ``RetryPolicy``, the one place that decides retries, waits and the deadline.
- ``response``: what a response or a transport failure means (typed, redacted errors).
- ``sse``, ``chunks``, ``stream_core``: decoding a stream, as pure code.
- ``recording``: the cassette writer and ``RecordingTransport`` (``record_to=``).
- ``sync``, ``async_``: the two thin send loops that only send, read and sleep.
"""

from __future__ import annotations

from agentkit.client.async_ import AsyncChatStream, AsyncClient
from agentkit.client.retry import RetryPolicy
from agentkit.client.sync import ChatStream, Client
from agentkit.params import ChatParams

__all__ = ["AsyncChatStream", "AsyncClient", "ChatParams", "ChatStream", "Client", "RetryPolicy"]
