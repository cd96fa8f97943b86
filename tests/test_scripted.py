"""ScriptedModel: scripted answers through a transport that is both sync and async."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agentkit.errors import UserError
from agentkit.testing import Fault, ScriptedModel, tool_call

MODEL = "gpt-5.4-mini"


def post(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/chat/completions", json={"model": MODEL, **body})


def client(model: ScriptedModel) -> httpx.Client:
    return httpx.Client(transport=model, base_url="http://scripted/v1")


def test_list_of_shorthands_and_recorded_requests() -> None:
    model = ScriptedModel([tool_call("get_weather", {"city": "北京"}), "北京晴, 25°C"])
    with client(model) as http:
        first = post(http, messages=[{"role": "user", "content": "查询北京天气"}]).json()
        choice = first["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        call = choice["message"]["tool_calls"][0]
        assert call["function"] == {"name": "get_weather", "arguments": '{"city":"北京"}'}
        messages = [
            {"role": "user", "content": "查询北京天气"},
            choice["message"],
            {"role": "tool", "tool_call_id": call["id"], "content": "晴"},
        ]
        second = post(http, messages=messages).json()
        assert second["choices"][0]["message"] == {
            "role": "assistant",
            "content": "北京晴, 25°C",
            "refusal": None,
        }
        assert second["usage"]["total_tokens"] > 0
    assert len(model.requests) == 2
    assert model.requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": "晴",
    }
    assert model.remaining == 0


def test_exhausted_script_raises_user_error() -> None:
    model = ScriptedModel(["only one"])
    with client(model) as http:
        post(http, messages=[])
        with pytest.raises(UserError, match="no response left"):
            post(http, messages=[])


def test_wire_format_dicts_pass_through() -> None:
    completion = {
        "choices": [{"message": {"role": "assistant", "content": "raw"}, "finish_reason": "stop"}]
    }
    assistant = {"role": "assistant", "content": "from message"}
    model = ScriptedModel([completion, assistant])
    with client(model) as http:
        assert post(http, messages=[]).json() == completion
        body = post(http, messages=[]).json()
        assert body["choices"][0]["message"] == {**assistant, "refusal": None}


def test_raw_status_answers_and_invalid_arguments() -> None:
    model = ScriptedModel(
        [
            {
                "status": 429,
                "headers": {"Retry-After": "0"},
                "body": {"error": {"message": "slow down", "type": "rate_limit_error"}},
            },
            {
                "status": 502,
                "body": "<html>bad gateway</html>",
                "headers": {"content-type": "text/html"},
            },
            tool_call("get_weather", '{"city": '),
        ]
    )
    with client(model) as http:
        r = post(http, messages=[])
        assert r.status_code == 429 and r.headers["retry-after"] == "0"
        r = post(http, messages=[])
        assert r.status_code == 502 and r.text.startswith("<html>")
        r = post(http, messages=[])
        assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == (
            '{"city": '
        )


def test_function_script_sees_each_request() -> None:
    def reply(body: dict[str, Any]) -> str:
        return f"you sent {len(body['messages'])} message(s)"

    model = ScriptedModel(reply)
    with client(model) as http:
        r = post(http, messages=[{"role": "user", "content": "a"}])
        assert r.json()["choices"][0]["message"]["content"] == "you sent 1 message(s)"
    assert model.requests[0]["messages"][0]["content"] == "a"


def test_streaming_converts_the_scripted_completion() -> None:
    model = ScriptedModel(["Docker 是一个开源容器平台", tool_call("f", {"x": 1})])
    with client(model) as http:
        text = post(http, messages=[], stream=True).text
        data = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
        assert data[-1] == "[DONE]"
        chunks = [json.loads(d) for d in data[:-1]]
        content = "".join(
            c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]
        )
        assert content == "Docker 是一个开源容器平台"
        text = post(http, messages=[], stream=True).text
        assert '"name":"f"' in text and "tool_calls" in text


def test_faults_in_the_script() -> None:
    model = ScriptedModel([{"fault": "429;retry-after-ms=5"}, Fault("cut", "1"), "cut me", "fine"])
    with client(model) as http:
        r = post(http, messages=[])
        assert r.status_code == 429 and r.headers["retry-after-ms"] == "5"
        with (
            pytest.raises(httpx.RemoteProtocolError),
            http.stream(
                "POST", "/chat/completions", json={"model": MODEL, "messages": [], "stream": True}
            ) as response,
        ):
            for _ in response.iter_raw():
                pass
        assert post(http, messages=[]).json()["choices"][0]["message"]["content"] == "fine"
    assert len(model.requests) == 3


def test_exceptions_are_raised_by_the_transport() -> None:
    model = ScriptedModel([httpx.ConnectError("refused"), "after"])
    with client(model) as http:
        with pytest.raises(httpx.ConnectError):
            post(http, messages=[])
        assert post(http, messages=[]).status_code == 200


async def test_async_and_sync_share_one_scripted_model() -> None:
    model = ScriptedModel(["one", "two"])
    async with httpx.AsyncClient(transport=model, base_url="http://s/v1") as http:
        r = await http.post(
            "/chat/completions", json={"model": MODEL, "messages": [], "stream": True}
        )
        assert "one" in r.text
    with client(model) as sync_http:
        assert post(sync_http, messages=[]).json()["choices"][0]["message"]["content"] == "two"
    assert len(model.requests) == 2


def test_models_endpoint() -> None:
    with client(ScriptedModel([])) as http:
        assert http.get("/models").json()["data"][0]["id"] == MODEL


def test_message_faults_apply_to_the_next_response_without_changing_the_script() -> None:
    call = tool_call("get_weather", {"city": "北京"})
    model = ScriptedModel([Fault("bad-args"), call, Fault("unknown-tool"), call])
    with client(model) as http:
        first = post(http, messages=[]).json()["choices"][0]["message"]["tool_calls"][0]
        with pytest.raises(ValueError):
            json.loads(first["function"]["arguments"])
        second = post(http, messages=[]).json()["choices"][0]["message"]["tool_calls"][0]
        assert second["function"]["name"] == "no_such_tool"
        assert json.loads(second["function"]["arguments"]) == {"city": "北京"}
    assert call["tool_calls"][0]["arguments"] == {"city": "北京"}


def _stream_chunks(http: httpx.Client) -> list[dict[str, Any]]:
    text = post(http, messages=[], stream=True).text
    data = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def test_finish_reason_and_usage_overrides_streamed_and_not() -> None:
    usage = {"prompt_tokens": 50, "completion_tokens": 60, "total_tokens": 110}
    cut = {"content": "half an ans", "finish_reason": "length", "usage": usage}
    model = ScriptedModel([cut, cut, {"role": "assistant", "content": "hi", "usage": usage}])
    with client(model) as http:
        body = post(http, messages=[]).json()
        assert body["choices"][0]["finish_reason"] == "length" and body["usage"] == usage
        assert body["choices"][0]["message"]["content"] == "half an ans"
        chunks = _stream_chunks(http)
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
        assert chunks[-1] == {**chunks[-1], "choices": [], "usage": usage}
        message = post(http, messages=[]).json()["choices"][0]["message"]
        assert "usage" not in message and message["content"] == "hi"


def test_per_request_functions_in_a_script_list() -> None:
    def echo(body: dict[str, Any]) -> str:
        return f"echo {body['messages'][-1]['content']}"

    model = ScriptedModel(["first", echo, "last"])
    with client(model) as http:
        answers = [
            post(http, messages=[{"role": "user", "content": c}]).json()["choices"][0]
            for c in ("a", "b", "c")
        ]
    assert [a["message"]["content"] for a in answers] == ["first", "echo b", "last"]
    assert model.remaining == 0


def test_a_slow_per_request_function_does_not_hold_up_other_requests() -> None:
    import threading

    gate = threading.Event()

    def blocked(body: dict[str, Any]) -> str:
        assert gate.wait(5), "the other request never got through"
        return "late"

    def release(body: dict[str, Any]) -> str:
        gate.set()
        return "early"

    model = ScriptedModel([blocked, release])
    with client(model) as http:
        worker = threading.Thread(target=post, args=(http,), kwargs={"messages": []})
        worker.start()
        while not model.requests:
            gate.wait(0.01)
        assert post(http, messages=[]).json()["choices"][0]["message"]["content"] == "early"
        worker.join(5)
        assert not worker.is_alive()


async def test_scripted_httpx_responses_are_served_as_is() -> None:
    sse = {"content-type": "text/event-stream"}
    page = httpx.Response(503, text="<html>down</html>")
    truncated = httpx.Response(200, headers=sse, content=b'data: {"choices":[{"del')
    model = ScriptedModel([page, truncated, page])
    with client(model) as http:
        r = post(http, messages=[])
        assert r.status_code == 503 and r.text == "<html>down</html>"
        assert post(http, messages=[]).content == b'data: {"choices":[{"del'
    async with httpx.AsyncClient(transport=model, base_url="http://s/v1") as ahttp:
        r = await ahttp.post("/chat/completions", json={"messages": []})
        assert r.status_code == 503
    # reply() (the transport-neutral core) reads the response into a Reply.
    again = ScriptedModel([page]).reply("POST", "/v1/chat/completions", {}, b"{}")
    assert again.status == 503 and again.body == b"<html>down</html>"


def test_stream_without_tool_call_index() -> None:
    calls = {"tool_calls": [{"name": "f", "arguments": {"x": 1}}, {"name": "g", "arguments": {}}]}
    plain, bare = ScriptedModel([calls]), ScriptedModel([calls], stream_tool_call_index=False)
    for model, has_index in ((plain, True), (bare, False)):
        with client(model) as http:
            fragments = [
                f
                for c in _stream_chunks(http)
                for choice in c["choices"]
                for f in choice["delta"].get("tool_calls") or []
            ]
        assert len(fragments) > 2
        assert all(("index" in f) is has_index for f in fragments)
        assert [f["function"]["name"] for f in fragments if "id" in f] == ["f", "g"]
