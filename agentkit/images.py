"""Images as message content parts: MIME detection, data URLs and both part shapes.

The provider takes base64 images only, as ``{"type": "image", "image": "data:..."}``;
OpenAI takes ``{"type": "image_url", "image_url": {"url": "data:..."}}``. Both shapes are
built here from a path, raw bytes or a data URL. The MIME type always comes from the bytes
themselves (PNG, JPEG, GIF or WebP), never from a file name or a declared type, and
oversized images are refused before anything is uploaded.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Any, Literal, Union, get_args

from agentkit.errors import UserError

__all__ = [
    "DEFAULT_MAX_IMAGE_BYTES",
    "IMAGE_PART_SHAPES",
    "ImageInput",
    "ImagePartShape",
    "detect_mime",
    "image_part",
    "to_data_url",
    "user_message",
]

DEFAULT_MAX_IMAGE_BYTES = 20 * 2**20
"""The default size limit of one image, in bytes (before base64 encoding)."""

ImagePartShape = Literal["image", "image_url"]
"""``"image"``: the provider's part shape; ``"image_url"``: OpenAI's."""

IMAGE_PART_SHAPES: tuple[ImagePartShape, ...] = get_args(ImagePartShape)
"""Every image part shape, declared once (by ``ImagePartShape``)."""

ImageInput = Union[str, bytes, bytearray, memoryview, "os.PathLike[str]"]
"""A path (``str`` or path-like), the image's bytes, or a ``data:image/...;base64,`` URL."""


def detect_mime(data: bytes) -> str | None:
    """The image MIME type of ``data`` from its leading bytes, or ``None`` if not supported.

    Recognizes PNG, JPEG, GIF and WebP.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _check(data: bytes, where: str, max_bytes: int) -> str:
    _over(len(data), where, max_bytes)
    mime = detect_mime(data)
    if mime is None:
        raise UserError(
            f"Image {where} is not a PNG, JPEG, GIF or WebP image "
            f"(it starts with {bytes(data[:12])!r})"
        )
    return mime


def to_data_url(image: ImageInput, *, max_bytes: int = DEFAULT_MAX_IMAGE_BYTES) -> str:
    """Turn a path, bytes or data URL into a base64 data URL with the detected MIME type.

    Raises:
        UserError: the file is missing, the bytes are not a supported image, the data URL is
            malformed, or the image is larger than ``max_bytes``.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        where = "given as bytes"
    elif isinstance(image, str) and image[:5].lower() == "data:":
        data = _decode_data_url(image)
        where = "given as a data URL"
    elif isinstance(image, str) and image[:8].lower().startswith(("http://", "https://")):
        raise UserError(
            f"Image {image[:100]!r} is a remote URL; pass the image's bytes or a local "
            "path (the provider accepts base64 images only)"
        )
    elif isinstance(image, (str, os.PathLike)):
        where = repr(str(image))
        data = _read_file(Path(image), where, max_bytes)
    else:
        raise UserError(
            f"An image must be a path, bytes or a data URL, not {type(image).__name__!r}"
        )
    mime = _check(data, where, max_bytes)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _read_file(path: Path, where: str, max_bytes: int) -> bytes:
    """The bytes of a regular file, never more than ``max_bytes`` + 1 of them read."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # /dev/zero reports size 0 and never ends; opening a FIFO blocks for a writer.
            raise UserError(f"Image {where} is not a regular file")
        _over(st.st_size, where, max_bytes)
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)  # a file that grew since its stat stays bounded
    except OSError as exc:
        raise UserError(f"Cannot read image {where}: {exc.strerror or exc}") from None
    return data


def _over(size: int, where: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise UserError(
            f"Image {where} is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            "resize it or raise max_image_bytes"
        )


def _decode_data_url(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or not header.lower().endswith(";base64"):
        raise UserError(
            f"Image data URL {url[:40]!r}... is not base64 "
            "(expected 'data:image/<type>;base64,<data>')"
        )
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"Image data URL {url[:40]!r}... holds invalid base64") from None


def image_part(
    image: ImageInput,
    *,
    shape: ImagePartShape = "image",
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
) -> dict[str, Any]:
    """A content part for one image, in the provider's (``"image"``) or OpenAI's shape.

    Raises:
        UserError: for an unknown ``shape`` or any problem ``to_data_url`` reports.
    """
    if shape not in IMAGE_PART_SHAPES:
        raise UserError(f"image_part must be 'image' or 'image_url', not {shape!r}")
    url = to_data_url(image, max_bytes=max_bytes)
    if shape == "image":
        return {"type": "image", "image": url}
    return {"type": "image_url", "image_url": {"url": url}}


def user_message(
    text: str,
    images: ImageInput | list[ImageInput] | tuple[ImageInput, ...] = (),
    *,
    shape: ImagePartShape = "image",
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
) -> dict[str, Any]:
    """A user message with ``text`` followed by ``images`` as content parts.

    With no images the content stays a plain string.

    Raises:
        UserError: for any image that cannot be used (see ``to_data_url``).
    """
    if not isinstance(text, str):
        raise UserError(f"The message text must be a str, not {type(text).__name__!r}")
    if isinstance(images, (str, bytes, bytearray, memoryview, os.PathLike)):
        images = [images]
    if not images:
        return {"role": "user", "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend(image_part(img, shape=shape, max_bytes=max_bytes) for img in images)
    return {"role": "user", "content": parts}
