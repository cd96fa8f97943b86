"""Schemas built from signatures and docstrings: every supported type, normal and strict."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import inspect
import re
import subprocess
import sys
import typing
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
import pydantic.dataclasses
import pytest
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from agentkit.context import RunContext
from agentkit.errors import ToolArgumentsError, UserError
from agentkit.schema import FunctionSchema, function_schema
from agentkit.schema.values import ValueSchema

# ----------------------------------------------------------------------------- fixtures


_T = typing.TypeVar("_T")


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    """A postal address."""

    street: str
    zip_code: int = 0


@dataclass
class Point:
    x: float
    y: float


class Person(TypedDict):
    name: str
    age: int


class OldInner(typing.TypedDict):
    a: int


class OldStyle(typing.TypedDict, total=False):
    """An old-style dict."""

    inner: typing.Required[OldInner]
    items: list[OldInner]


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    meows: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    barks: bool


class Strange:
    """A class pydantic has no schema for."""


_EMPTY = inspect.Parameter.empty


def make(annotation: Any, default: Any = _EMPTY) -> Any:
    """A one-parameter function ``f(x)`` with ``annotation`` (and ``default``)."""

    def f(x):  # type: ignore[no-untyped-def]
        return x

    f.__annotations__ = {"x": annotation, "return": Any}
    if default is not _EMPTY:
        f.__defaults__ = (default,)
    return f


def schema_of(annotation: Any, *, strict: bool = False, default: Any = _EMPTY) -> FunctionSchema:
    return function_schema(make(annotation, default), strict=strict, context_type=RunContext)


ADDRESS = {
    "type": "object",
    "description": "A postal address.",
    "properties": {
        "street": {"type": "string"},
        "zip_code": {"type": "integer", "default": 0},
    },
    "required": ["street"],
}
ADDRESS_STRICT = {
    "type": "object",
    "description": "A postal address.",
    "properties": {
        "street": {"type": "string"},
        "zip_code": {"type": "integer", "default": 0},
    },
    "required": ["street", "zip_code"],
    "additionalProperties": False,
}
POINT = {
    "type": "object",
    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
    "required": ["x", "y"],
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def closed(node: dict[str, Any]) -> dict[str, Any]:
    """What strict mode makes of an object schema whose properties are all required."""
    return {**node, "additionalProperties": False}


SAME = object()  # strict schema equals the normal one
UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")

# annotation, normal schema, strict schema (SAME / dict / error fragment), JSON in, Python out
TYPES: list[tuple[str, Any, dict[str, Any], Any, Any, Any]] = [
    ("str", str, {"type": "string"}, SAME, "hi", "hi"),
    ("int", int, {"type": "integer"}, SAME, 3, 3),
    ("float", float, {"type": "number"}, SAME, 1.5, 1.5),
    ("float-from-int", float, {"type": "number"}, SAME, 2, 2.0),
    ("bool", bool, {"type": "boolean"}, SAME, True, True),
    (
        "Optional",
        Optional[int],  # noqa: UP045 - the spelling under test
        {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        SAME,
        None,
        None,
    ),
    ("X | None", int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}, SAME, 4, 4),
    (
        "Literal str",
        Literal["a", "b"],
        {"type": "string", "enum": ["a", "b"]},
        SAME,
        "b",
        "b",
    ),
    ("Literal int", Literal[1, 2], {"type": "integer", "enum": [1, 2]}, SAME, 2, 2),
    ("str Enum", Color, {"type": "string", "enum": ["red", "green"]}, SAME, "red", Color.RED),
    ("int Enum", Priority, {"type": "integer", "enum": [1, 2]}, SAME, 2, Priority.HIGH),
    ("list", list[int], {"type": "array", "items": {"type": "integer"}}, SAME, [1, 2], [1, 2]),
    (
        "tuple",
        tuple[int, str],
        {
            "type": "array",
            "maxItems": 2,
            "minItems": 2,
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
        },
        "prefixItems",
        [1, "a"],
        (1, "a"),
    ),
    (
        "tuple ...",
        tuple[int, ...],
        {"type": "array", "items": {"type": "integer"}},
        SAME,
        [1, 2],
        (1, 2),
    ),
    ("set", set[int], {"type": "array", "items": {"type": "integer"}}, SAME, [1, 1, 2], {1, 2}),
    (
        "dict",
        dict[str, int],
        {"type": "object", "additionalProperties": {"type": "integer"}},
        "dict[str, X]",
        {"a": 1},
        {"a": 1},
    ),
    (
        "model",
        Address,
        closed(ADDRESS),
        ADDRESS_STRICT,
        {"street": "Main"},
        Address(street="Main"),
    ),
    # Dataclasses and TypedDicts take the argument model's extra="forbid" (so do their checks).
    ("dataclass", Point, closed(POINT), SAME, {"x": 1, "y": 2.5}, Point(1.0, 2.5)),
    (
        "TypedDict",
        Person,
        closed(PERSON),
        SAME,
        {"name": "Li", "age": 3},
        {"name": "Li", "age": 3},
    ),
    (
        "Annotated Field",
        Annotated[int, Field(description="How many.", ge=1, le=5)],
        {"type": "integer", "description": "How many.", "maximum": 5, "minimum": 1},
        SAME,
        5,
        5,
    ),
    (
        "Annotated max_length",
        Annotated[str, Field(max_length=3)],
        {"type": "string", "maxLength": 3},
        "maxLength",
        "abc",
        "abc",
    ),
    (
        "Annotated str",
        Annotated[str, "The text."],
        {"type": "string", "description": "The text."},
        SAME,
        "t",
        "t",
    ),
    (
        "datetime",
        dt.datetime,
        {"type": "string", "format": "date-time"},
        SAME,
        "2026-01-02T03:04:05Z",
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    ),
    (
        "date",
        dt.date,
        {"type": "string", "format": "date"},
        SAME,
        "2026-01-02",
        dt.date(2026, 1, 2),
    ),
    ("UUID", uuid.UUID, {"type": "string", "format": "uuid"}, SAME, str(UUID), UUID),
    (
        "Decimal",
        Decimal,
        {"anyOf": [{"type": "number"}, {"type": "string"}]},
        SAME,
        "1.10",
        Decimal("1.10"),
    ),
    (
        "union",
        Union[int, str],  # noqa: UP007 - the spelling under test
        {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        SAME,
        "x",
        "x",
    ),
    (
        "union of models",
        Cat | Dog,
        {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "const": "cat"},
                        "meows": {"type": "boolean"},
                    },
                    "required": ["kind", "meows"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "const": "dog"},
                        "barks": {"type": "boolean"},
                    },
                    "required": ["kind", "barks"],
                    "additionalProperties": False,
                },
            ]
        },
        SAME,
        {"kind": "dog", "barks": True},
        Dog(kind="dog", barks=True),
    ),
    ("Any", Any, {}, "any value", [1, {"a": None}], [1, {"a": None}]),
]


@pytest.mark.parametrize(
    ("annotation", "normal", "strict", "json_in", "python_out"),
    [pytest.param(*row[1:], id=row[0]) for row in TYPES],
)
def test_type_in_normal_and_strict_mode(
    annotation: Any, normal: dict[str, Any], strict: Any, json_in: Any, python_out: Any
) -> None:
    schema = schema_of(annotation)
    assert schema.parameters == {
        "type": "object",
        "properties": {"x": normal},
        "required": ["x"],
        "additionalProperties": False,
    }
    assert "$ref" not in str(schema.parameters)
    assert schema.validate({"x": json_in}) == {"x": python_out}

    if isinstance(strict, str):
        with pytest.raises(UserError) as info:
            schema_of(annotation, strict=True)
        message = str(info.value)
        assert "'x'" in message and "function 'make.<locals>.f'" in message and "strict" in message
        assert strict in message or strict in "any value"
        return
    strict_schema = schema_of(annotation, strict=True)
    assert strict_schema.parameters == {
        "type": "object",
        "properties": {"x": normal if strict is SAME else strict},
        "required": ["x"],
        "additionalProperties": False,
    }
    assert strict_schema.validate({"x": json_in}) == {"x": python_out}


def test_strict_errors_say_what_to_use_instead() -> None:
    with pytest.raises(UserError, match=r"dict\[str, X\].*pydantic model with named fields"):
        schema_of(dict[str, int], strict=True)
    with pytest.raises(UserError, match=r"prefixItems.*list\[X\]"):
        schema_of(tuple[int, str], strict=True)
    with pytest.raises(UserError, match=r"maxLength.*pattern"):
        schema_of(Annotated[str, Field(max_length=3)], strict=True)
    with pytest.raises(UserError, match=r"any value.*concrete type"):
        schema_of(Any, strict=True)


def test_strict_mode_drops_informative_keywords_only() -> None:
    annotation = Annotated[str, Field(examples=["Beijing"], description="City.")]
    assert schema_of(annotation).parameters["properties"]["x"] == {
        "type": "string",
        "description": "City.",
        "examples": ["Beijing"],
    }
    assert schema_of(annotation, strict=True).parameters["properties"]["x"] == {
        "type": "string",
        "description": "City.",
    }


def test_defaults_are_shown_and_not_required() -> None:
    schema = schema_of(int, default=7)
    assert schema.parameters["properties"]["x"] == {"type": "integer", "default": 7}
    assert "required" not in schema.parameters
    assert schema.validate("{}") == {"x": 7}
    assert schema.validate('{"x": 1}') == {"x": 1}


@pytest.mark.parametrize(
    ("annotation", "inner"),
    [
        (str, {"type": "string"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (Annotated[str, Field(max_length=3)], {"type": "string", "maxLength": 3}),
    ],
)
def test_a_none_default_accepts_the_null_its_schema_shows(annotation: Any, inner: Any) -> None:
    # `x: str = None` showed "default": null yet refused null ("Input should be a valid
    # string"): a model sending the shown default got an error and spent a retry.
    schema = schema_of(annotation, default=None)
    assert schema.parameters["properties"]["x"] == {
        "anyOf": [inner, {"type": "null"}],
        "default": None,
    }
    assert schema.validate('{"x": null}') == {"x": None} == schema.validate("{}")
    # A type that already takes None is left as written.
    optional = schema_of(Optional[int], default=None)  # noqa: UP045
    assert optional.parameters == schema_of(int | None, default=None).parameters
    assert schema_of(Literal["a", None], default=None).parameters["properties"]["x"] == {
        "enum": ["a", None],
        "default": None,
    }


def test_strict_defaults_become_nullable_and_null_means_the_default() -> None:
    schema = schema_of(Literal["c", "f"], strict=True, default="c")
    assert schema.parameters["properties"]["x"] == {
        "anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}],
        "default": "c",
    }
    assert schema.parameters["required"] == ["x"]
    assert schema.validate('{"x": null}') == {"x": "c"}
    assert schema.validate('{"x": "f"}') == {"x": "f"}
    with pytest.raises(ToolArgumentsError, match=r"x: missing required argument \(expected"):
        schema.validate("{}")  # strict: the schema requires it, so does validation


def test_strict_optional_with_none_default_stays_a_single_null_branch() -> None:
    schema = schema_of(int | None, strict=True, default=None)
    assert schema.parameters["properties"]["x"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }
    assert schema.validate('{"x": null}') == {"x": None}


def test_strict_mode_takes_a_defaulted_parameter_with_an_alias() -> None:
    # It once failed at decoration with a raw KeyError: the default was shown under the
    # parameter's name, and the schema's key is the alias.
    def f(limit: Annotated[int, Field(alias="max")] = 3, json: str = "j") -> tuple[int, str]:
        """Aliased."""
        return limit, json

    built = function_schema(f, strict=True)
    assert built.parameters["properties"]["max"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": 3,
    }
    assert built.parameters["properties"]["json"]["default"] == "j"  # renamed field
    assert built.validate({"max": None, "json": None}) == {"limit": 3, "json": "j"}
    assert built.validate({"max": 7, "json": "k"}) == {"limit": 7, "json": "k"}


def test_strict_mode_takes_a_default_with_no_json_form() -> None:
    # A raw UnicodeDecodeError at decoration, from showing the default in the schema.
    def f(magic: bytes = b"\xff\xd8") -> bytes:
        """Binary default."""
        return magic

    built = function_schema(f, strict=True)
    assert "default" not in built.parameters["properties"]["magic"]
    assert built.validate({"magic": None}) == {"magic": b"\xff\xd8"}


_MARK = (1, 2)


def test_a_null_for_a_mutable_default_gets_a_fresh_copy_as_an_omitted_one_does() -> None:
    # Strict mode once handed every call the same list: a tool appending to its default
    # saw what earlier calls (in any run) had appended, which normal mode never did.
    def f(seen: list[str] = [], marker: tuple[int, ...] = _MARK) -> list[str]:  # noqa: B006
        """Mutable default."""
        seen.append("x")
        return seen

    normal = function_schema(f)
    strict = function_schema(f, strict=True)
    runs = [
        f(**normal.validate({})),
        f(**normal.validate({})),
        f(**strict.validate({"seen": None, "marker": None})),
        f(**strict.validate({"seen": None, "marker": None})),
    ]
    assert runs == [["x"]] * 4
    assert strict.validate({"seen": None, "marker": None})["marker"] is _MARK  # not copied


def test_strict_nested_defaulted_fields_become_required() -> None:
    schema = schema_of(Address, strict=True)
    assert schema.parameters["properties"]["x"]["required"] == ["street", "zip_code"]


def test_discriminated_union_is_one_of_normally_and_any_of_in_strict_mode() -> None:
    pet = Annotated[Cat | Dog, Field(discriminator="kind")]
    normal = schema_of(pet).parameters["properties"]["x"]
    strict = schema_of(pet, strict=True).parameters["properties"]["x"]
    assert set(normal) == {"oneOf"} and len(normal["oneOf"]) == 2
    assert set(strict) == {"anyOf"} and len(strict["anyOf"]) == 2
    assert "$ref" not in str(normal) and "$ref" not in str(strict)
    assert all(branch["additionalProperties"] is False for branch in strict["anyOf"])


def test_recursive_types_keep_defs_and_refs() -> None:
    schema = schema_of(Node)
    assert schema.parameters["properties"]["x"] == {"$ref": "#/$defs/Node"}
    assert schema.parameters["$defs"] == {
        "Node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}, "default": []},
            },
            "required": ["value"],
            "additionalProperties": False,
        }
    }
    kwargs = schema.validate('{"x": {"value": 1, "children": [{"value": 2}]}}')
    assert kwargs["x"].children[0].value == 2

    strict = schema_of(Node, strict=True).parameters["$defs"]["Node"]
    assert strict["required"] == ["value", "children"]
    assert strict["additionalProperties"] is False


def test_nested_non_recursive_models_are_inlined_even_inside_lists() -> None:
    schema = schema_of(list[Address])
    assert schema.parameters["properties"]["x"] == {"type": "array", "items": closed(ADDRESS)}
    assert "$defs" not in schema.parameters


def test_parameters_clashing_with_pydantic_names_still_work() -> None:
    def f(json: str, model_config: int = 1, schema: bool = False) -> None:
        """Clashing names."""

    built = function_schema(f)
    assert list(built.parameters["properties"]) == ["json", "model_config", "schema"]
    assert built.parameters["required"] == ["json"]
    assert built.validate('{"json": "j", "schema": true}') == {
        "json": "j",
        "model_config": 1,
        "schema": True,
    }


# ----------------------------------------------------------------------------- docstrings

GOOGLE = """Find flights.

    Searches every airline.

    Args:
        origin: Departure airport.
        dest (str): Arrival airport.
    """
NUMPY = """Find flights.

    Searches every airline.

    Parameters
    ----------
    origin : str
        Departure airport.
    dest : str
        Arrival airport.
    """
REST = """Find flights.

    Searches every airline.

    :param origin: Departure airport.
    :param dest: Arrival airport.
    """
EPYDOC = """Find flights.

    Searches every airline.

    @param origin: Departure airport.
    @param dest: Arrival airport.
    """


@pytest.mark.parametrize(
    "doc", [GOOGLE, NUMPY, REST, EPYDOC], ids=["google", "numpy", "rest", "epydoc"]
)
def test_docstring_styles(doc: str) -> None:
    def find(origin: str, dest: str) -> None:
        pass

    find.__doc__ = doc
    built = function_schema(find)
    assert built.description == "Find flights.\n\nSearches every airline."
    props = built.parameters["properties"]
    assert props["origin"] == {"type": "string", "description": "Departure airport."}
    assert props["dest"] == {"type": "string", "description": "Arrival airport."}


@pytest.mark.parametrize("docstring_format", ["auto", "google"])
@pytest.mark.parametrize("heading", ["Keyword Args", "Keyword Arguments", "Kwargs"])
def test_google_keyword_args_sections_describe_parameters(
    heading: str, docstring_format: Any
) -> None:
    # Google's style guide documents keyword arguments under their own heading; their
    # descriptions were silently dropped.
    def search(query: str, *, limit: int = 10) -> None: ...

    search.__doc__ = f"""Search the catalogue.

        Args:
            query: What to look for.

        {heading}:
            limit (int): At most this many results.
        """
    built = function_schema(search, docstring_format=docstring_format)
    assert built.description == "Search the catalogue."
    props = built.parameters["properties"]
    assert props["query"]["description"] == "What to look for."
    assert props["limit"]["description"] == "At most this many results."


@pytest.mark.parametrize("docstring_format", ["auto", "numpy"])
def test_a_numpy_entry_may_document_several_parameters(docstring_format: Any) -> None:
    # "x, y : float" is numpydoc's form for parameters sharing a type and description; it
    # was refused at decoration ("documents parameter 'x,', which is not in its signature").
    def move(x: float, y: float) -> None:
        """Move the pen.

        Parameters
        ----------
        x, y : float
            Where to, in millimetres.
        """

    built = function_schema(move, docstring_format=docstring_format)
    assert built.description == "Move the pen."
    for name in ("x", "y"):
        assert built.parameters["properties"][name]["description"] == "Where to, in millimetres."


def test_multiline_parameter_descriptions_are_joined() -> None:
    def f(city: str) -> None:
        """Weather.

        Args:
            city: The city,
                for example Beijing.
        """

    assert function_schema(f).parameters["properties"]["city"]["description"] == (
        "The city, for example Beijing."
    )


def test_annotated_description_wins_over_docstring() -> None:
    def f(
        a: Annotated[int, Field(description="from Field")],
        b: Annotated[int, "from Annotated"],
        c: int,
    ) -> None:
        """Precedence.

        Args:
            a: from docstring a
            b: from docstring b
            c: from docstring c
        """

    props = function_schema(f).parameters["properties"]
    assert props["a"]["description"] == "from Field"
    assert props["b"]["description"] == "from Annotated"
    assert props["c"]["description"] == "from docstring c"


def test_explicit_name_and_description_win() -> None:
    def f() -> None:
        """Docstring summary."""

    built = function_schema(f, name="other", description="Given.")
    assert (built.name, built.description) == ("other", "Given.")
    assert built.parameters == {"type": "object", "properties": {}, "additionalProperties": False}


def test_no_docstring_gives_empty_description() -> None:
    def f(a: int) -> None:
        pass

    built = function_schema(f)
    assert built.description == ""
    assert built.parameters["properties"]["a"] == {"type": "integer"}


def test_docstring_parameter_not_in_signature_is_an_error() -> None:
    def f(city: str) -> None:
        """Weather.

        Args:
            city: The city.
            country: The country.
        """

    with pytest.raises(UserError, match=r"function '.*f'.*'country'.*not in its signature"):
        function_schema(f)


def test_documenting_the_context_parameter_is_allowed() -> None:
    def f(ctx: RunContext[int], city: str) -> None:
        """Weather.

        Args:
            ctx: The run context.
            city: The city.
        """

    built = function_schema(f, context_type=RunContext)
    assert built.takes_context
    assert list(built.parameters["properties"]) == ["city"]


def test_docstring_parser_is_imported_lazily() -> None:
    code = (
        "import sys\nfrom agentkit.tool import tool\n"
        "assert 'docstring_parser' not in sys.modules\n"
        "def f(a: int) -> None:\n"
        "    '''Doc.\n\n    Args:\n        a: A.\n    '''\n"
        "tool(f)\n"
        "assert 'docstring_parser' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- misuse


def _star_args(*values: int) -> None: ...


def _fine(a: int) -> None: ...


def _star_kwargs(**values: int) -> None: ...


def _unannotated(a, b: int) -> None: ...  # type: ignore[no-untyped-def]


def _positional_only(a: int, /) -> None: ...


def _context_not_first(a: int, ctx: RunContext[None]) -> None: ...


def _strange(a: int, thing: Strange) -> None: ...


def _unresolvable(a: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821


MISUSE = [
    ("*args", _star_args, None, [r"\*values", "_star_args", "named parameters"]),
    ("**kwargs", _star_kwargs, None, [r"\*\*values", "_star_kwargs", "named parameters"]),
    ("unannotated", _unannotated, None, ["'a'", "_unannotated", "no type annotation"]),
    ("positional-only", _positional_only, None, ["'a'", "_positional_only", "positional-only"]),
    ("context not first", _context_not_first, None, ["'ctx'", "first parameter"]),
    ("unsupported type", _strange, None, ["'thing'", "_strange", "unsupported type"]),
    ("unresolvable hint", _unresolvable, None, ["_unresolvable", "NoSuchType"]),
    ("lambda", lambda a: a, None, ["lambda", "name="]),
    ("bad name", _star_args, "has space", ["'has space'", "letters"]),
    ("name ending in a newline", _fine, "lookup\n", [r"'lookup\\n'", "letters"]),
    ("name too long", _fine, "a" * 65, ["'a{65}'", "1-64"]),
    ("name not a string", _fine, 5, ["5", "letters"]),
]


@pytest.mark.parametrize(
    ("func", "name", "fragments"), [pytest.param(*row[1:], id=row[0]) for row in MISUSE]
)
def test_misuse_is_a_user_error_naming_function_and_parameter(
    func: Any, name: str | None, fragments: list[str]
) -> None:
    with pytest.raises(UserError) as info:
        function_schema(func, name=name, context_type=RunContext)
    for fragment in fragments:
        assert re.search(fragment, str(info.value)), (
            fragment,
            str(info.value),
        )


class Shape(enum.Enum):
    SQUARE = "square"
    CIRCLE = "circle"


class Corner(enum.Enum):
    TOP_LEFT = (0, 0)
    BOTTOM_RIGHT = (1, 1)


class Drawing(BaseModel):
    shape: Literal[Shape.SQUARE]


@pytest.mark.parametrize(
    ("annotation", "fragment"),
    [
        (type[int], r"type\[int\]"),
        (Literal[Shape.SQUARE], r"Literal\[Shape.SQUARE\].*Literal\['square'\]"),
        (list[Drawing], r"Literal\[Shape.SQUARE\]"),
        (Corner, r"Enum Corner.TOP_LEFT \(its value \(0, 0\) has no JSON form\)"),
    ],
)
def test_a_type_no_json_value_validates_as_is_refused(annotation: Any, fragment: str) -> None:
    # Each got a schema, and then every call failed (e.g. '"square"' is not Shape.SQUARE).
    with pytest.raises(UserError, match="has a type no JSON value is accepted for: " + fragment):
        schema_of(annotation)


def test_enums_and_literals_models_can_send_still_work() -> None:
    assert schema_of(Shape).validate({"x": "square"}) == {"x": Shape.SQUARE}
    assert schema_of(Literal[Color.RED]).validate({"x": "red"}) == {"x": Color.RED}
    assert schema_of(Literal[Priority.HIGH]).validate({"x": 2}) == {"x": Priority.HIGH}


def _takes_a_callback(city: str, callback: typing.Callable[[str], None]) -> None: ...


def test_a_type_without_a_json_schema_is_named_without_pydantic_links() -> None:
    # It named only the function, and ended in pydantic's "For further information" URL.
    with pytest.raises(UserError) as info:
        function_schema(_takes_a_callback)
    message = str(info.value)
    assert "parameter 'callback' of function '_takes_a_callback'" in message
    assert "https://" not in message and "\n" not in message


def test_lambda_with_a_name_is_fine() -> None:
    built = function_schema(lambda: 1, name="one")
    assert built.name == "one"


def test_typing_typed_dict_is_accepted_on_every_python() -> None:
    # Before 3.12 pydantic refuses typing.TypedDict; agentkit rebuilds it.
    def f(p: OldStyle, q: Optional[list[OldInner]] = None) -> None:  # noqa: UP045
        """Uses old-style dicts."""

    built = function_schema(f)
    p = built.parameters["properties"]["p"]
    assert (p["description"], p["required"]) == ("An old-style dict.", ["inner"])
    assert p["properties"]["inner"]["properties"] == {"a": {"type": "integer"}}
    kwargs = built.validate('{"p": {"inner": {"a": 1}, "items": [{"a": 2}]}, "q": [{"a": 3}]}')
    assert kwargs == {"p": {"inner": {"a": 1}, "items": [{"a": 2}]}, "q": [{"a": 3}]}
    with pytest.raises(ToolArgumentsError, match=r"p\.items\[0\]\.a"):
        built.validate('{"p": {"inner": {"a": 1}, "items": [{"a": "x"}]}}')
    with pytest.raises(ToolArgumentsError, match=r"p\.inner: missing"):
        built.validate('{"p": {}}')


def test_nested_forbid_model_in_normal_mode_keeps_its_closed_schema() -> None:
    class Closed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        a: int

    props = schema_of(Closed).parameters["properties"]["x"]
    assert props["additionalProperties"] is False


# ----------------------------------------------------------------------------- peers' cases
# Function-schema cases other frameworks handle, each as (function, expected properties,
# expected required, valid arguments -> the keyword arguments the function gets).


def _field_default(n: int = Field(..., gt=10, description="A big number.")) -> int:
    """Double it."""
    return n * 2


def _field_default_value(n: int = Field(7, ge=0)) -> int:
    """Double it."""
    return n * 2


def _field_default_factory(tags: list[str] = Field(default_factory=list)) -> int:  # noqa: B008
    """Count tags."""
    return len(tags)


def _args_only(city: str, days: int = 1) -> str:
    """Args:
    city: The city to forecast.
    days: How many days ahead.
    """
    return city


def _args_and_returns_only(city: str) -> str:
    """Args:
        city: The city to forecast.

    Returns:
        The forecast.
    """
    return city


PEER_CASES = [
    (
        "Field(...) as default",
        _field_default,
        False,
        {"n": {"type": "integer", "description": "A big number.", "exclusiveMinimum": 10}},
        ["n"],
        ('{"n": 11}', {"n": 11}),
    ),
    (
        "Field(default) as default",
        _field_default_value,
        False,
        {"n": {"type": "integer", "default": 7, "minimum": 0}},
        None,
        ("{}", {"n": 7}),
    ),
    (
        "Field(default_factory) as default",
        _field_default_factory,
        False,
        {"tags": {"type": "array", "items": {"type": "string"}}},
        None,
        ("{}", {"tags": []}),
    ),
    (
        "Field(default) in Annotated, strict",
        make(Annotated[float, Field(default=5.0, ge=0)]),
        True,
        {"x": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}], "default": 5.0}},
        ["x"],
        ('{"x": null}', {"x": 5.0}),
    ),
    (
        "Field(...) as default, strict",
        _field_default_value,
        True,
        {"n": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "default": 7}},
        ["n"],
        ('{"n": null}', {"n": 7}),
    ),
    (
        "Field(default_factory), strict",
        _field_default_factory,
        True,
        {"tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}},
        ["tags"],
        ('{"tags": null}', {"tags": []}),
    ),
    (
        "Google docstring with only Args",
        _args_only,
        False,
        {
            "city": {"type": "string", "description": "The city to forecast."},
            "days": {"type": "integer", "description": "How many days ahead.", "default": 1},
        },
        ["city"],
        ('{"city": "Paris"}', {"city": "Paris", "days": 1}),
    ),
    (
        "Google docstring with Args and Returns, no summary",
        _args_and_returns_only,
        False,
        {"city": {"type": "string", "description": "The city to forecast."}},
        ["city"],
        ('{"city": "Rome"}', {"city": "Rome"}),
    ),
]


@pytest.mark.parametrize(
    ("func", "strict", "properties", "required", "call"),
    [pytest.param(*row[1:], id=row[0]) for row in PEER_CASES],
)
def test_cases_other_frameworks_handle(
    func: Any,
    strict: bool,
    properties: dict[str, Any],
    required: list[str] | None,
    call: tuple[str, dict[str, Any]],
) -> None:
    built = function_schema(func, strict=strict)
    assert built.parameters["properties"] == properties
    assert built.parameters.get("required") == required
    assert built.validate(call[0]) == call[1]


def test_field_default_constraint_and_requiredness_are_enforced() -> None:
    built = function_schema(_field_default)
    with pytest.raises(ToolArgumentsError, match="n: missing required argument"):
        built.validate("{}")
    with pytest.raises(ToolArgumentsError, match="greater than 10"):
        built.validate('{"n": 3}')


def test_args_only_docstring_leaves_no_section_in_the_description() -> None:
    assert function_schema(_args_only).description == ""
    assert function_schema(_args_and_returns_only).description == ""


DOC_FORMATS = [
    ("google", GOOGLE, "Departure airport."),
    ("numpy", NUMPY, "Departure airport."),
    ("rest", REST, "Departure airport."),
    ("epydoc", EPYDOC, "Departure airport."),
    ("auto", GOOGLE, "Departure airport."),
    ("auto", _args_only.__doc__, None),
]


@pytest.mark.parametrize(("fmt", "doc", "origin"), DOC_FORMATS)
def test_docstring_format_option(fmt: Any, doc: str, origin: str | None) -> None:
    def find(origin: str, dest: str = "", city: str = "", days: int = 0) -> None:
        pass

    find.__doc__ = doc
    props = function_schema(find, docstring_format=fmt).parameters["properties"]
    assert props["origin"].get("description") == origin


def test_docstring_format_none_keeps_the_docstring_as_the_description() -> None:
    def find(origin: str, dest: str) -> None:
        pass

    find.__doc__ = GOOGLE
    built = function_schema(find, docstring_format="none")
    assert built.description.startswith("Find flights.\n\nSearches every airline.\n\nArgs:")
    assert "description" not in built.parameters["properties"]["origin"]


def test_docstring_format_mismatch_and_unknown_format_are_user_errors() -> None:
    def f(a: int) -> None:
        """Do it.

        Args:
            a
        """

    with pytest.raises(UserError, match="not valid google style"):
        function_schema(f, docstring_format="google")
    with pytest.raises(UserError, match=r"docstring_format='markdown'.*'auto'"):
        function_schema(f, docstring_format="markdown")  # type: ignore[arg-type]


# Lazily validated types: every item is checked before the function runs.
LAZY_CASES = [
    ("Iterable[int]", Iterable[int], '{"x": [1, "a", 3]}', r"x\[1\]: Input should be a valid int"),
    (
        "Iterable[Point]",
        Iterable[Point],
        '{"x": [{"x": 1, "y": 2}, {"x": 1}]}',
        r"x\[1\]\.y: missing|x\[1\]\.y: Field required",
    ),
    (
        "list[Iterable[int]]",
        list[Iterable[int]],
        '{"x": [[1], [2, "b"]]}',
        r"x\[1\]\[1\]: Input should be a valid integer",
    ),
    (
        "Optional[Iterable[str]]",
        Optional[Iterable[str]],  # noqa: UP045
        '{"x": ["a", 1]}',
        r"x\[1\]: Input should be a valid string",
    ),
]


@pytest.mark.parametrize(
    ("annotation", "bad", "message"), [pytest.param(*r[1:], id=r[0]) for r in LAZY_CASES]
)
def test_lazily_validated_types_are_validated_before_the_call(
    annotation: Any, bad: str, message: str
) -> None:
    built = schema_of(annotation)
    with pytest.raises(ToolArgumentsError, match=message):
        built.validate(bad)


def test_lazily_validated_arguments_arrive_as_lists() -> None:
    built = schema_of(Iterable[int])
    kwargs = built.validate('{"x": [1, 2, 3]}')
    assert kwargs == {"x": [1, 2, 3]}
    nested = schema_of(Optional[list[Iterable[int]]])  # noqa: UP045
    assert nested.validate('{"x": [[1], [2]]}') == {"x": [[1], [2]]}


class _Pricer:
    """Price items."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, qty: int) -> float:
        """Price an order.

        Args:
            qty: How many items.
        """
        return qty * self.rate

    def price(self, qty: int) -> float:
        """Price an order.

        Args:
            qty: How many items.
        """
        return qty * self.rate


