"""Serve an agent on the web: ``chat_app`` (needs ``agentkit-lean[web]``) and pure stream encoders.

The encoders turn agentkit's stream events into the payloads of three protocols and need
nothing beyond agentkit: :class:`AgentkitEncoder` (agentkit's own events as JSON SSE),
:class:`VercelEncoder` (the AI SDK's UI message stream, behind ``useChat``) and
:class:`AGUIEncoder` (AG-UI). ``chat_app`` imports Starlette only when it is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentkit.web._common import result_json, sse
from agentkit.web._origins import LOOPBACK_HOSTS, loopback_hosts
from agentkit.web.agentkit_events import AgentkitEncoder, event_json
from agentkit.web.agui import AGUIEncoder
from agentkit.web.encoder import StreamEncoder, encode_stream
from agentkit.web.vercel import VERCEL_HEADER, VercelEncoder

if TYPE_CHECKING:
    from agentkit.web.app import chat_app

__all__ = [
    "LOOPBACK_HOSTS",
    "VERCEL_HEADER",
    "AGUIEncoder",
    "AgentkitEncoder",
    "StreamEncoder",
    "VercelEncoder",
    "chat_app",
    "encode_stream",
    "event_json",
    "loopback_hosts",
    "result_json",
    "sse",
]


def __getattr__(name: str) -> Any:
    if name == "chat_app":
        try:
            from agentkit.web.app import chat_app
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            if exc.name and exc.name.split(".")[0] == "starlette":
                raise ImportError(
                    "agentkit.web.chat_app needs Starlette: pip install 'agentkit-lean[web]'"
                ) from None
            raise
        return chat_app
    raise AttributeError(f"module 'agentkit.web' has no attribute {name!r}")
