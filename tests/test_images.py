"""Image parts: MIME detection from bytes, inputs, both part shapes, limits."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from agentkit.errors import UserError
from agentkit.images import detect_mime, image_part, to_data_url, user_message

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 24
GIF = b"GIF89a" + b"\0" * 24
WEBP = b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a" + b"\0" * 4, "image/gif"),
        (WEBP, "image/webp"),
        (b"RIFF\0\0\0\0WAVEfmt ", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_detect_mime(data: bytes, mime: str | None) -> None:
    assert detect_mime(data) == mime


def test_bytes_to_data_url() -> None:
    assert to_data_url(PNG) == f"data:image/png;base64,{b64(PNG)}"
    assert to_data_url(bytearray(JPEG)).startswith("data:image/jpeg;base64,")


def test_path_str_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "cat.bin"  # the name's suffix does not matter
    path.write_bytes(GIF)
    assert to_data_url(path) == f"data:image/gif;base64,{b64(GIF)}"
    assert to_data_url(str(path)) == to_data_url(path)


def test_data_url_mime_comes_from_the_bytes() -> None:
    url = f"data:image/jpeg;base64,{b64(PNG)}"
    assert to_data_url(url) == f"data:image/png;base64,{b64(PNG)}"


def test_non_image_bytes_are_rejected() -> None:
    with pytest.raises(UserError, match=r"not a PNG, JPEG, GIF or WebP image .*%PDF"):
        to_data_url(b"%PDF-1.7 ...")


def test_size_limit(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="over the limit of 10 bytes"):
        to_data_url(PNG, max_bytes=10)
    path = tmp_path / "big.png"
    path.write_bytes(PNG)
    with pytest.raises(UserError, match=r"big\.png.*over the limit of 10 bytes"):
        to_data_url(path, max_bytes=10)
    with pytest.raises(UserError, match="over the limit"):
        to_data_url(f"data:image/png;base64,{b64(PNG)}", max_bytes=10)


def test_special_files_are_refused_before_they_are_read(tmp_path: Path) -> None:
    # /dev/zero stats as 0 bytes and never ends; opening a FIFO waits for a writer.
    with pytest.raises(UserError, match=r"'/dev/zero' is not a regular file"):
        to_data_url("/dev/zero", max_bytes=1024)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="is not a regular file"):
        to_data_url(fifo)
    with pytest.raises(UserError, match="is not a regular file"):
        to_data_url(tmp_path)


def test_the_size_message_says_the_size_once() -> None:
    with pytest.raises(UserError) as info:
        to_data_url(PNG, max_bytes=10)
    assert str(info.value).startswith(f"Image given as bytes is {len(PNG):,} bytes, over")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"Cannot read image .*nope\.png"):
        to_data_url(tmp_path / "nope.png")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("data:image/png,rawdata", "not base64"),
        ("data:image/png;base64,@@@@", "invalid base64"),
    ],
)
def test_bad_data_urls(url: str, match: str) -> None:
    with pytest.raises(UserError, match=match):
        to_data_url(url)


def test_remote_url_is_refused_with_advice() -> None:
    with pytest.raises(UserError, match="remote URL"):
        to_data_url("https://example.com/cat.png")


def test_wrong_type() -> None:
    with pytest.raises(UserError, match="'int'"):
        to_data_url(42)  # type: ignore[arg-type]


def test_both_part_shapes() -> None:
    url = f"data:image/png;base64,{b64(PNG)}"
    assert image_part(PNG) == {"type": "image", "image": url}
    assert image_part(PNG, shape="image_url") == {"type": "image_url", "image_url": {"url": url}}
    with pytest.raises(UserError, match="'png'"):
        image_part(PNG, shape="png")  # type: ignore[arg-type]


def test_user_message() -> None:
    assert user_message("hi") == {"role": "user", "content": "hi"}
    msg = user_message("分析这张图片", [PNG, JPEG])
    assert msg["role"] == "user"
    assert msg["content"][0] == {"type": "text", "text": "分析这张图片"}
    assert [p["type"] for p in msg["content"]] == ["text", "image", "image"]
    assert msg["content"][2]["image"].startswith("data:image/jpeg;base64,")
    single = user_message("x", PNG, shape="image_url")
    assert single["content"][1]["type"] == "image_url"
