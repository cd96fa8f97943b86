"""The client and the emulator against the provider's wire format: edge cases of the
exchange (cassettes, Retry-After, error bodies, base URLs), sync and async alike."""

from __future__ import annotations

import time
from collections.abc import Iterator
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


async def create(kind: str, sleeps: list[float] | None = None, **options: Any) -> Any:
    """``create(USER)`` through a ``Client`` or an ``AsyncClient`` built with ``options``;
    retry waits are appended to ``sleeps`` instead of slept."""
    options.setdefault("api_key", KEY)
    options.setdefault("base_url", "http://provider/v1")
    waits = sleeps if sleeps is not None else []
    if kind == "sync":
        with Client(**options) as client:
            client._sleep = waits.append
            return client.create(USER)

    async def sleep(delay: float) -> None:
        waits.append(delay)

    async with AsyncClient(**options) as async_client:
        async_client._sleep = sleep
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


# --------------------------------------------------------------------------- Retry-After


@pytest.fixture
def shanghai_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone is UTC+8, as for most of the provider's users."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "form",
    ["%a %b %d %H:%M:%S %Y", "%a, %d %b %Y %H:%M:%S -0000", "%A, %d-%b-%y %H:%M:%S GMT"],
    ids=["asctime", "minus-zero", "rfc850"],
)
async def test_retry_after_as_an_http_date_is_utc_whatever_the_local_zone(
    kind: str, shanghai_time: None, form: str
) -> None:
    # RFC 9110 makes recipients accept all three HTTP-date forms, all in UTC. The asctime
    # one carries no zone: it was read as local time, 8 hours off, and the retry went at once.
    when = time.strftime(form, time.gmtime(time.time() + 6))
    replies = [
        httpx.Response(429, headers={"retry-after": when}, json={"error": {"type": "rate"}}),
        httpx.Response(200, json=answer("ok")),
    ]
    sleeps: list[float] = []
    transport = httpx.MockTransport(lambda request: replies.pop(0))
    await create(kind, sleeps, transport=transport)
    assert len(sleeps) == 1 and 4 <= sleeps[0] <= 6
