"""The emulator's stand-in model: from a validated request to an assistant message.

Scenarios are tried first; otherwise the generic policy of ``_policy`` answers. Pure and
deterministic (tool-call ids come from a counter the caller passes in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit._record import record
from agentkit.emulator.faults import Fault
from agentkit.emulator.policy import choose_tool, generate, plain_reply, results_reply
from agentkit.emulator.scenarios import Scenario, render
from agentkit.emulator.wire import count_tokens, dumps, text_of


@record(slots=True)
class Turn:
    """What the model needs to know about the conversation's current turn."""

    user_text: str
    images: int
    calls: list[dict[str, Any]]  # assistant tool calls since the last user message
    results: list[tuple[str, Any]]  # (tool name, result content) since the last user message
    rounds: int  # assistant messages with tool calls since the last user message
    prompt_tokens: int
    instructions: str  # the text of system and developer messages


def read_turn(messages: Sequence[Mapping[str, Any]]) -> Turn:
    """Summarise a (validated) message list."""
    last_user = -1
    tokens = 0
    instructions: list[str] = []
    for i, message in enumerate(messages):
        role = message.get("role")
        text = text_of(message.get("content"))
        if role == "user":
            last_user = i
        elif role in ("system", "developer"):
            instructions.append(text)
        tokens += 4 + count_tokens(text)
    user = messages[last_user] if last_user >= 0 else {}
    content = user.get("content")
    images = 0
    if isinstance(content, list):
        images = sum(1 for p in content if p.get("type") in ("image", "image_url"))
    names: dict[str, str] = {}
    calls: list[dict[str, Any]] = []
    results: list[tuple[str, Any]] = []
    rounds = 0
    for message in messages[last_user + 1 :]:
        tool_calls = message.get("tool_calls")
        if message.get("role") == "assistant" and tool_calls:
            rounds += 1
            for call in tool_calls:
                names[call["id"]] = call["function"]["name"]
                calls.append(call)
        elif message.get("role") == "tool":
            name = names.get(message["tool_call_id"], "tool")
            results.append((name, text_of(message.get("content"))))
    return Turn(text_of(content), images, calls, results, rounds, tokens, "\n".join(instructions))


def _decoded(content: Any) -> Any:
    try:
        return json.loads(content)
    except (TypeError, ValueError):
        return content


def _tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


