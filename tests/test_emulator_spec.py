"""Every answer of the emulator is valid against OpenAI's OpenAPI specification.

The component schemas come from the specification file itself (``/work/shared/openai-openapi``
or ``$AGENTKIT_OPENAI_SPEC``), with ``$ref`` resolved by jsonschema and OpenAPI's
``nullable: true`` read as "or null". The provider-examples quirk is left out on purpose:
it reproduces the provider document's example shapes, which lack required fields.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from agentkit.emulator import QUIRK_PRESETS, EmulatorTransport

SPEC = Path(os.environ.get("AGENTKIT_OPENAI_SPEC", "/work/shared/openai-openapi/openapi.yaml"))
PRESETS = [name for name in QUIRK_PRESETS if name != "provider-examples"]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "查询天气信息",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    assert SPEC.is_file(), f"the OpenAI specification is missing at {SPEC}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=loader)
    return {"components": {"schemas": _nullable(document["components"]["schemas"])}}


def check(schemas: dict[str, Any], name: str, value: Any) -> None:
    root = {**schemas, "$ref": f"#/components/schemas/{name}"}
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(value), key=str)
    assert not errors, f"{name}: {[e.message for e in errors[:3]]} in {json.dumps(value)[:400]}"


def sse(text: str) -> list[Any]:
    data = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return [json.loads(d) for d in data if d != "[DONE]"]


def exchanges(preset: str) -> dict[str, list[Any]]:
    """A varied session against the emulator in ``preset``: the bodies, by schema name."""
    out: dict[str, list[Any]] = {"completion": [], "chunk": [], "error": [], "models": []}
    transport = EmulatorTransport(quirks=preset, api_keys={"k"})
    auth = {"Authorization": "Bearer k"}
    with httpx.Client(transport=transport, base_url="http://e/v1", headers=auth) as http:

        def post(*, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
            return http.post(
                "/chat/completions", json={"model": "gpt-5.4-mini", **body}, headers=headers
            )

        asked = [{"role": "user", "content": "查询北京天气"}]
        first = post(messages=asked, tools=[WEATHER])
        out["completion"].append(first.json())
        message = first.json()["choices"][0]["message"]
        if message.get("tool_calls"):
            call = message["tool_calls"][0]
            history = [*asked, {**message, "content": ""}]
            history.append({"role": "tool", "tool_call_id": call["id"], "content": '{"t": 25}'})
            out["completion"].append(post(messages=history, tools=[WEATHER]).json())
        hello = [{"role": "user", "content": "Hello there"}]
        out["completion"].append(
            post(messages=hello, response_format={"type": "json_object"}).json()
        )
        out["completion"].append(post(messages=hello, max_completion_tokens=2).json())
        for options in ({}, {"stream_options": {"include_usage": True}}):
            out["chunk"] += sse(post(messages=hello, stream=True, **options).text)
            out["chunk"] += sse(post(messages=asked, tools=[WEATHER], stream=True, **options).text)
        out["chunk"] += sse(
            post(messages=hello, stream=True, headers={"x-emulator-fault": "empty-choices"}).text
        )
        broken = sse(
            post(messages=hello, stream=True, headers={"x-emulator-fault": "stream-error=2"}).text
        )
        out["chunk"] += broken[:-1]
        out["error"].append(broken[-1])
        for fault in ("429", "500", "503", "status=418"):
            out["error"].append(post(messages=hello, headers={"x-emulator-fault": fault}).json())
        out["error"].append(post(messages=[]).json())
        other = post(messages=hello, model="no-such-model")  # llama.cpp serves any name
        out["error" if other.status_code >= 400 else "completion"].append(other.json())
        out["error"].append(http.post("/chat/completions", content=b"{").json())
        out["error"].append(http.get("/nowhere").json())
        out["error"].append(http.get("/models", headers={"Authorization": "Bearer bad"}).json())
        out["error"].append(http.get("/models/no-such-model").json())
        out["models"].append(http.get("/models").json())
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_every_answer_matches_the_openai_specification(
    schemas: dict[str, Any], preset: str
) -> None:
    found = exchanges(preset)
    assert len(found["completion"]) >= 3 and len(found["chunk"]) > 10
    for body in found["completion"]:
        check(schemas, "CreateChatCompletionResponse", body)
    for chunk in found["chunk"]:
        check(schemas, "CreateChatCompletionStreamResponse", chunk)
    for body in found["error"]:
        check(schemas, "ErrorResponse", body)
    for body in found["models"]:
        check(schemas, "ListModelsResponse", body)


def test_the_check_itself_rejects_what_the_old_emulator_sent(schemas: dict[str, Any]) -> None:
    old_answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }
    with pytest.raises(AssertionError, match="logprobs"):
        check(schemas, "CreateChatCompletionResponse", old_answer)
    with pytest.raises(AssertionError, match="param"):
        check(schemas, "ErrorResponse", {"error": {"message": "x", "type": "t", "code": None}})
