"""The client and the emulator against the provider's wire format: edge cases of the
exchange (cassettes, Retry-After, error bodies, base URLs), sync and async alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from agentkit import AsyncClient, Client
from agentkit.emulator import EmulatorTransport

KEY = "sk-wire-0123456789-SECRET"
USER = [{"role": "user", "content": "你好"}]


def answer(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl_1",
        "object": "chat.completion",
        "model": "gpt-5.4-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def create(kind: str, **options: Any) -> Any:
    """``create(USER)`` through a ``Client`` or an ``AsyncClient`` built with ``options``."""
    options.setdefault("api_key", KEY)
    options.setdefault("base_url", "http://provider/v1")
    if kind == "sync":
        with Client(**options) as client:
            return client.create(USER)
    async with AsyncClient(**options) as async_client:
        return await async_client.create(USER)


# --------------------------------------------------------------------------- cassettes


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"])
async def test_a_cassette_replays_an_answer_holding_a_unicode_line_separator(
    kind: str, tmp_path: Path, char: str
) -> None:
    # The recorder writes JSON with ensure_ascii=False, so these stay raw inside a line;
    # str.splitlines() cut the line there and the cassette would not load.
    text = f"one{char}two"
    cassette = tmp_path / "run.jsonl"
    live = httpx.MockTransport(lambda request: httpx.Response(200, json=answer(text)))
    recorded = await create(kind, transport=live, record_to=cassette)
    assert recorded.message.content == text
    replayed = await create(kind, transport=EmulatorTransport(cassette=cassette))
    assert replayed.message.content == text
