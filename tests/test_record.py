"""``agentkit._record.record`` behaves as ``dataclasses.dataclass`` does, class for class."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentkit._record import record


def _twins(**options: Any) -> tuple[type[Any], type[Any]]:
    """The same class body made by ``dataclass`` and by ``record``."""

    def body(decorate: Callable[..., Any]) -> type[Any]:
        @decorate(**options)
        class Point:
            x: float
            y: float = 0.0
            label: str = field(default="", compare=False)
            secret: str = field(default="s3cret", repr=False)
            tags: tuple[str, ...] = ()

        return Point

    return body(dataclass), body(record)


OPTIONS = [{}, {"slots": True}, {"frozen": True}, {"frozen": True, "slots": True}]


@pytest.mark.parametrize("options", OPTIONS)
def test_repr_equality_and_hash_match_dataclass(options: dict[str, Any]) -> None:
    made_by_dataclass, made_by_record = _twins(**options)
    for args in [(1.0,), (1.0, 2.0, "a", "k", ("t",)), (math.nan, 1.0)]:
        a, b = made_by_dataclass(*args), made_by_record(*args)
        assert repr(a) == repr(b)
        assert "s3cret" not in repr(b)  # repr=False
        assert (a == made_by_dataclass(*args)) == (b == made_by_record(*args))
        assert (a == a) is (b == b) is True  # a NaN field is still equal to itself
    assert made_by_record(1.0, label="x") == made_by_record(1.0, label="y")  # compare=False
    assert made_by_record(1.0) != made_by_record(2.0)
    assert made_by_record(1.0) != made_by_dataclass(1.0)  # another class is never equal
    if options.get("frozen"):
        assert hash(made_by_record(1.0, 2.0)) == hash(made_by_dataclass(1.0, 2.0))
        assert len({made_by_record(1.0, label="x"), made_by_record(1.0, label="y")}) == 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            made_by_record(1.0).x = 2.0
    else:
        with pytest.raises(TypeError, match="unhashable"):
            hash(made_by_record(1.0))


def test_a_record_is_a_dataclass() -> None:
    _, point_class = _twins(frozen=True, slots=True)
    p = point_class(1.0, 2.0)
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == ["x", "y", "label", "secret", "tags"]
    assert dataclasses.replace(p, y=5.0) == point_class(1.0, 5.0)
    assert dataclasses.asdict(p)["y"] == 2.0
    assert point_class.__match_args__ == ("x", "y", "label", "secret", "tags")


def test_methods_the_class_defines_or_turns_off_are_kept() -> None:
    @record(slots=True)
    class Named:
        name: str

        def __repr__(self) -> str:
            return f"<{self.name}>"

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Named) and other.name.lower() == self.name.lower()

        def __hash__(self) -> int:
            return hash(self.name.lower())

    assert repr(Named("A")) == "<A>"
    assert Named("A") == Named("a") and len({Named("A"), Named("a")}) == 1

    @record(repr=False, eq=False)
    class Plain:
        value: int

    assert repr(Plain(1)).startswith("<")  # object's repr
    assert Plain(1) != Plain(1) and hash(Plain(1)) != 0  # identity, as eq=False gives


def test_a_recursive_repr_ends_in_an_ellipsis() -> None:
    @record
    class Node:
        children: list[Any]

    @dataclass
    class Twin:
        children: list[Any]

    n, t = Node([]), Twin([])
    n.children.append(n)
    t.children.append(t)
    assert (
        repr(n)
        == repr(t).replace("Twin", "Node")
        == ("test_a_recursive_repr_ends_in_an_ellipsis.<locals>.Node(children=[...])")
    )
