"""A user message's content parts (AG-UI ``RunAgentInput``) as an agentkit prompt.

AG-UI 1.0 lets ``content`` be a list of parts: ``{"type": "text", "text"}``, media parts
with a ``source`` (``{"type": "data", "value": <base64>, "mimeType"}`` or ``{"type":
"url", "value"}``), and before 1.0 ``{"type": "binary", "mimeType", "data"?, "url"?}``.
Text parts become the prompt's text; images become agentkit image parts
(``agentkit.images``), whose MIME type comes from the bytes, never from the request.
Anything else is refused by name: a model cannot be handed a part it will not read.
"""

from __future__ import annotations

from typing import Any

from agentkit.errors import UserError
from agentkit.images import image_part
from agentkit.messages import Message
from agentkit.web._errors import BadRequest

__all__ = ["prompt_from_parts", "prompt_text"]

_BYTES_ONLY = (
    "an image part must carry its bytes (a base64 data source or a data: URL); the model "
    "takes base64 images only, and the server fetches no URLs"
)


def _image_source(part: dict[str, Any]) -> str | None:
    """The image of a media or binary part as a data URL, or ``None`` if it is no image."""
    if part["type"] == "image":
        source = part.get("source")
        if not isinstance(source, dict) or not isinstance(source.get("value"), str):
            raise BadRequest('an image part needs a "source" with a string "value"')
        kind, value = source.get("type"), source["value"]
    else:  # the pre-1.0 binary part; only images have a natural agentkit part
        mime = part.get("mimeType", part.get("mime_type"))
        if not (isinstance(mime, str) and mime.lower().startswith("image/")):
            return None
        data, url = part.get("data"), part.get("url")
        kind, value = ("data", data) if isinstance(data, str) else ("url", url)
        if not isinstance(value, str):
            raise BadRequest(_BYTES_ONLY)
    if kind == "data":
        return f"data:image;base64,{value}"  # the bytes decide the real MIME type
    if kind == "url" and value[:5].lower() == "data:":
        return str(value)
    raise BadRequest(_BYTES_ONLY)


def _part(part: Any, n: int) -> dict[str, Any]:
    """One request part as an agentkit content part."""
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise BadRequest(f'content part {n} must be an object with a string "type"')
    if part["type"] == "text":
        if not isinstance(part.get("text"), str):
            raise BadRequest(f'content part {n} (text) needs a string "text"')
        return {"type": "text", "text": part["text"]}
    url = _image_source(part) if part["type"] in ("image", "binary") else None
    if url is None:
        raise BadRequest(
            f"content part {n} has type {part['type']!r}, which this server does not "
            "accept (text parts and image parts do)",
            code="unsupported_content",
        )
    try:
        return image_part(url)
    except UserError as exc:
        raise BadRequest(f"content part {n}: {exc}") from None


def prompt_from_parts(parts: list[Any]) -> str | Message:
    """The prompt of a user message whose content is ``parts``: its text joined into a
    ``str`` when it holds only text, else a user message of text and image parts."""
    converted = [_part(part, n) for n, part in enumerate(parts)]
    if all(p["type"] == "text" for p in converted):
        return "".join(p["text"] for p in converted)
    return {"role": "user", "content": converted}


def prompt_text(prompt: str | Message) -> str:
    """The text of a prompt (a user message's text parts, joined)."""
    if isinstance(prompt, str):
        return prompt
    content = prompt["content"]
    if isinstance(content, str):
        return content
    return "".join(p["text"] for p in content if p.get("type") == "text")
