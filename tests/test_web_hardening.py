"""chat_app against hostile input: bodies that nest too deeply, text that is not valid
Unicode; on the in-memory store and a real SQLiteStore."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from test_web_app import store  # noqa: F401 (fixture)
from test_web_approval import http, refunded  # noqa: F401 (fixtures)

JSON = {"content-type": "application/json"}
POSTS = ["/chat", "/chat/stream", "/sessions/s1/approve"]


def _error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 50_000, b"[" * 65 + b"]" * 65])
async def test_deeply_nested_json_is_a_400(
    http: httpx.AsyncClient,  # noqa: F811
    path: str,
    body: bytes,
) -> None:
    r = await http.post(path, content=body, headers=JSON)
    assert _error(r) == (400, "bad_json")
    assert "nests deeper" in r.json()["error"]["message"]


async def test_nesting_within_the_limit_is_still_parsed(
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    nested: Any = "x"
    for _ in range(60):
        nested = [nested]
    r = await http.post("/chat", json={"message": "查询北京天气", "extra": nested})
    assert r.status_code == 200, r.text
