"""An image question: a PNG sent as a base64 ``image`` content part.

Run it::

    python examples/vision_agent.py                # a generated 8x8 PNG
    python examples/vision_agent.py photo.png      # your own image

The provider takes images as ``{"type": "image", "image": "data:image/png;base64,..."}``
parts; ``client.user_message(text, images)`` builds that part (or OpenAI's ``image_url``
shape with ``Client(image_part="image_url")``). The offline emulator cannot see images
and says so: it only confirms how many arrived.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from agentkit import Agent
from agentkit.testing import auto_client


def make_png(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG: an orange square with a white diagonal, built in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"  # filter type "none" for each scanline
        + b"".join(b"\xff\xff\xff" if x == y else b"\xff\x8c\x00" for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def main(argv: list[str]) -> None:
    image: bytes | Path = Path(argv[0]) if argv else make_png()
    client = auto_client()
    message = client.user_message("分析这张图片", images=[image])
    part = message["content"][1]
    data_url = part.get("image") or part["image_url"]["url"]
    print(f"sent a {part['type']!r} part: {data_url[:40]}... ({len(data_url)} characters)")
    result = Agent(client=client).run_sync(message)
    print(result.output)


if __name__ == "__main__":
    main(sys.argv[1:])
