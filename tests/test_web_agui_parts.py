"""AG-UI ``RunAgentInput`` bodies whose user message ``content`` is a list of parts
(ag-ui-protocol 1.0): text parts, images, and the parts this server refuses by name."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from ag_ui.core import RunAgentInput
from test_web_app import frames, store  # noqa: F401 (fixture)
from test_web_approval import http, refunded  # noqa: F401 (fixtures)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def _input(content: Any, *, validate: bool = True) -> dict[str, Any]:
    body = {
        "threadId": "t1",
        "runId": "r1",
        "state": {},
        "tools": [],
        "context": [],
        "forwardedProps": {},
        "messages": [{"id": "m1", "role": "user", "content": content}],
    }
    if validate:  # the protocol's own model accepts what the test sends
        RunAgentInput.model_validate(body)
    return body


async def _stored_prompt(http: httpx.AsyncClient) -> Any:  # noqa: F811
    [first, *_] = (await http.get("/sessions/t1")).json()["messages"]
    assert first["role"] == "user"
    return first["content"]


async def test_text_parts_are_joined_into_the_prompt(http: httpx.AsyncClient) -> None:  # noqa: F811
    parts = [{"type": "text", "text": "查询"}, {"type": "text", "text": "北京天气"}]
    r = await http.post("/chat/stream", json=_input(parts))
    assert r.status_code == 200, r.text
    events = frames(r.text)
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    assert await _stored_prompt(http) == "查询北京天气"


@pytest.mark.parametrize(
    "image",
    [
        {"type": "image", "source": {"type": "data", "value": PNG_URL.split(",")[1],
                                     "mimeType": "image/jpeg"}},
        {"type": "image", "source": {"type": "url", "value": PNG_URL}},
        {"type": "binary", "mimeType": "image/png", "data": PNG_URL.split(",")[1]},
    ],
)  # fmt: skip
async def test_image_parts_become_agentkit_image_parts(
    http: httpx.AsyncClient,  # noqa: F811
    image: dict[str, Any],
) -> None:
    body = _input([{"type": "text", "text": "这是什么"}, image], validate=image["type"] != "binary")
    r = await http.post("/chat/stream", json=body)
    assert r.status_code == 200, r.text
    # The MIME type comes from the bytes (a PNG), not from what the request declared.
    assert await _stored_prompt(http) == [
        {"type": "text", "text": "这是什么"},
        {"type": "image", "image": PNG_URL},
    ]


@pytest.mark.parametrize(
    ("part", "code", "says"),
    [
        ({"type": "audio", "source": {"type": "data", "value": "AAAA", "mimeType": "audio/wav"}},
         "unsupported_content", "'audio'"),
        ({"type": "document", "source": {"type": "url", "value": "https://x.example/a.pdf"}},
         "unsupported_content", "'document'"),
        ({"type": "image", "source": {"type": "url", "value": "https://x.example/a.png"}},
         "bad_request", "data: URL"),
        ({"type": "image", "source": {"type": "data", "value": "bm90IGFuIGltYWdl",
                                      "mimeType": "image/png"}},
         "bad_request", "not a PNG, JPEG, GIF or WebP"),
        ({"type": "image", "source": {"type": "data", "value": "%%%", "mimeType": "image/png"}},
         "bad_request", "invalid base64"),
    ],
)  # fmt: skip
async def test_parts_it_cannot_use_are_a_400_naming_them(
    http: httpx.AsyncClient,  # noqa: F811
    part: dict[str, Any],
    code: str,
    says: str,
) -> None:
    r = await http.post("/chat/stream", json=_input([{"type": "text", "text": "看"}, part]))
    assert (r.status_code, r.json()["error"]["code"]) == (400, code)
    assert says in r.json()["error"]["message"]
    assert (await http.get("/sessions/t1")).json()["messages"] == []


@pytest.mark.parametrize(
    "parts",
    [[{"type": "video"}], [{"text": "no type"}], [{"type": "text", "text": 5}], ["text"]],
)
async def test_malformed_parts_are_a_400(http: httpx.AsyncClient, parts: Any) -> None:  # noqa: F811
    r = await http.post("/chat/stream", json=_input(parts, validate=False))
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("content part 0")


async def test_a_text_only_part_list_is_held_to_the_length_limit(
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    r = await http.post("/chat", json=_input([{"type": "text", "text": "x" * 40_000}]))
    assert (r.status_code, r.json()["error"]["code"]) == (413, "message_too_long")
