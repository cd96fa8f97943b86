"""The pure SSE decoder, chunk parsing and the accumulator."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentkit.errors import (
    APIResponseError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from agentkit.messages import ChatCompletionChunk
from agentkit.streaming import ChunkAccumulator, SSEDecoder, error_from_body, parse_chunk


def decode(*pieces: bytes) -> list[str]:
    decoder = SSEDecoder()
    out: list[str] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.flush())
    return out


def ev(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


# The provider's documented stream, with standard framing.
DOC_STREAM = (
    'data: {"choices":[{"delta":{"content":"Docker"}}]}\n\n'
    'data: {"choices":[{"delta":{"content":" 是一个开源容器平台..."}}]}\n\n'
    "data: [DONE]\n\n"
).encode()

# As the seed document prints it: all events run together on one line.
SEED_LINE = (
    'data: {"choices":[{"delta":{"content":"Docker"}}]}'
    'data: {"choices":[{"delta":{"content":" 是一个开源容器平台..."}}]}data: [DONE]'
).encode()

DOC_PAYLOADS = [
    '{"choices":[{"delta":{"content":"Docker"}}]}',
    '{"choices":[{"delta":{"content":" 是一个开源容器平台..."}}]}',
    "[DONE]",
]


class TestSSEDecoder:
    def test_documented_stream(self) -> None:
        assert decode(DOC_STREAM) == DOC_PAYLOADS

    def test_seed_events_run_together_on_one_line(self) -> None:
        assert decode(SEED_LINE) == DOC_PAYLOADS
        assert decode(SEED_LINE + b"\n") == DOC_PAYLOADS

    def test_run_together_does_not_split_inside_strings(self) -> None:
        inner = ev({"choices": [{"delta": {"content": 'say "}data: x" please data: {}'}}]})
        stream = f"data: {inner}data: [DONE]".encode()
        assert decode(stream) == [inner, "[DONE]"]
        assert decode(f"data: {inner}\n\n".encode()) == [inner]

    def test_crlf_and_cr_line_endings(self) -> None:
        crlf = DOC_STREAM.replace(b"\n", b"\r\n")
        cr = DOC_STREAM.replace(b"\n", b"\r")
        assert decode(crlf) == DOC_PAYLOADS
        assert decode(cr) == DOC_PAYLOADS

    def test_cr_and_lf_split_across_feeds_is_one_line_end(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b'data: {"a":1}\r') == []
        assert decoder.feed(b"\n") == []  # the LF belongs to the CR: no blank line yet
        assert decoder.feed(b"\r\n") == ['{"a":1}']

    def test_comments_and_other_fields_are_ignored(self) -> None:
        stream = b': keep-alive\n\nevent: message\nid: 7\nretry: 10\ndata: {"a":1}\n\n:x\n\n'
        assert decode(stream) == ['{"a":1}']

    def test_multi_line_data_is_joined_with_newlines(self) -> None:
        stream = b'data: {"a":\ndata: 1}\n\n'
        assert decode(stream) == ['{"a":\n1}']
        assert json.loads(decode(stream)[0]) == {"a": 1}

    def test_missing_final_newline(self) -> None:
        assert decode(b'data: {"a":1}') == ['{"a":1}']
        assert decode(b'data: {"a":1}\n') == ['{"a":1}']

    def test_data_without_space_and_bom(self) -> None:
        assert decode(b'\xef\xbb\xbfdata:{"a":1}\n\n') == ['{"a":1}']

    def test_stops_at_done(self) -> None:
        decoder = SSEDecoder()
        out = decoder.feed(b'data: [DONE]\n\ndata: {"late":1}\n\n')
        assert out == ["[DONE]"]
        assert decoder.done
        assert decoder.feed(b'data: {"more":1}\n\n') == []
        assert decoder.flush() == []

    def test_u2028_inside_json_is_not_a_line_break(self) -> None:
        payload = ev({"choices": [{"delta": {"content": "a\u2028b\u2029c\x85d\x0ce"}}]})
        assert decode(f"data: {payload}\n\n".encode()) == [payload]

    def test_empty_events_are_skipped(self) -> None:
        assert decode(b"data:\n\n\n\ndata: \n\n") == []

    def test_large_event_in_many_small_pieces(self) -> None:
        content = "x" * 50_000
        payload = ev({"choices": [{"delta": {"content": content}}]})
        raw = f"data: {payload}\n\n".encode()
        pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]
        assert decode(*pieces) == [payload]


# --------------------------------------------------------------------------- property test

TOOL_STREAM = "".join(
    f"data: {ev(obj)}\r\n\r\n"
    for obj in [
        {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "Héllo \u2028 wörld 你好 🎉"}}]},
        {
            "choices": [
                {
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": ""},
                            }
                        ]
                    }
                }
            ]
        },
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}}]},
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"北京"}'}}]}}
            ]
        },
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {
            "choices": [],
            "usage": {"prompt_tokens": 120, "completion_tokens": 180, "total_tokens": 300},
        },
    ]
)
PROPERTY_STREAM = (": keep-alive\n\n" + TOOL_STREAM + "data: [DONE]\n\n").encode()


def run_stream(pieces: list[bytes]) -> tuple[list[ChatCompletionChunk], ChunkAccumulator]:
    decoder = SSEDecoder()
    acc = ChunkAccumulator()
    chunks: list[ChatCompletionChunk] = []
    payloads: list[str] = []
    for piece in pieces:
        payloads.extend(decoder.feed(piece))
    payloads.extend(decoder.flush())
    for payload in payloads:
        if payload == "[DONE]":
            break
        chunk = parse_chunk(payload)
        acc.add(chunk)
        chunks.append(chunk)
    return chunks, acc


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_any_split_yields_the_same_chunks_and_message(cuts: list[int], newline: str) -> None:
    data = PROPERTY_STREAM.replace(b"\r\n", b"\n").replace(b"\n", newline.encode())
    whole_chunks, whole_acc = run_stream([data])
    chunks, acc = run_stream(split_at(data, cuts))
    assert chunks == whole_chunks
    assert acc.completion() == whole_acc.completion()
    msg = acc.message()
    assert msg.content == "Héllo \u2028 wörld 你好 🎉"
    assert [(c.id, c.name, c.arguments) for c in msg.tool_calls] == [
        ("call_1", "get_weather", '{"city":"北京"}')
    ]
    assert acc.finish_reason == "tool_calls"
    assert acc.usage is not None and acc.usage.total_tokens == 300


def test_split_mid_utf8_character_and_at_crlf() -> None:
    data = PROPERTY_STREAM
    mid_char = data.index("你".encode()) + 1
    at_crlf = data.index(b"\r\n") + 1
    chunks, _ = run_stream(split_at(data, [mid_char, at_crlf]))
    assert data[mid_char - 1 : mid_char + 1].decode("utf-8", "replace") != "你"
    assert chunks == run_stream([data])[0]
    one_byte = run_stream([data[i : i + 1] for i in range(len(data))])[0]
    assert one_byte == chunks


# --------------------------------------------------------------------------- parse_chunk


class TestParseChunk:
    def test_documented_chunk(self) -> None:
        chunk = parse_chunk('{"choices":[{"delta":{"content":"Docker"}}]}')
        assert chunk.id is None and chunk.choices[0].index == 0
        assert chunk.choices[0].delta.content == "Docker"

    def test_bad_json_is_a_response_error(self) -> None:
        with pytest.raises(APIResponseError, match="not valid JSON") as info:
            parse_chunk("{nope")
        assert info.value.body == "{nope"

    @pytest.mark.parametrize(
        ("error", "cls"),
        [
            ({"message": "Rate limit exceeded.", "type": "rate_limit_error"}, RateLimitError),
            ({"message": "Invalid API key.", "type": "authentication_error"}, AuthenticationError),
            ({"message": "Invalid request.", "type": "invalid_request_error"}, BadRequestError),
            ({"message": "boom", "type": "server_error"}, InternalServerError),
            ({"message": "?", "type": "something_new"}, APIStatusError),
            ({"message": "slow down", "code": "rate_limit_exceeded"}, RateLimitError),
        ],
    )
    def test_error_chunk_raises_typed_error(self, error: dict[str, str], cls: type) -> None:
        with pytest.raises(cls) as info:
            parse_chunk(json.dumps({"error": error}))
        assert type(info.value) is cls
        assert info.value.status_code is None
        assert error["message"] in str(info.value)

    def test_error_string(self) -> None:
        with pytest.raises(APIStatusError, match="overloaded"):
            parse_chunk('{"error": "overloaded"}')


class TestErrorFromBody:
    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, BadRequestError),
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (404, NotFoundError),
            (422, BadRequestError),
            (429, RateLimitError),
            (500, InternalServerError),
            (503, InternalServerError),
            (409, APIStatusError),
        ],
    )
    def test_by_status(self, status: int, cls: type) -> None:
        err = error_from_body({"error": {"message": "m"}}, status_code=status)
        assert type(err) is cls and err.status_code == status

    def test_status_wins_then_type(self) -> None:
        err = error_from_body({"error": {"type": "rate_limit_error"}}, status_code=418)
        assert isinstance(err, RateLimitError)
        err = error_from_body({"error": {"type": "rate_limit_error"}}, status_code=401)
        assert isinstance(err, AuthenticationError)

    def test_documented_errors(self) -> None:
        body = {
            "error": {
                "message": "Invalid API key.",
                "type": "authentication_error",
                "code": "invalid_api_key",
            }
        }
        err = error_from_body(body, status_code=401, request_id="req_1")
        assert (
            str(err) == "HTTP 401 (authentication_error, code 'invalid_api_key'): Invalid API key."
        )
        assert (err.error_type, err.code, err.request_id, err.body) == (
            "authentication_error",
            "invalid_api_key",
            "req_1",
            body,
        )

    def test_html_body_is_quoted(self) -> None:
        html = "<html><head><title>502 Bad Gateway</title></head>" + "x" * 500
        err = error_from_body(html, status_code=502)
        assert isinstance(err, InternalServerError)
        assert "non-JSON body" in str(err)
        assert repr(html[:200]) in str(err)
        assert "x" * 300 not in str(err)

    def test_empty_body(self) -> None:
        err = error_from_body("", status_code=503)
        assert str(err) == "HTTP 503 with an empty body"

    def test_json_that_is_not_an_error_object(self) -> None:
        err = error_from_body([1, 2], status_code=500)
        assert "[1, 2]" in str(err)


# --------------------------------------------------------------------------- accumulator


def chunk(delta: dict[str, object], **extra: object) -> ChatCompletionChunk:
    return ChatCompletionChunk.from_dict({"choices": [{"delta": delta, **extra}]})


def tc(**fields: object) -> dict[str, object]:
    return {"tool_calls": [fields]}


class TestAccumulator:
    def test_text(self) -> None:
        acc = ChunkAccumulator()
        for payload in DOC_PAYLOADS[:2]:
            acc.add(parse_chunk(payload))
        assert acc.content == "Docker 是一个开源容器平台..."
        assert acc.message().content == acc.content
        assert acc.message().tool_calls == []
        assert acc.finish_reason is None and acc.usage is None

    def test_empty_stream(self) -> None:
        acc = ChunkAccumulator()
        assert acc.message().content == ""
        comp = acc.completion()
        # no chunk carried a choice: no choices, like a non-streamed `"choices": []`
        assert comp.choices == [] and comp.finish_reason is None

    def test_tool_calls_by_index(self) -> None:
        acc = ChunkAccumulator()
        acc.add(chunk(tc(index=0, id="a", function={"name": "f", "arguments": ""})))
        acc.add(chunk(tc(index=1, id="b", function={"name": "g"})))
        acc.add(chunk(tc(index=0, function={"arguments": '{"x":'})))
        acc.add(chunk(tc(index=1, function={"arguments": "{}"})))
        acc.add(chunk(tc(index=0, function={"arguments": "1}"})))
        acc.add(chunk({}, finish_reason="tool_calls"))
        msg = acc.message()
        assert msg.content is None
        assert [(c.id, c.name, c.arguments) for c in msg.tool_calls] == [
            ("a", "f", '{"x":1}'),
            ("b", "g", "{}"),
        ]
        assert msg.to_dict()["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"x":1}'}

    def test_missing_index(self) -> None:
        acc = ChunkAccumulator()
        acc.add(chunk(tc(id="a", function={"name": "f"})))
        acc.add(chunk(tc(function={"arguments": '{"x":1}'})))
        acc.add(chunk(tc(id="b", function={"name": "g", "arguments": "{}"})))
        assert [(c.id, c.name, c.arguments) for c in acc.message().tool_calls] == [
            ("a", "f", '{"x":1}'),
            ("b", "g", "{}"),
        ]

    def test_repeated_index_with_new_id_is_a_new_call(self) -> None:
        acc = ChunkAccumulator()
        acc.add(chunk(tc(index=0, id="a", function={"name": "f", "arguments": "{}"})))
        acc.add(chunk(tc(index=0, id="b", function={"name": "g", "arguments": "{}"})))
        assert [c.id for c in acc.message().tool_calls] == ["a", "b"]

    def test_repeated_id_and_name_on_every_fragment(self) -> None:
        acc = ChunkAccumulator()
        acc.add(chunk(tc(index=0, id="a", function={"name": "f", "arguments": '{"x"'})))
        acc.add(chunk(tc(index=0, id="a", function={"name": "f", "arguments": ":1}"})))
        calls = acc.message().tool_calls
        assert [(c.id, c.name, c.arguments) for c in calls] == [("a", "f", '{"x":1}')]

    def test_missing_id_and_no_arguments(self) -> None:
        acc = ChunkAccumulator()
        acc.add(chunk(tc(index=0, function={"name": "now"})))
        acc.add(chunk(tc(index=1, function={"name": "today"})))
        calls = acc.message().tool_calls
        assert [(c.id, c.name, c.arguments) for c in calls] == [
            ("call_0", "now", ""),
            ("call_1", "today", ""),
        ]

    def test_usage_and_ids_and_choices(self) -> None:
        acc = ChunkAccumulator()
        acc.add(
            ChatCompletionChunk.from_dict(
                {
                    "id": "x",
                    "model": "gpt-5.4-mini",
                    "choices": [
                        {"index": 0, "delta": {"content": "a"}},
                        {"index": 1, "delta": {"content": "b"}, "finish_reason": "stop"},
                    ],
                }
            )
        )
        acc.add(ChatCompletionChunk.from_dict({"choices": [], "usage": {"prompt_tokens": 1}}))
        comp = acc.completion()
        assert (comp.id, comp.model, comp.object) == ("x", "gpt-5.4-mini", "chat.completion")
        assert [c.message.content for c in comp.choices] == ["a", "b"]
        assert comp.choices[1].finish_reason == "stop"
        assert comp.usage is not None and comp.usage.total_tokens == 1

    def test_unknown_streamed_fields_are_kept(self) -> None:
        acc = ChunkAccumulator()
        acc.add(chunk({"reasoning_content": "th"}))
        acc.add(chunk({"reasoning_content": "ink", "content": "ok"}))
        assert acc.message().extra == {"reasoning_content": "think"}
