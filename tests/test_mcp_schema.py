"""``Tool.from_schema`` and the MCP result conversion: pure code, no server."""

from __future__ import annotations

import asyncio
from typing import Any

import mcp.types as mt
import pytest

from agentkit import Tool, ToolArgumentsError, UserError
from agentkit.mcp._content import result_text

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"],
}
STRICT = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "A city."}},
    "required": ["city"],
    "additionalProperties": False,
}


def test_a_sync_handler_gets_the_arguments_as_keywords() -> None:
    seen: list[dict[str, Any]] = []

    def handler(**arguments: Any) -> dict[str, Any]:
        seen.append(arguments)
        return {"ok": True}

    t = Tool.from_schema("forecast", "Weather ahead.", SCHEMA, handler, timeout=2.0)
    assert t.call_sync('{"city": "北京", "days": 2}') == '{"ok":true}'
    assert seen == [{"city": "北京", "days": 2}]
    assert t.to_openai() == {
        "type": "function",
        "function": {"name": "forecast", "description": "Weather ahead.", "parameters": SCHEMA},
    }
    assert t.parameters == SCHEMA  # passed through unchanged
    assert (t.timeout, t.strict, t.needs_approval, t.is_async) == (2.0, False, False, False)


def test_an_async_handler() -> None:
    async def handler(**arguments: Any) -> str:
        return f"{arguments['city']} ok"

    t = Tool.from_schema("forecast", "", SCHEMA, handler, needs_approval=True)
    assert asyncio.run(t.call({"city": "Paris"})) == "Paris ok"
    assert t.is_async and t.needs_approval is True


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ("{", "not valid JSON"),
        ("[1]", "must be a JSON object, got array"),
        ("{}", "city: missing required argument"),
        ('{"city": 5}', "city: expected string, got integer"),
        ('{"city": "x", "days": 1.5}', "days: expected integer, got number"),
        ('{"city": "x", "days": true}', "days: expected integer, got boolean"),
    ],
)
def test_cheap_argument_checks(arguments: str, problem: str) -> None:
    t = Tool.from_schema("forecast", "", SCHEMA, lambda **_: "never")
    with pytest.raises(ToolArgumentsError, match=problem):
        t.validate_arguments(arguments)


def test_unknown_arguments_are_rejected_only_when_the_schema_says_so() -> None:
    open_tool = Tool.from_schema("a", "", SCHEMA, lambda **kw: kw)
    assert open_tool.validate_arguments('{"city": "x", "extra": 1}') == {"city": "x", "extra": 1}
    closed = Tool.from_schema("b", "", STRICT, lambda **kw: kw)
    with pytest.raises(ToolArgumentsError, match="extra: unexpected argument"):
        closed.validate_arguments('{"city": "x", "extra": 1}')


def test_strict_only_when_the_schema_already_is() -> None:
    assert Tool.from_schema("a", "", STRICT, print).strict is True
    assert Tool.from_schema("b", "", SCHEMA, print).strict is False
    assert Tool.from_schema("c", "", STRICT, print, strict=False).strict is False
    assert Tool.from_schema("d", "", STRICT, print).to_openai()["function"]["strict"] is True
    with pytest.raises(UserError, match="not in OpenAI's strict subset"):
        Tool.from_schema("e", "", SCHEMA, print, strict=True)
    titled = {**STRICT, "title": "Args"}  # a keyword strict mode does not take: not strict
    assert Tool.from_schema("f", "", titled, print).strict is False


def test_bad_definitions_are_user_errors() -> None:
    with pytest.raises(UserError, match="invalid"):
        Tool.from_schema("a b", "", SCHEMA, print)
    with pytest.raises(UserError, match="JSON object schema"):
        Tool.from_schema("a", "", {"type": "string"}, print)
    with pytest.raises(UserError, match="needs a function"):
        Tool.from_schema("a", "", SCHEMA, "nope")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="timeout"):
        Tool.from_schema("a", "", SCHEMA, print, timeout=0)


def test_results_become_text() -> None:
    png = "iVBORw0KGgo="
    result = mt.CallToolResult(
        content=[
            mt.TextContent(text="hello"),
            mt.ImageContent(data=png, mime_type="image/png"),
            mt.ResourceLink(name="n", uri="note://n", mime_type="text/plain"),
            mt.EmbeddedResource(resource=mt.TextResourceContents(uri="file:///a", text="A")),
            mt.EmbeddedResource(resource=mt.BlobResourceContents(uri="file:///b", blob=png)),
        ]
    )
    assert result_text(result).splitlines() == [
        "hello",
        "[image image/png, 8 bytes]",
        "[resource link 'n': note://n, text/plain]",
        "[resource file:///a]",
        "A",
        "[resource file:///b: application/octet-stream, 8 bytes]",
    ]
    structured = mt.CallToolResult(content=[], structured_content={"温度": 25})
    assert result_text(structured) == '{"温度":25}'
