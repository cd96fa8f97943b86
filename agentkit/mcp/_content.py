"""An MCP tool result as the text of a tool message (pure code, no I/O)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import mcp.types as mt

__all__ = ["result_text"]


def result_text(result: mt.CallToolResult) -> str:
    """The text a model reads for ``result``.

    Text blocks as they are; an image or audio block as a short placeholder naming its MIME
    type and size (a tool message carries text only, and base64 would only waste tokens);
    a resource link as its name and URI; an embedded resource as its text, or a placeholder
    for binary contents. Blocks are joined by newlines. With no content blocks at all,
    ``structuredContent`` as compact JSON.
    """
    parts = [_block_text(block) for block in result.content]
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(parts)


def _block_text(block: Any) -> str:
    if isinstance(block, mt.TextContent):
        return block.text
    if isinstance(block, (mt.ImageContent, mt.AudioContent)):
        kind = "image" if isinstance(block, mt.ImageContent) else "audio"
        return f"[{kind} {block.mime_type}, {_size(block.data)} bytes]"
    if isinstance(block, mt.ResourceLink):
        mime = f", {block.mime_type}" if block.mime_type else ""
        return f"[resource link {block.name!r}: {block.uri}{mime}]"
    if isinstance(block, mt.EmbeddedResource):
        res = block.resource
        if isinstance(res, mt.TextResourceContents):
            return f"[resource {res.uri}]\n{res.text}"
        mime = res.mime_type or "application/octet-stream"
        return f"[resource {res.uri}: {mime}, {_size(res.blob)} bytes]"
    return f"[{getattr(block, 'type', type(block).__name__)} content]"


def _size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)