class Model:
    """Answers a validated chat request with ``(assistant message, finish_reason, faults)``."""

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        self.scenarios = tuple(scenarios)

    def find(
        self, text: str, offered: Sequence[str] | None = None
    ) -> tuple[Scenario, dict[str, str]] | None:
        """The first scenario matching ``text`` (and the ``offered`` tools) and its groups."""
        for scenario in self.scenarios:
            groups = scenario.match(text, offered)
            if groups is not None:
                return scenario, groups
        return None

    def answer(
        self,
        body: Mapping[str, Any],
        call_id: str,
        faults: Sequence[Fault] = (),
        token_limits: Sequence[str] = ("max_completion_tokens",),
    ) -> tuple[dict[str, Any], str, tuple[Fault, ...], int]:
        """Decide the assistant message; also returns the scenario's faults and prompt tokens.

        ``token_limits`` names the request parameters that cap the answer (the first one
        present counts).
        """
        turn = read_turn(body["messages"])
        offered = [t["function"] for t in body.get("tools") or []]
        choice = body.get("tool_choice", "auto")
        tools_allowed = bool(offered) and choice != "none"
        if tools_allowed and turn.calls and any(f.kind == "repeat" for f in faults):
            last = turn.calls[-1]["function"]
            call = _tool_call(f"{call_id}_0", last["name"], last["arguments"])
            return _calls_message([call]), "tool_calls", (), turn.prompt_tokens
        offered_names = [str(f.get("name")) for f in offered]
        found = self.find(turn.user_text, offered_names) if self.scenarios else None
        scenario_faults: tuple[Fault, ...] = ()
        content: str | None = None
        if found is not None:
            scenario, groups = found
            scenario_faults = scenario.faults
            callable_tools = offered if tools_allowed else []
            calls, content = self._scenario_turn(turn, scenario, groups, callable_tools, call_id)
            if calls:
                return _calls_message(calls), "tool_calls", scenario_faults, turn.prompt_tokens
        elif tools_allowed and (
            not turn.results or choice == "required" or isinstance(choice, dict)
        ):
            chosen = _chosen_call(turn, offered, choice, call_id)
            if chosen is not None:
                return _calls_message([chosen]), "tool_calls", (), turn.prompt_tokens
        message, finish = self._text_answer(turn, content, body, token_limits)
        return message, finish, scenario_faults, turn.prompt_tokens

    def _scenario_turn(
        self,
        turn: Turn,
        scenario: Scenario,
        groups: dict[str, str],
        offered: Sequence[Mapping[str, Any]],
        call_id: str,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The scenario's tool calls of this round (among ``offered``), else its reply."""
        context = self._context(turn, groups)
        if offered and turn.rounds < len(scenario.rounds):
            names = {f.get("name") for f in offered}
            calls = [
                _tool_call(
                    f"{call_id}_{i}",
                    c["name"],
                    self._render(c.get("arguments", {}), context, scenario),
                )
                for i, c in enumerate(scenario.rounds[turn.rounds])
                if c["name"] in names
            ]
            if calls:
                return calls, None
        if scenario.reply is None:
            return [], None
        rendered = self._render(scenario.reply, context, scenario)
        return [], rendered if isinstance(rendered, str) else dumps(rendered)

    def _text_answer(
        self,
        turn: Turn,
        content: str | None,
        body: Mapping[str, Any],
        token_limits: Sequence[str],
    ) -> tuple[dict[str, Any], str]:
        """The text message (the scenario's ``content``, else a generic reply), formatted
        as the request asks and cut at its token limit; and its finish reason."""
        if content is None:
            if turn.results:
                content = results_reply(turn.user_text, turn.results)
            else:
                content = plain_reply(turn.user_text, turn.images)
        content = self._format(content, body.get("response_format"), turn)
        finish = "stop"
        limit = next((body[k] for k in token_limits if body.get(k) is not None), None)
        if isinstance(limit, int) and count_tokens(content) > limit:
            content = _truncate(content, limit)
            finish = "length"
        return {"role": "assistant", "content": content}, finish

    @staticmethod
    def _context(turn: Turn, groups: dict[str, str]) -> dict[str, Any]:
        results = [_decoded(c) for _, c in turn.results]
        calls = [
            {"name": c["function"]["name"], "arguments": _decoded(c["function"]["arguments"])}
            for c in turn.calls
        ]
        return {
            "user": turn.user_text,
            "groups": groups,
            "results": results,
            "result": results[-1] if results else None,
            "tools": {name: _decoded(c) for name, c in turn.results},
            "calls": calls,
        }

    @staticmethod
    def _render(value: Any, context: Mapping[str, Any], scenario: Scenario) -> Any:
        try:
            return render(value, context)
        except Exception as exc:  # a template error must reach the user, not become a 500
            return (
                f"(agentkit emulator: the reply template of scenario {scenario.name!r} "
                f"failed: {type(exc).__name__}: {exc})"
            )

    @staticmethod
    def _format(content: str, fmt: Any, turn: Turn) -> str:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "json_schema":
            schema = fmt["json_schema"].get("schema") or {"type": "object"}
            try:
                if isinstance(json.loads(content), dict):
                    return content  # a scenario's JSON reply is trusted as is
            except ValueError:
                pass
            return dumps(generate(schema, text=turn.user_text, all_properties=True))
        if kind == "json_object":
            try:
                if isinstance(json.loads(content), dict):
                    return content
            except ValueError:
                pass
            schema = _schema_in(turn.instructions)
            if schema is not None:  # "answer with JSON matching this schema: {...}"
                return dumps(generate(schema, text=turn.user_text, all_properties=True))
            return dumps({"reply": content, "emulated": True})
        return content


def _schema_in(text: str) -> dict[str, Any] | None:
    """The first JSON schema of an object written out in ``text`` (instructions), if any."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(50):
        if start < 0:
            return None
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("properties"), dict):
            return value
        start = text.find("{", start + 1)
    return None


def _truncate(content: str, limit: int) -> str:
    low, high = 0, len(content)
    while low < high:  # longest prefix within the token limit
        mid = (low + high + 1) // 2
        if count_tokens(content[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return content[:low]


def _calls_message(calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": calls}


def _chosen_call(
    turn: Turn, offered: Sequence[Mapping[str, Any]], choice: Any, call_id: str
) -> dict[str, Any] | None:
    """The call of the tool ``tool_choice`` names, or the one the user's words suggest."""
    function: Mapping[str, Any] | None
    if isinstance(choice, dict):
        wanted = choice["function"]["name"]
        function = next(f for f in offered if f.get("name") == wanted)
    else:
        function = choose_tool(turn.user_text, offered)
        if function is None and choice == "required":
            function = offered[0]
    if function is None:
        return None
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    arguments = generate(parameters, text=turn.user_text)
    return _tool_call(f"{call_id}_0", str(function["name"]), arguments)
