"""Server-sent events and streamed chunks, as pure code (kept importable here).

The implementations live in ``agentkit.client`` (``sse``, ``chunks``) and, for the error
mapping, in ``agentkit.errors``:

- ``SSEDecoder`` turns bytes, fed in any chunking, into the ``data`` payloads of events.
- ``parse_chunk`` turns one payload into a ``ChatCompletionChunk``.
- ``ChunkAccumulator`` builds the final message from the chunks.
- ``error_from_body`` maps an error body (and an HTTP status) to the typed exception.
"""

from __future__ import annotations

from agentkit.client.chunks import ChunkAccumulator, parse_chunk
from agentkit.client.sse import DONE, SSEDecoder
from agentkit.errors import error_from_body

__all__ = ["DONE", "ChunkAccumulator", "SSEDecoder", "error_from_body", "parse_chunk"]
