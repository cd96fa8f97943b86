"""Micro-benchmarks of agentkit's hot paths, each beside the floor it adds to.

Run: ``.venv/bin/python tools/bench_micro.py``. The data are the emulator's real answers for
the benchmark scenario (``tools/bench.py``): a ``get_weather`` tool call, then a reply.

- response parsing: ``ChatCompletion.from_dict`` on a decoded body, next to ``json.loads``;
- SSE decoding: ``SSEDecoder.feed`` per event, bytes fed as the server wrote them;
- chunk parsing and delta accumulation: ``parse_chunk`` and ``ChunkAccumulator.add``;
- request building: ``AsyncClient._prepare_chat`` (body, JSON encoding, headers);
- tool decoration and ``Tool.call`` overhead: ``tools/bench_tools.py``, run last.

Figures are the best of several repeats (the machine is shared; the best is the least
disturbed), in µs per operation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import bench_tools  # tools/ is on sys.path when this file is run as a script

from agentkit.client import AsyncClient
from agentkit.messages import ChatCompletion
from agentkit.streaming import ChunkAccumulator, SSEDecoder, parse_chunk
from agentkit.testing import Emulator
from agentkit.tool import tool

PROMPT = "查询北京天气"


def get_weather(city: str) -> dict[str, Any]:
    """查询城市的天气。

    Args:
        city: 城市名，例如 北京。
    """
    return {"city": city, "temperature": 21, "condition": "晴"}


def best(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Best of ``repeat`` timings of ``number`` calls, in seconds per call."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def scenario() -> dict[str, Any]:
    """The emulator's answers to both requests of a run, plain and streamed."""
    emulator = Emulator()
    tools = [tool(get_weather).to_openai()]
    headers = {"authorization": "Bearer k"}

    def answer(messages: list[dict[str, Any]], stream: bool) -> Any:
        body = {"model": "gpt-5.4-mini", "messages": messages, "tools": tools, "stream": stream}
        reply = emulator.handle("POST", "/v1/chat/completions", headers, json.dumps(body).encode())
        return reply.chunks if stream else reply.body

    first = [{"role": "user", "content": PROMPT}]
    call_body = answer(first, False)
    message = json.loads(call_body)["choices"][0]["message"]
    call = message["tool_calls"][0]
    second = [
        *first,
        message,
        {
            "role": "tool",
            "tool_call_id": call["id"],
            "content": json.dumps(get_weather("北京"), ensure_ascii=False),
        },
    ]
    return {
        "bodies": [call_body, answer(second, False)],
        "streams": [answer(first, True), answer(second, True)],
        "messages": second,
        "tools": tools,
    }


def main() -> None:
    data = scenario()
    us = 1e6
    rows: list[tuple[str, float]] = []

    for label, body in zip(("tool call", "reply"), data["bodies"], strict=True):
        decoded = json.loads(body)

        def loads_body(body: bytes = body) -> None:
            json.loads(body)

        def from_dict(decoded: Any = decoded) -> None:
            ChatCompletion.from_dict(decoded)

        size = len(body)
        rows.append((f"json.loads of the {label} response ({size} B)", best(loads_body, 20000)))
        rows.append((f"ChatCompletion.from_dict, {label}", best(from_dict, 20000)))

    for label, chunks in zip(("tool call", "reply"), data["streams"], strict=True):
        events = sum(len(SSEDecoder().feed(c)) for c in chunks)
        payloads = [p for c in chunks for p in SSEDecoder().feed(c) if p != "[DONE]"]
        parsed = [parse_chunk(p) for p in payloads]

        def decode(chunks: list[bytes] = chunks) -> None:
            decoder = SSEDecoder()
            for c in chunks:
                decoder.feed(c)

        def parse(payloads: list[str] = payloads) -> None:
            for p in payloads:
                parse_chunk(p)

        def accumulate(parsed: list[Any] = parsed) -> None:
            acc = ChunkAccumulator()
            for c in parsed:
                acc.add(c)
            acc.completion()

        def loads(payloads: list[str] = payloads) -> None:
            for p in payloads:
                json.loads(p)

        rows.append(
            (
                f"SSEDecoder.feed per event, {label} stream ({events} events)",
                best(decode, 5000) / events,
            )
        )
        rows.append((f"json.loads per chunk, {label} stream", best(loads, 5000) / len(payloads)))
        rows.append((f"parse_chunk per chunk, {label} stream", best(parse, 5000) / len(payloads)))
        rows.append(
            (
                f"ChunkAccumulator.add per chunk (+ completion()), {label}",
                best(accumulate, 5000) / len(parsed),
            )
        )

    client = AsyncClient(api_key="k", base_url="http://127.0.0.1:9/v1")
    messages, tools = data["messages"], data["tools"]

    def prepare() -> None:
        client._prepare_chat(
            messages,
            stream=False,
            model=None,
            extra_body=None,
            extra_headers=None,
            timeout=None,
            params={"tools": tools},
        )

    rows.append(
        (
            "json.dumps of the second request body",
            best(
                lambda: json.dumps(
                    {"model": "m", "messages": messages, "tools": tools}, ensure_ascii=False
                ),
                20000,
            ),
        )
    )
    rows.append(("AsyncClient._prepare_chat, second request", best(prepare, 20000)))

    width = max(len(label) for label, _ in rows)
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds * us:8.2f} µs")
    print("\nTools (tools/bench_tools.py):")
    bench_tools.main()


if __name__ == "__main__":
    main()
