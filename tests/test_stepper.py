"""The send/throw loop shared by every driver: outcomes go in, errors are thrown back,
the flow's return value is kept, and the flow is closed however the driver ends."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from agentkit.agent.stepper import Stepper


def _flow(seen: list[Any]) -> Generator[Any, Any, str]:
    try:
        seen.append((yield "first"))
        try:
            yield "second"
        except ValueError as exc:
            seen.append(f"thrown: {exc}")
        seen.append((yield "third"))
        return "done"
    finally:
        seen.append("closed")


def test_outcomes_go_in_errors_are_thrown_back_and_the_result_is_kept() -> None:
    seen: list[Any] = []
    effects = []
    with Stepper(_flow(seen)) as steps:
        for effect in steps:
            effects.append(effect)
            with steps.performing():
                if effect == "second":
                    raise ValueError("boom")
                steps.outcome = effect.upper()
    assert effects == ["first", "second", "third"]
    assert seen == ["FIRST", "thrown: boom", "THIRD", "closed"]
    assert steps.result == "done"


def test_a_driver_that_stops_early_closes_the_flow() -> None:
    seen: list[Any] = []
    with pytest.raises(KeyError), Stepper(_flow(seen)) as steps:
        for _effect in steps:
            raise KeyError("driver bug")  # outside performing(): not the flow's to handle
    assert seen == ["closed"]


def test_generator_exit_is_not_taken_for_an_effect_error() -> None:
    seen: list[Any] = []

    def driver() -> Generator[str, None, None]:
        with Stepper(_flow(seen)) as steps:
            for effect in steps:
                with steps.performing():
                    yield effect

    events = driver()
    assert next(events) == "first"
    events.close()  # a consumer that stops listening
    assert seen == ["closed"]
