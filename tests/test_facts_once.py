"""Facts declared once: the chat parameters behind ``ModelSettings`` and request building,
and the one JSON-answer parser behind ``create_json`` and ``output_type``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from typing_extensions import TypedDict

from agentkit import Agent, Client
from agentkit.agent import ModelSettings
from agentkit.agent.settings import AGENT_OWNED_PARAMS, SETTINGS_BODY_FIELDS
from agentkit.errors import JSONContentError, OutputValidationError
from agentkit.params import MODEL_PARAMS
from agentkit.testing import ScriptedModel

USER = [{"role": "user", "content": "hi"}]


def test_model_settings_are_the_chat_parameters_an_agent_does_not_set_itself() -> None:
    fields = {f.name for f in dataclasses.fields(ModelSettings)}
    assert fields == (set(MODEL_PARAMS) - AGENT_OWNED_PARAMS) | {"extra_body"}
    assert set(MODEL_PARAMS) >= AGENT_OWNED_PARAMS
    assert set(SETTINGS_BODY_FIELDS) == fields - {"tool_choice", "extra_body"}


def test_every_setting_reaches_the_request_body() -> None:
    values: dict[str, Any] = {
        "temperature": 0.25,
        "top_p": 0.5,
        "max_completion_tokens": 77,
        "parallel_tool_calls": False,
    }
    assert set(values) == set(SETTINGS_BODY_FIELDS)  # a new parameter needs a value here

    from agentkit import tool

    @tool
    def noop() -> str:
        """Does nothing."""
        return "ok"

    model = ScriptedModel(["done"])
    agent = Agent(
        tools=[noop],
        client=Client(api_key="k", transport=model),
        model_settings=ModelSettings(**values, extra_body={"seed": 3}),
    )
    assert agent.run_sync("x").output == "done"
    body = model.requests[0]
    assert {k: body[k] for k in values} == values
    assert body["seed"] == 3


class Answer(TypedDict):
    """The structured output of the parity table."""

    a: int


# Each answer a model might give, and whether it is the JSON value {"a": 1}.
ANSWERS: list[tuple[str, bool]] = [
    ('{"a": 1}', True),
    ('  \n{"a": 1}\n  ', True),
    ('```json\n{"a": 1}\n```', True),
    ('```JSON\n{"a": 1}\n```', True),
    ('```\n{"a": 1}\n```', True),
    ('```{"a": 1}```', True),
    ('```json {"a": 1} ```', True),
    ('\n```json\n{"a": 1}\n```\n', True),
    ('```json\n{"a": 1}', False),  # an unclosed fence
    ('{"a": 1}\n```', False),
    ('Sure! {"a": 1}', False),
    ('{"a": 1', False),
    ('{"a": 1} {"a": 1}', False),
    ("", False),
    ("```\n```", False),
]


def _create_json_accepts(answer: str) -> bool:
    reply = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
    client = Client(api_key="k", transport=ScriptedModel([reply]))
    try:
        value = client.create_json(USER)
    except JSONContentError:
        return False
    assert value == {"a": 1}
    return True


def _output_type_accepts(answer: str) -> bool:
    model = ScriptedModel([answer])
    agent = Agent(client=Client(api_key="k", transport=model), output_type=Answer, output_retries=0)
    try:
        output = agent.run_sync("x").output
    except OutputValidationError:
        return False
    assert output == {"a": 1}
    return True


@pytest.mark.parametrize(("answer", "accepted"), ANSWERS, ids=range(len(ANSWERS)))
def test_create_json_and_output_type_accept_the_same_answers(answer: str, accepted: bool) -> None:
    assert _create_json_accepts(answer) is accepted
    assert _output_type_accepts(answer) is accepted


def test_a_schema_mismatch_names_the_field_without_echoing_the_answer() -> None:
    model = ScriptedModel(['{"a": "secret-looking-text"}'])
    agent = Agent(client=Client(api_key="k", transport=model), output_type=Answer, output_retries=0)
    with pytest.raises(OutputValidationError) as info:
        agent.run_sync("x")
    assert "- a: " in str(info.value)
    assert "secret-looking-text" not in str(info.value)


@pytest.mark.parametrize(("text", "value"), [("```42```", 42), ("```true```", True)])
def test_an_inline_fenced_scalar_is_the_answer_not_a_language_tag(text: str, value: object) -> None:
    from agentkit.jsonanswer import parse_json_answer

    assert parse_json_answer(text) == value
