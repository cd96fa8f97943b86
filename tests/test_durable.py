"""DurableAgent inside DBOS workflows (one process, SQLite): the steps a run is made of,
their JSON checkpoints, concurrent tool calls numbered in the model's order, recorded
tool errors, and the clear errors of a wrong setup. Crashes: test_durable_crash.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _durable_support import SCENARIO, RecordingEmulator
from dbos import DBOS, SetWorkflowID

from agentkit import Agent, ModelRetry, UserError, tool
from agentkit.client import Client
from agentkit.durable import DurableAgent, durable_config
from agentkit.testing import EmulatorServer

RUNS: list[str] = []


@tool
async def check_stock(sku: str) -> dict[str, Any]:
    """How many units of an item are in stock.

    Args:
        sku: The item's SKU.
    """
    RUNS.append(f"check_stock {sku}")
    await asyncio.sleep(0.05)  # finishes after check_price: results keep the model's order
    return {"sku": sku, "stock": 7}


@tool
def check_price(sku: str) -> dict[str, Any]:
    """The price of an item.

    Args:
        sku: The item's SKU.
    """
    RUNS.append(f"check_price {sku}")
    return {"sku": sku, "price": "9.90"}


@tool
def reserve(sku: str) -> str:
    """Reserve one unit of an item.

    Args:
        sku: The item's SKU.
    """
    RUNS.append(f"reserve {sku}")
    if sku.endswith("7"):
        raise ValueError(f"no unit of {sku} left")
    if sku.endswith("8"):
        raise ModelRetry("reservations need a second try")
    return f"reserved {sku}"


DURABLE: DurableAgent[str] | None = None


def _out(r: Any) -> dict[str, Any]:
    return {
        "output": r.output,
        "messages": r.messages,
        "failures": [f.error_type for f in r.tool_failures],
    }


@DBOS.workflow(name="test_durable.order")
async def order(question: str) -> dict[str, Any]:
    assert DURABLE is not None
    r = await DURABLE.run(question)
    return _out(r)


@DBOS.workflow(name="test_durable.order_sync")
def order_sync(question: str) -> dict[str, Any]:
    assert DURABLE is not None
    r = DURABLE.run_sync(question)
    return _out(r)


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingEmulator]:
    global DURABLE
    emulator = RecordingEmulator(scenarios=[SCENARIO])
    server = EmulatorServer(emulator).start()
    client = Client(base_url=server.base_url, api_key="sk-test", max_retries=0)
    agent = Agent("gpt-5.4-mini", tools=[check_stock, check_price, reserve], client=client)
    DURABLE = DurableAgent(agent, name="shop")
    db = tmp_path_factory.mktemp("dbos") / "dbos.sqlite"
    DBOS(
        config=durable_config(
            "test-durable", f"sqlite:///{db}", application_version="t1", log_level="WARNING"
        )
    )
    DBOS.launch()
    yield emulator
    DBOS.destroy()
    server.stop()


def _steps(workflow_id: str) -> list[tuple[int, str]]:
    return [(s["function_id"], s["function_name"]) for s in DBOS.list_workflow_steps(workflow_id)]


def _run(sync: bool, workflow_id: str, question: str) -> dict[str, Any]:
    with SetWorkflowID(workflow_id):
        if sync:
            return order_sync(question)
        return asyncio.run(order(question))


@pytest.mark.parametrize("sync", [False, True], ids=["run", "run_sync"])
def test_each_model_and_tool_call_is_one_named_step_in_the_models_order(
    launched: RecordingEmulator, sync: bool
) -> None:
    sku = "SKU101" if sync else "SKU100"
    out = _run(sync, f"steps-{sku}", f"Please order {sku}")
    assert out["output"] == f"Reserved {sku}."
    assert _steps(f"steps-{sku}") == [
        (1, "shop.model"),
        (2, "shop.tool.check_stock"),
        (3, "shop.tool.check_price"),
        (4, "shop.model"),
        (5, "shop.tool.reserve"),
        (6, "shop.model"),
    ]
    # check_stock finished last, yet its result comes first, as the model asked.
    tools = [m for m in out["messages"] if m["role"] == "tool"]
    assert [json.loads(t["content"]).get("stock") for t in tools[:2]] == [7, None]


def test_checkpoints_are_portable_json(launched: RecordingEmulator, tmp_path: Path) -> None:
    _run(False, "json-SKU200", "Please order SKU200")
    steps = DBOS.list_workflow_steps("json-SKU200")
    model = steps[0]["output"]
    assert model["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "check_stock"
    assert steps[1]["output"] == {"content": '{"sku":"SKU200","stock":7}'}
    from dbos._dbos import _get_dbos_instance

    assert _get_dbos_instance()._serializer.name() == "portable_json"


def test_a_replayed_workflow_calls_neither_model_nor_tools_again(
    launched: RecordingEmulator,
) -> None:
    first = _run(False, "replay-SKU300", "Please order SKU300")
    requests, runs = len(launched.chats), len(RUNS)
    # Same workflow id: DBOS returns the recorded result; forking from step 5 replays
    # steps 1-4 from their checkpoints and runs only the rest.
    assert _run(False, "replay-SKU300", "Please order SKU300") == first
    handle = DBOS.fork_workflow("replay-SKU300", 5)
    assert handle.get_result() == first
    assert RUNS[runs:] == ["reserve SKU300"]
    assert len(launched.chats) == requests + 1  # only the last model call ran again


def test_tool_errors_are_recorded_by_type_name(launched: RecordingEmulator) -> None:
    out = _run(False, "err-SKU307", "Please order SKU307")
    assert out["failures"] == ["ValueError"]
    forked = DBOS.fork_workflow("err-SKU307", 6).get_result()  # replays the failed step
    assert forked["failures"] == ["ValueError"]
    assert forked["messages"] == out["messages"]


def test_model_retry_goes_back_to_the_model(launched: RecordingEmulator) -> None:
    out = _run(True, "retry-SKU308", "Please order SKU308")
    reserve_result = [m for m in out["messages"] if m["role"] == "tool"][2]
    assert "second try" in reserve_result["content"]


def test_run_outside_a_workflow_is_a_clear_error(launched: RecordingEmulator) -> None:
    assert DURABLE is not None
    with pytest.raises(UserError, match=r"inside a @DBOS\.workflow"):
        DURABLE.run_sync("Please order SKU1")


def test_bad_setups_are_clear_errors() -> None:
    agent = Agent("m", run_timeout=10)
    with pytest.raises(UserError, match="run_timeout"):
        DurableAgent(agent, name="bot")
    with pytest.raises(UserError, match="name"):
        DurableAgent(Agent("m"), name="has space")
    with pytest.raises(UserError, match="Agent"):
        DurableAgent("not an agent", name="bot")  # type: ignore[arg-type]


def test_step_names_derive_from_the_name() -> None:
    names = DurableAgent(Agent("m"), name="refund-bot").step_names
    assert (names.model, names.tool("refund"), names.list_tools) == (
        "refund-bot.model",
        "refund-bot.tool.refund",
        "refund-bot.list_tools",
    )