def _convert(amount: float, rate: float, currency: str = "EUR") -> str:
    """Convert money.

    Args:
        amount: How much.
        rate: The exchange rate.
        currency: The target currency.
    """
    return f"{amount * rate} {currency}"


CALLABLE_CASES = [
    ("callable object", _Pricer(2.0), "_Pricer", "Price an order.", ["qty"]),
    ("bound method", _Pricer(2.0).price, "price", "Price an order.", ["qty"]),
    ("partial, keyword", functools.partial(_convert, rate=1.1), "_convert", "Convert money.",
     ["amount", "currency"]),
    ("partial, positional", functools.partial(_convert, 3.0), "_convert", "Convert money.",
     ["rate", "currency"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("func", "name", "description", "properties"),
    [pytest.param(*r[1:], id=r[0]) for r in CALLABLE_CASES],
)
def test_callables_that_are_not_plain_functions(
    func: Any, name: str, description: str, properties: list[str]
) -> None:
    built = function_schema(func)
    assert (built.name, built.description) == (name, description)
    assert list(built.parameters["properties"]) == properties


def test_a_method_taken_from_its_class_is_refused_with_the_right_advice() -> None:
    with pytest.raises(UserError, match=r"method taken from its class.*instance\.price"):
        function_schema(_Pricer.price)


def test_a_tool_without_a_description_is_logged_as_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def quiet(a: int) -> None:
        pass

    with caplog.at_level("WARNING", logger="agentkit"):
        function_schema(quiet)
        function_schema(quiet, description="Given.")
    assert len(caplog.records) == 1  # only the tool without a description
    assert caplog.records[0].levelname == "WARNING"
    assert re.search(r"Tool 'quiet' .* has no description", caplog.records[0].getMessage())


# Nested pydantic models and extra keys: a model that leaves `extra` unset is validated as
# forbidding them (like a nested dataclass or TypedDict); one that sets it keeps its choice.


class Order(BaseModel):
    """An order."""

    to: Address
    gift: Annotated[Address | None, Field(description="Where a gift goes.")] = None
    count: int = Field(1, ge=1, alias="n")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)

    street: str


class Ignoring(BaseModel):
    model_config = ConfigDict(extra="ignore")

    street: str
    inner: Address | None = None


class Allowing(BaseModel):
    model_config = ConfigDict(extra="allow")

    street: str


EXTRA_CASES = [
    pytest.param(Address, {"street": "a", "evil": 1}, "x.evil", id="model"),
    pytest.param(
        list[Address], [{"street": "a"}, {"street": "b", "evil": 1}], "x[1].evil", id="list"
    ),
    # Under `X | None` the path goes on into X (it once stopped there: "x: unexpected field").
    pytest.param(Optional[Address], {"street": "a", "evil": 1}, "x.evil", id="Optional"),  # noqa: UP045
    pytest.param(dict[str, Address], {"k": {"street": "a", "evil": 1}}, "x.k.evil", id="dict"),
    pytest.param(Order, {"to": {"street": "a", "evil": 1}}, "x.to.evil", id="model in model"),
    pytest.param(
        Order,
        {"to": {"street": "a"}, "gift": {"street": "b", "evil": 1}},
        "x.gift.evil",
        id="Annotated Optional field",
    ),
    pytest.param(
        Node,
        {"value": 1, "children": [{"value": 2, "children": [{"value": 3, "evil": 1}]}]},
        "x.children[0].children[0].evil",
        id="recursive",
    ),
    pytest.param(
        Ignoring,
        {"street": "a", "inner": {"street": "b", "evil": 1}},
        "x.inner.evil",
        id="inside a model that ignores extras",
    ),
]


# Strict mode refuses these two types outright (free-form keys; a model accepting extras):
# see test_strict_mode_refuses_what_it_cannot_promise below.
_NOT_STRICT = (dict[str, Address], Ignoring)


@pytest.mark.parametrize(
    ("annotation", "value", "where", "strict"),
    [
        pytest.param(*case.values, strict, id=f"{case.id}-{'strict' if strict else 'normal'}")
        for case in EXTRA_CASES
        for strict in (False, True)
        if not (strict and case.values[0] in _NOT_STRICT)
    ],
)
def test_extra_keys_in_nested_models_are_rejected(
    annotation: Any, value: Any, where: str, strict: bool
) -> None:
    schema = schema_of(annotation, strict=strict)
    with pytest.raises(ToolArgumentsError) as info:
        schema.validate({"x": value})
    assert f"{where}: unexpected field" in str(info.value)


@pytest.mark.parametrize(
    ("annotation", "message"),
    [(dict[str, Address], "free-form keys"), (Ignoring, "model 'Ignoring' sets extra=")],
)
def test_strict_mode_refuses_what_it_cannot_promise(annotation: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        schema_of(annotation, strict=True)


def test_validated_nested_models_are_the_users_classes_in_all_but_extras() -> None:
    kwargs = schema_of(Order).validate('{"x": {"to": {"street": "a"}, "n": 2}}')
    order = kwargs["x"]
    assert isinstance(order, Order) and isinstance(order.to, Address)
    assert type(order).__name__ == "Order" and type(order).__qualname__ == Order.__qualname__
    assert type(order).__module__ == Order.__module__ and type(order).__doc__ == Order.__doc__
    # Equal to, and hashing like, the same value built by the user.
    assert (
        order == Order(to=Address(street="a"), n=2) and Order(to=Address(street="a"), n=2) == order
    )
    assert order != Order(to=Address(street="b"), n=2)
    frozen = schema_of(Frozen).validate('{"x": {"street": "a"}}')["x"]
    assert frozen == Frozen(street="a") and hash(frozen) == hash(Frozen(street="a"))
    # The redeclared fields keep their defaults, aliases and constraints.
    with pytest.raises(ToolArgumentsError, match=r"x\.n"):
        schema_of(Order).validate('{"x": {"to": {"street": "a"}, "n": 0}}')
    assert schema_of(Order).validate('{"x": {"to": {"street": "a"}}}')["x"].count == 1
    # The user's own classes are left alone.
    assert "extra" not in Address.model_config
    assert Address.model_validate({"street": "a", "evil": 1}) == Address(street="a")


def test_nested_model_schema_only_gains_additional_properties_false() -> None:
    x = schema_of(Order).parameters["properties"]["x"]
    assert x["description"] == "An order." and x["additionalProperties"] is False
    assert x["properties"]["to"] == closed(ADDRESS)
    assert x["properties"]["gift"]["description"] == "Where a gift goes."
    assert x["properties"]["n"] == {"type": "integer", "default": 1, "minimum": 1}


def test_models_that_set_extra_keep_their_choice() -> None:
    kwargs = schema_of(Ignoring).validate({"x": {"street": "a", "evil": 1}})
    assert kwargs["x"] == Ignoring(street="a")
    kwargs = schema_of(Allowing).validate({"x": {"street": "a", "more": 1}})
    assert kwargs["x"].more == 1
    assert "additionalProperties" not in schema_of(Ignoring).parameters["properties"]["x"]


@pytest.mark.parametrize("model", [Ignoring, Allowing, list[Ignoring]])
def test_strict_mode_refuses_models_that_accept_extra_keys(model: Any) -> None:
    with pytest.raises(UserError) as info:
        schema_of(model, strict=True)
    message = str(info.value)
    assert "function 'make.<locals>.f'" in message and "extra=" in message
    assert ("'Ignoring'" in message) or ("'Allowing'" in message)


# A pydantic model inside a dataclass or a TypedDict refuses extra keys as one nested
# directly does; so does a pydantic dataclass that leaves `extra` unset, and a model naming
# a class defined after it.


@dataclass
class Parcel:
    """A parcel."""

    to: Address
    note: str = ""


@dataclass(frozen=True, slots=True)
class SealedParcel:
    to: Address
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclass
class Crate:
    """A crate whose weight is worked out after validation."""

    to: Address
    scale: dataclasses.InitVar[int] = 2
    weight: int = dataclasses.field(init=False, default=0)

    def __post_init__(self, scale: int) -> None:
        self.weight = len(self.to.street) * scale


@dataclass
class ParcelTree:
    to: Address
    inner: list[ParcelTree] = dataclasses.field(default_factory=list)


@pydantic.dataclasses.dataclass
class PydanticParcel:
    to: str
    count: int = 1

    @pydantic.field_validator("count")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("count must be >= 1")
        return value


@pydantic.dataclasses.dataclass(config=ConfigDict(extra="ignore"))
class LaxParcel:
    to: str


class Manifest(TypedDict, total=False):
    to: typing.Required[Address]
    more: list[Address]


class OldManifest(typing.TypedDict):
    to: Address
    back: typing.NotRequired[Address]


class Shipment(BaseModel):
    parcel: Parcel
    later: Later


class Later(BaseModel):
    street: str


NESTED_EXTRA_CASES = [
    pytest.param(Parcel, {"to": {"street": "a", "evil": 1}}, "x.to.evil", id="dataclass"),
    pytest.param(
        list[Parcel], [{"to": {"street": "a"}}, {"to": {"street": "b", "evil": 1}}],
        "x[1].to.evil", id="list of dataclass",
    ),
    pytest.param(SealedParcel, {"to": {"street": "a", "evil": 1}}, "x.to.evil", id="frozen slots"),
    pytest.param(
        ParcelTree, {"to": {"street": "a"}, "inner": [{"to": {"street": "b", "evil": 1}}]},
        "x.inner[0].to.evil", id="recursive dataclass",
    ),
    pytest.param(PydanticParcel, {"to": "a", "evil": 1}, "x.evil", id="pydantic dataclass"),
    pytest.param(
        Manifest, {"to": {"street": "a"}, "more": [{"street": "b", "evil": 1}]},
        "x.more[0].evil", id="TypedDict",
    ),
    pytest.param(
        OldManifest, {"to": {"street": "a"}, "back": {"street": "b", "evil": 1}},
        "x.back.evil", id="typing.TypedDict NotRequired",
    ),
    pytest.param(
        Shipment, {"parcel": {"to": {"street": "a", "evil": 1}}, "later": {"street": "b"}},
        "x.parcel.to.evil", id="dataclass in model",
    ),
    pytest.param(
        Shipment, {"parcel": {"to": {"street": "a"}}, "later": {"street": "b", "evil": 1}},
        "x.later.evil", id="model defined later",
    ),
]  # fmt: skip


@pytest.mark.parametrize("strict", [False, True], ids=["normal", "strict"])
@pytest.mark.parametrize(("annotation", "value", "where"), NESTED_EXTRA_CASES)
def test_extra_keys_under_dataclasses_and_typed_dicts_are_rejected(
    annotation: Any, value: Any, where: str, strict: bool
) -> None:
    schema = schema_of(annotation, strict=strict)
    with pytest.raises(ToolArgumentsError) as info:
        schema.validate({"x": value})
    assert f"{where}: unexpected field" in str(info.value)
    # The output type of a run is checked by the same rules.
    with pytest.raises(
        pydantic.ValidationError, match=r"evil\n  (Extra inputs|Unexpected keyword)"
    ):
        ValueSchema(annotation).validate({"result": value})


def test_dataclasses_holding_models_are_still_the_users_classes() -> None:
    box = schema_of(Parcel).validate({"x": {"to": {"street": "a"}}})["x"]
    assert type(box) is Parcel and box == Parcel(Address(street="a"))
    sealed = schema_of(SealedParcel).validate({"x": {"to": {"street": "a"}, "tags": ["t"]}})
    assert type(sealed["x"]) is SealedParcel
    assert sealed["x"] == SealedParcel(Address(street="a"), ["t"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        sealed["x"].tags = []  # type: ignore[misc]
    crate = schema_of(Crate).validate({"x": {"to": {"street": "abc"}, "scale": 3}})["x"]
    assert type(crate) is Crate and crate.weight == 9  # __post_init__ ran, with the InitVar
    leaf = {"to": {"street": "b"}}
    tree = schema_of(ParcelTree).validate({"x": {"to": {"street": "a"}, "inner": [leaf]}})
    assert type(tree["x"].inner[0]) is ParcelTree
    parcel = schema_of(PydanticParcel).validate({"x": {"to": "a", "count": 2}})["x"]
    assert type(parcel) is PydanticParcel and parcel == PydanticParcel(to="a", count=2)
    with pytest.raises(ToolArgumentsError, match="count must be >= 1"):  # its validators run
        schema_of(PydanticParcel).validate({"x": {"to": "a", "count": 0}})
    manifest = schema_of(OldManifest).validate({"x": {"to": {"street": "a"}}})["x"]
    assert manifest == {"to": Address(street="a")}  # NotRequired kept under string hints
    assert ValueSchema(Parcel).validate({"result": {"to": {"street": "a"}}}) == box


def test_schema_of_a_dataclass_holding_a_model_only_gains_additional_properties_false() -> None:
    x = schema_of(Parcel).parameters["properties"]["x"]
    assert x == {
        "type": "object",
        "description": "A parcel.",
        "properties": {"to": closed(ADDRESS), "note": {"type": "string", "default": ""}},
        "required": ["to"],
        "additionalProperties": False,
    }
    assert "description" not in schema_of(PydanticParcel).parameters["properties"]["x"]


def test_strict_mode_refuses_a_pydantic_dataclass_that_ignores_extra_keys() -> None:
    with pytest.raises(UserError, match="'LaxParcel' sets extra="):
        schema_of(LaxParcel, strict=True)
    kwargs = schema_of(LaxParcel).validate({"x": {"to": "a", "evil": 1}})  # its choice
    assert kwargs["x"] == LaxParcel(to="a")


class Page(BaseModel, typing.Generic[_T]):
    """A page of results."""

    items: list[_T]
    total: int = 0


@pytest.mark.parametrize("strict", [False, True], ids=["normal", "strict"])
def test_a_parametrized_generic_model_is_a_parameter_like_any_model(strict: bool) -> None:
    # Page[Address] failed at decoration with a raw SyntaxError: the placeholder standing
    # for its stand-in subclass was named after "Page[Address]", not an identifier.
    schema = schema_of(Page[Address], strict=strict)
    page = schema.validate({"x": {"items": [{"street": "a"}], "total": 1}})["x"]
    assert isinstance(page, Page) and page == Page[Address](items=[Address(street="a")], total=1)
    with pytest.raises(ToolArgumentsError, match=r"x\.items\[0\]\.evil: unexpected field"):
        schema.validate({"x": {"items": [{"street": "a", "evil": 1}], "total": 1}})


def test_forbid_extras_subclasses_are_built_once_and_flat_hints_are_untouched() -> None:
    from agentkit.schema.type_fixes import forbid_extras

    assert forbid_extras(Address) is forbid_extras(list[Address]).__args__[0]
    assert forbid_extras(int) is int and forbid_extras(Point) is Point
    hint = dict[str, int]
    assert forbid_extras(hint) is hint
