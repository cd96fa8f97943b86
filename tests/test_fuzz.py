"""Bad input, fuzzed: the SSE decoder, tool arguments and the emulator never fail untyped.

Example counts come from a hypothesis profile: ``ci`` (default, 2,000 examples per
property) or ``fuzz`` (100,000; ``tools/fuzz.py`` selects it with
``AGENTKIT_FUZZ_PROFILE=fuzz``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
from typing import Any, Literal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agentkit.client import Client
from agentkit.context import RunContext
from agentkit.errors import APIError, APIResponseError, APIStatusError, ToolArgumentsError
from agentkit.streaming import ChunkAccumulator, SSEDecoder, parse_chunk
from agentkit.testing import ScriptedModel
from agentkit.tool import Tool, tool
from tests._reliability_support import KEY, shared_server
from tests.test_emulator_fuzz import _check, chat_bodies, json_values

settings.register_profile(
    "ci",
    max_examples=2_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("fuzz", settings.get_profile("ci"), max_examples=100_000)
PROFILE = os.environ.get("AGENTKIT_FUZZ_PROFILE", "ci")
FUZZ = settings(settings.get_profile(PROFILE))
# Over real HTTP each example costs a round trip: a tenth of the examples.
FUZZ_HTTP = settings(FUZZ, max_examples=max(FUZZ.max_examples // 10, 1))

# ---------------------------------------------------------------- the SSE decoder

# Pieces an SSE stream is made of, so that random streams often look almost right.
_SSE_PIECES = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"data: [DONE]",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b": keep-alive",
        b"event: x",
        b"id: 1",
        b"retry: 5",
        b"\xef\xbb\xbf",
        "\u2028".encode(),
        "你好".encode()[:4],
        b'{"choices":[{"delta":{"content":"hi"}}]}',
        b'{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":'
        b'{"name":"f","arguments":"{\\"a\\":"}}]}}]}',
        b'{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]},'
        b'"finish_reason":"tool_calls"}]}',
        b'{"error":{"message":"boom","type":"server_error"}}',
        b'{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}',
        b'{"choices":"no"}',
        b'{"choices":[{"delta":{"content":7}}]}',
        b"[1,2]",
        b"null",
        b"{",
    ]
)
_streams = st.one_of(
    st.binary(max_size=400),
    st.lists(_SSE_PIECES | st.binary(max_size=8), max_size=40).map(b"".join),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _decode(pieces: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    payloads: list[str] = []
    for piece in pieces:
        payloads.extend(decoder.feed(piece))
    payloads.extend(decoder.flush())
    return payloads


@FUZZ
@given(_streams, st.lists(st.integers(0, 1_000), max_size=12))
def test_sse_bytes_give_payloads_or_a_typed_stream_error(data: bytes, cuts: list[int]) -> None:
    payloads = _decode(_split(data, cuts))
    assert all(isinstance(p, str) for p in payloads)
    assert payloads == _decode([data])  # the chunking never changes the events
    accumulator = ChunkAccumulator()
    for payload in payloads:
        if payload == "[DONE]":
            break
        try:
            accumulator.add(parse_chunk(payload))
        except (APIResponseError, APIStatusError):
            continue  # the typed stream errors
    completion = accumulator.completion()
    for choice in completion.choices:
        assert isinstance(choice.message.content, (str, type(None)))


@pytest.mark.parametrize(
    "data",
    [b"\x00\rdata:\x00\n\x00", b"x\rdata: a\n\ndata: b\n\n", b"data: a\r\rdata: b\n\n"],
)
def test_a_cr_inside_a_feed_does_not_swallow_the_next_feeds_lf(data: bytes) -> None:
    # Found by the fuzzer: a CR that ended a *line* inside a feed (not the feed itself) made
    # the decoder drop an LF at the start of the next feed, merging two events.
    whole = _decode([data])
    for i in range(len(data) + 1):
        assert _decode([data[:i], data[i:]]) == whole, i


_served: list[bytes] = [b""]


def _serve_stream(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_served[0])


_STREAM_CLIENT = Client(
    KEY, "http://fuzz.invalid/v1", max_retries=0, transport=ScriptedModel(_serve_stream)
)


@FUZZ
@given(_streams)
def test_client_stream_of_any_bytes_raises_only_api_errors(data: bytes) -> None:
    _served[0] = data
    try:
        with _STREAM_CLIENT.stream([{"role": "user", "content": "hi"}]) as stream:
            for _ in stream:
                pass
            stream.accumulator.completion()
    except APIError:
        pass


# ---------------------------------------------------------------- tool arguments


class Spot(BaseModel):
    name: str
    lat: float


@dataclasses.dataclass
class Window:
    start: int
    end: int | None = None


@tool
def plain(city: str, days: int = 1, unit: Literal["c", "f"] = "c") -> str:
    """Forecast.

    Args:
        city: The city.
        days: How many days.
        unit: The unit.
    """
    return f"{city}{days}{unit}"


@tool
def nested(ctx: RunContext[None], spot: Spot, tags: list[str], window: Window | None = None) -> str:
    """Mark a spot.

    Args:
        spot: The spot.
        tags: Labels.
        window: When.
    """
    return "ok"


@tool(strict=True)
def strict(flag: bool, ratio: float, note: str | None = None) -> str:
    """Strict tool.

    Args:
        flag: A flag.
        ratio: A ratio.
        note: A note.
    """
    return "ok"


TOOLS: list[Tool[Any, Any]] = [plain, nested, strict]
_text = st.text(max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["city", "days", "unit", "spot", "tags", "window", "ctx", "flag", "ratio", "note", "x"]
)
# Objects using the tools' own argument names, so many examples get deep into validation.
_objects = st.dictionaries(_keys | _text, _json, max_size=6)
_arguments = st.one_of(
    _objects,
    _objects.map(json.dumps),
    _json,
    _json.map(json.dumps),
    st.text(max_size=40),
    st.none(),
)


@FUZZ
@given(st.sampled_from(TOOLS), _arguments)
def test_any_arguments_validate_or_raise_tool_arguments_error(
    subject: Tool[Any, Any], arguments: Any
) -> None:
    try:
        kwargs = subject.validate_arguments(arguments)
    except ToolArgumentsError as exc:
        assert exc.tool_name == subject.name and exc.errors
        assert len(str(exc)) < 2_000  # compact, whatever the input
        return
    # accepted: only the tool's own parameters, never the context
    assert set(kwargs) <= set(subject.parameters["properties"])
    assert "ctx" not in kwargs
    ctx = RunContext(None) if subject.takes_context else None
    assert subject.invoke_sync(kwargs, ctx) is not None


# ---------------------------------------------------------------- the emulator


@FUZZ
@given(json_values)
def test_emulator_arbitrary_json_never_500(body: Any) -> None:
    _check(body)  # tests/test_emulator_fuzz.py's check, at the CI example count


@FUZZ
@given(chat_bodies)
def test_emulator_chat_shaped_bodies_never_500(body: dict[str, Any]) -> None:
    _check(body)


@pytest.fixture(scope="module")
def http() -> Any:
    server = shared_server()
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    ) as client:
        yield client


@FUZZ_HTTP
@given(body=st.one_of(chat_bodies, json_values))
def test_emulator_over_loopback_never_500(http: httpx.Client, body: Any) -> None:
    r = http.post("/chat/completions", content=json.dumps(body).encode())
    assert r.status_code in (200, 400), (body, r.status_code, r.text[:200])
    if r.status_code == 400:
        assert r.json()["error"]["type"] == "invalid_request_error"


# ---------------------------------------------------------------- nested JSON depth

# Fewer examples: each builds text up to tens of kilobytes deep.
FUZZ_DEEP = settings(FUZZ, max_examples=max(FUZZ.max_examples // 10, 1))
_openers = st.sampled_from(["[", '{"a":', '{"spot":', '{"x":[', "[{}, "])


def _nested(opener: str, depth: int, leaf: str) -> str:
    closer = "".join({"[": "]", "{": "}"}[c] for c in opener if c in "[{")[::-1]
    return opener * depth + leaf + closer * depth


_raw_tool = Tool.from_schema(
    "raw", "A raw-schema tool.", {"type": "object", "properties": {"a": {}}}, lambda **kw: "ok"
)


@FUZZ_DEEP
@given(_openers, st.integers(1, 30_000), st.sampled_from(["1", '"x"', "null", "[]"]))
def test_json_nested_to_any_depth_gives_only_typed_errors(
    opener: str, depth: int, leaf: str
) -> None:
    from agentkit._json import loads
    from agentkit.agent.output import OutputSpec

    text = _nested(opener, depth, leaf)
    with contextlib.suppress(ValueError):  # never a RecursionError
        loads(text)
    for subject in (*TOOLS, _raw_tool):
        with contextlib.suppress(ToolArgumentsError):
            subject.validate_arguments(text)
    with contextlib.suppress(ValueError):  # becomes OutputValidationError after the retries
        OutputSpec(list[int], "json_object").validate(text)
    with contextlib.suppress(APIResponseError):
        parse_chunk(text)
    _served[0] = b"data: " + text.encode() + b"\n\ndata: [DONE]\n\n"
    try:
        with _STREAM_CLIENT.stream([{"role": "user", "content": "hi"}]) as stream:
            for _ in stream:
                pass
    except APIError:
        pass


# ---------------------------------------------------------------- run-together SSE lines


@FUZZ_DEEP
@given(
    st.lists(st.integers(0, 20_000), min_size=1, max_size=60),
    st.lists(st.integers(0, 2_000_000), max_size=8),
)
def test_run_together_events_of_random_sizes_decode_whole_in_linear_time(
    sizes: list[int], cuts: list[int]
) -> None:
    import time

    events = [json.dumps({"choices": [{"delta": {"content": "x" * n}}]}) for n in sizes]
    line = ("data: " + "data: ".join(events) + "\n\n").encode()
    start = time.perf_counter()
    payloads = _decode(_split(line, cuts))
    took = time.perf_counter() - start
    assert payloads == events  # every event, in order, none merged or cut
    # Linear: well under a second per MiB even on a loaded CI machine (quadratic decoding
    # took 7 s for 1 MiB).
    assert took < 0.5 + len(line) / 2**20, (len(line), took)
