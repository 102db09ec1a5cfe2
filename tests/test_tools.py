"""Functions as tools: schemas from hints and docstrings, the registry, running calls."""

from __future__ import annotations

import enum
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NewType, NotRequired, Optional, TypedDict

import pytest

import glm_magics.tools
from glm_magics.results import ToolCall
from glm_magics.tools import (
    ToolOutcome,
    ToolRegistry,
    function_schema,
    registered_tools,
    run_tool_call,
    run_tool_calls,
    tool,
    tool_message,
    unregister,
)
from glm_magics.wire.params import build_params

# -- Types the tests describe ----------------------------------------------------------------


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    """A point on the map.

    Attributes:
        lat: Degrees north.
        lon: Degrees east.
    """

    lat: float
    lon: float = 0.0
    tags: list[str] = field(default_factory=list)


@dataclass
class Plain:
    size: int

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("size must not be negative")


class Filters(TypedDict):
    country: str
    limit: NotRequired[int]


class Loose(TypedDict, total=False):
    a: int


@dataclass
class Node:
    child: Node | None = None


UserId = NewType("UserId", int)


def schema_of(hint: Any) -> dict[str, Any]:
    """The schema of one parameter ``x`` annotated with ``hint``."""

    def func(x):  # type: ignore[no-untyped-def]
        return x

    func.__annotations__ = {"x": hint}
    properties: dict[str, Any] = function_schema(func)["function"]["parameters"]["properties"]
    return properties["x"]  # type: ignore[no-any-return]


def call(name: str, arguments: Any = None, *, raw: str | None = None) -> ToolCall:
    text = raw if raw is not None else json.dumps(arguments if arguments is not None else {})
    return ToolCall(id=f"call_{name}", name=name, arguments=text)


@pytest.fixture
def clean_registry() -> Iterator[ToolRegistry]:
    """The module-level registry, emptied for the test and restored after it."""
    saved = dict(registered_tools._tools)
    registered_tools.clear()
    try:
        yield registered_tools
    finally:
        registered_tools.clear()
        registered_tools._tools.update(saved)


# -- Schemas from docstrings -----------------------------------------------------------------


def get_weather(city: str, days: int = 3, unit: Unit = Unit.CELSIUS) -> dict[str, Any]:
    """Current weather and a forecast
    for one city.

    The service is slow; ask once per city.

    Args:
        city: The city's English name,
            e.g. "Paris".
        days (int): How many days to forecast.
        unit: Temperature unit.

    Returns:
        The forecast.
    """
    if city == "Atlantis":
        raise ValueError("unknown city")
    return {"city": city, "days": days, "unit": unit.value, "temp": 21}


def test_google_docstring_schema_exactly() -> None:
    assert function_schema(get_weather) == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather and a forecast for one city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {
                        "type": "string",
                        "description": 'The city\'s English name, e.g. "Paris".',
                    },
                    "days": {
                        "type": "integer",
                        "description": "How many days to forecast.",
                        "default": 3,
                    },
                    "unit": {
                        "type": "string",
                        "enum": ["c", "f"],
                        "description": "Temperature unit.",
                        "default": "c",
                    },
                },
                "required": ["city"],
            },
        },
    }


def numpy_style(values: list[float], scale: float = 1.0, label: str | None = None) -> float:
    """Scale and sum numbers.

    Parameters
    ----------
    values : list of float
        The numbers
        to sum.
    scale, label : optional
        Shared description.

    Returns
    -------
    float
        The scaled sum.
    """
    return sum(values) * scale


def test_numpy_docstring_schema_exactly() -> None:
    assert function_schema(numpy_style)["function"] == {
        "name": "numpy_style",
        "description": "Scale and sum numbers.",
        "parameters": {
            "type": "object",
            "properties": {
                "values": {
                    "type": "array",
                    "items": {"type": "number"},
                    "description": "The numbers to sum.",
                },
                "scale": {"type": "number", "description": "Shared description.", "default": 1.0},
                "label": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "Shared description.",
                    "default": None,
                },
            },
            "required": ["values"],
        },
    }


def sphinx_style(path: str, lines: int = 10) -> str:
    """Read the start of a text file.

    :param path: Where the file is,
        relative to the notebook.
    :param int lines: How many lines.
    :returns: The text.
    """
    return path * lines


def test_sphinx_docstring_schema() -> None:
    function = function_schema(sphinx_style)["function"]
    assert function["description"] == "Read the start of a text file."
    assert function["parameters"]["properties"] == {
        "path": {"type": "string", "description": "Where the file is, relative to the notebook."},
        "lines": {"type": "integer", "description": "How many lines.", "default": 10},
    }


def test_summary_stops_at_a_section_and_description_can_be_replaced() -> None:
    def args_only(a: int) -> int:
        """
        Args:
            a: A number.
        """
        return a

    def no_doc(a: int) -> int:
        return a

    assert "description" not in function_schema(args_only)["function"]
    assert function_schema(args_only)["function"]["parameters"]["properties"]["a"] == {
        "type": "integer",
        "description": "A number.",
    }
    assert "description" not in function_schema(no_doc)["function"]
    replaced = function_schema(get_weather, name="weather", description="Weather now.")
    assert replaced["function"]["name"] == "weather"
    assert replaced["function"]["description"] == "Weather now."


def test_annotated_description_wins_over_the_docstring() -> None:
    def find(query: Annotated[str, "What to look for."]) -> str:
        """Search.

        Args:
            query: Docstring text.
        """
        return query

    properties = function_schema(find)["function"]["parameters"]["properties"]
    assert properties["query"] == {"type": "string", "description": "What to look for."}


# -- Schemas from type hints -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (Any, {}),
        (list, {"type": "array"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list[Any], {"type": "array"}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (set[int], {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
        (frozenset[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (dict, {"type": "object"}),
        (dict[str, Any], {"type": "object"}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal["a", 1], {"enum": ["a", 1]}),
        (Unit, {"type": "string", "enum": ["c", "f"]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Optional[str], {"anyOf": [{"type": "string"}, {"type": "null"}]}),  # noqa: UP045
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (Annotated[int, "How many."], {"type": "integer", "description": "How many."}),
        (
            list[Annotated[int, "An id."]],
            {"type": "array", "items": {"type": "integer", "description": "An id."}},
        ),
        (UserId, {"type": "integer"}),
    ],
)
def test_type_hint_schemas(hint: Any, expected: dict[str, Any]) -> None:
    assert schema_of(hint) == expected


def test_dataclass_parameter_schema_exactly() -> None:
    assert schema_of(Point) == {
        "type": "object",
        "description": "A point on the map.",
        "properties": {
            "lat": {"type": "number", "description": "Degrees north."},
            "lon": {"type": "number", "description": "Degrees east.", "default": 0.0},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["lat"],
    }
    assert "description" not in schema_of(Plain)


def test_typeddict_schema_reads_not_required_from_string_annotations() -> None:
    assert schema_of(Filters) == {
        "type": "object",
        "properties": {"country": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["country"],
    }
    assert schema_of(Loose)["required"] == []


def test_required_defaults_and_optional_parameters() -> None:
    marker = object()

    def f(
        a: int,
        b: int | None,
        c: str = "x",
        d: Unit = Unit.FAHRENHEIT,
        e: tuple[int, ...] = (1, 2),
        g: Any = marker,
        h: float = float("nan"),
    ) -> None:
        return None

    parameters = function_schema(f)["function"]["parameters"]
    assert parameters["required"] == ["a"]
    properties = parameters["properties"]
    assert properties["c"]["default"] == "x"
    assert properties["d"]["default"] == "f"
    assert properties["e"]["default"] == [1, 2]
    assert "default" not in properties["b"]
    assert "default" not in properties["g"]
    assert "default" not in properties["h"]


def test_unannotated_parameters_accept_anything() -> None:
    def f(a, b=2):  # type: ignore[no-untyped-def]
        """Add.

        Args:
            a: First.
        """
        return a + b

    assert function_schema(f)["function"]["parameters"] == {
        "type": "object",
        "properties": {"a": {"description": "First."}, "b": {"default": 2}},
        "required": ["a"],
    }


class Thermostat:
    def set_temperature(self, degrees: float) -> str:
        """Set the target temperature."""
        return f"set to {degrees}"

    def __call__(self, room: str) -> str:
        """Read a room's temperature."""
        return f"{room}: 20"


def test_bound_methods_and_callable_objects_skip_self() -> None:
    device = Thermostat()
    method = function_schema(device.set_temperature)["function"]
    assert method["name"] == "set_temperature"
    assert method["parameters"]["properties"] == {"degrees": {"type": "number"}}
    instance = function_schema(device, name="thermostat")["function"]
    assert instance["parameters"]["properties"] == {"room": {"type": "string"}}
    assert instance["description"] == "Read a room's temperature."


def test_schemas_pass_the_request_parameter_check() -> None:
    registry = ToolRegistry()
    for func in (get_weather, numpy_style, sphinx_style, Thermostat().set_temperature):
        registry.add(func)
    tools = registry.schemas()
    assert build_params({"tools": tools}) == {"tools": tools}
    json.dumps(tools)


# -- What cannot be described ----------------------------------------------------------------


def variadic(*values: int) -> int:
    return sum(values)


def keywords(**options: str) -> str:
    return ""


def positional(a: int, /, b: int) -> int:
    return a + b


def bytes_param(data: bytes) -> int:
    return len(data)


def int_keys(counts: dict[int, str]) -> int:
    return len(counts)


def recursive(node: Node) -> int:
    return 0


def odd_literal(choice: Literal[b"x"]) -> int:
    return 0


def not_a_type(value: [int]) -> int:  # type: ignore[valid-type, misc]
    return 0


def unresolved(value: NotDefinedAnywhere) -> int:  # type: ignore[name-defined]  # noqa: F821
    return 0


async def asynchronous(a: int) -> int:
    return a


def method_like(self: Any, a: int) -> int:
    return a


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (variadic, "takes *values; the model sends named arguments"),
        (keywords, "takes **options"),
        (positional, "'a' of tool 'positional' is positional-only; the model passes arguments by"),
        (bytes_param, "has type bytes, which cannot be described as JSON; annotate it as str"),
        (int_keys, "JSON object keys are strings; use dict[str, ...]"),
        (recursive, "Node refers to itself"),
        (odd_literal, "choices must be str, int, float, bool or None"),
        (not_a_type, "has type [<class 'int'>], which cannot be described as JSON"),
        (unresolved, "NotDefinedAnywhere"),
        (asynchronous, "is async; register a plain (synchronous) function"),
        (method_like, "register the bound method of an instance"),
    ],
)
def test_unsupported_signatures_say_what_to_change(func: Callable[..., Any], message: str) -> None:
    with pytest.raises(TypeError, match=re.escape(message)):
        function_schema(func)
    with pytest.raises(TypeError):
        ToolRegistry().add(func)


def test_unresolved_annotation_message_says_to_define_it() -> None:
    with pytest.raises(TypeError, match="Define or import every name"):
        function_schema(unresolved)


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "dot.name", "<lambda>", "naïve"])
def test_tool_names_are_validated(name: str) -> None:
    with pytest.raises(ValueError, match="1-64 letters, digits, '_' or '-'"):
        ToolRegistry().add(get_weather, name=name)


def test_lambdas_need_a_name() -> None:
    with pytest.raises(ValueError, match="pass name="):
        function_schema(lambda: 1)
    assert function_schema(lambda: 1, name="one-1")["function"]["name"] == "one-1"


# -- The decorator and the registry ----------------------------------------------------------


def test_decorator_forms_register_and_return_the_function(clean_registry: ToolRegistry) -> None:
    @tool
    def plain(a: int) -> int:
        return a + 1

    @tool()
    def called(a: int) -> int:
        return a + 2

    @tool(name="renamed", description="Adds three.")
    def original(a: int) -> int:
        return a + 3

    assert (plain(1), called(1), original(1)) == (2, 3, 4)
    assert clean_registry.names() == ["plain", "called", "renamed"]
    assert clean_registry.get("renamed") is original
    assert clean_registry.schemas()[2]["function"]["description"] == "Adds three."


def test_redecorating_replaces_as_a_rerun_cell_does(clean_registry: ToolRegistry) -> None:
    @tool
    def lookup(key: str) -> str:
        return "old"

    first = lookup

    @tool  # type: ignore[no-redef]
    def lookup(key: str, exact: bool = True) -> str:
        return "new"

    assert len(clean_registry) == 1
    assert clean_registry.get("lookup") is lookup
    assert clean_registry.get("lookup") is not first
    assert "exact" in clean_registry.schemas()[0]["function"]["parameters"]["properties"]


def test_unregister_by_name_or_function(clean_registry: ToolRegistry) -> None:
    @tool(name="alias")
    def aliased() -> str:
        return ""

    @tool
    def by_name() -> str:
        return ""

    unregister(aliased)
    assert "alias" not in clean_registry
    rerun = lambda: ""  # noqa: E731
    rerun.__name__ = "by_name"
    unregister(rerun)
    assert len(clean_registry) == 0
    with pytest.raises(KeyError, match="not a registered tool"):
        unregister(aliased)
    with pytest.raises(KeyError, match="no tool named 'ghost'"):
        unregister("ghost")


def test_registry_basics() -> None:
    registry = ToolRegistry()
    registry.add(get_weather)
    registry.add(sphinx_style, name="read_file")
    assert registry.names() == ["get_weather", "read_file"]
    assert "read_file" in registry and "sphinx_style" not in registry and 3 not in registry
    assert len(registry) == 2
    assert registry.get("read_file") is sphinx_style
    assert registry.get("missing") is None
    assert repr(registry) == "ToolRegistry(['get_weather', 'read_file'])"
    registry.schemas()[0]["function"]["name"] = "changed"
    assert registry.schemas()[0]["function"]["name"] == "get_weather"
    registry.remove("read_file")
    assert registry.names() == ["get_weather"]
    with pytest.raises(KeyError, match=r"registered: get_weather"):
        registry.remove("read_file")
    registry.clear()
    assert len(registry) == 0


def test_merged_adds_per_call_functions_which_win_on_a_clash() -> None:
    registry = ToolRegistry()
    registry.add(get_weather)
    registry.add(sphinx_style)

    def get_weather_stub(city: str) -> str:
        return "sunny"

    get_weather_stub.__name__ = "get_weather"
    merged = registry.merged([get_weather_stub, numpy_style])
    assert merged is not registry
    assert merged.names() == ["get_weather", "sphinx_style", "numpy_style"]
    assert merged.get("get_weather") is get_weather_stub
    assert registry.get("get_weather") is get_weather
    assert registry.names() == ["get_weather", "sphinx_style"]
    assert run_tool_call(call("get_weather", {"city": "x"}), merged).content == "sunny"


def test_a_notebook_defined_tool_with_string_annotations(
    shell: Any, clean_registry: ToolRegistry
) -> None:
    result = shell.run_cell(
        "from dataclasses import dataclass\n"
        "from glm_magics.tools import tool\n"
        "@dataclass\n"
        "class Box:\n"
        "    width: int\n"
        "@tool\n"
        "def area(box: 'Box', scale: 'float | None' = None) -> int:\n"
        "    '''Area of a box.'''\n"
        "    assert isinstance(box, Box)\n"
        "    return box.width ** 2\n"
    )
    result.raise_error()
    function = clean_registry.schemas()[0]["function"]
    assert function["parameters"]["properties"]["box"] == {
        "type": "object",
        "properties": {"width": {"type": "integer"}},
        "required": ["width"],
    }
    assert clean_registry.get("area").__module__ == "__main__"
    outcome = run_tool_call(call("area", {"box": {"width": 3}}), clean_registry)
    assert (outcome.content, outcome.error) == ("9", None)
    for name in ("Box", "area", "dataclass", "tool"):
        shell.user_ns.pop(name, None)


def test_registry_is_safe_to_share_between_threads() -> None:
    registry = ToolRegistry()
    registry.add(get_weather)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(number: int) -> None:
        try:
            start.wait()
            for round_ in range(40):
                name = f"tool_{number}_{round_ % 4}"
                registry.add(sphinx_style, name=name)
                registry.schemas()
                registry.merged([numpy_style])
                outcome = run_tool_call(call("get_weather", {"city": "Oslo"}), registry)
                assert outcome.error is None
                if round_ % 2:
                    registry.remove(name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(registry) == 1 + 8 * 2
    assert "get_weather" in registry


# -- Running calls ---------------------------------------------------------------------------


@pytest.fixture
def registry() -> ToolRegistry:
    registry = ToolRegistry()
    registry.add(get_weather)
    return registry


def test_a_call_runs_and_the_result_is_json(registry: ToolRegistry) -> None:
    outcome = run_tool_call(call("get_weather", {"city": "Zürich", "unit": "f"}), registry)
    assert outcome.error is None and outcome.ok
    assert outcome.content == '{"city": "Zürich", "days": 3, "unit": "f", "temp": 21}'
    assert outcome.seconds >= 0
    assert tool_message(outcome) == {
        "role": "tool",
        "tool_call_id": "call_get_weather",
        "content": outcome.content,
    }


def returns(value: Any) -> Callable[[], Any]:
    def produce() -> Any:
        return value

    return produce


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text, as-is", "plain text, as-is"),
        (None, "null"),
        (3, "3"),
        ([1, "é"], '[1, "é"]'),
        (Point(1.5), '{"lat": 1.5, "lon": 0.0, "tags": []}'),
        (Unit.CELSIUS, '"c"'),
        ({10, 9}, "[9, 10]"),
        (frozenset({"b", 1}), '["b", 1]'),
        ({"when": Thermostat}, json.dumps({"when": str(Thermostat)})),
    ],
)
def test_result_encoding(value: Any, content: str) -> None:
    registry = ToolRegistry()
    registry.add(returns(value))
    assert run_tool_call(call("produce"), registry).content == content


def test_a_result_that_cannot_be_encoded_is_an_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    registry = ToolRegistry()
    registry.add(returns(loop))
    outcome = run_tool_call(call("produce"), registry)
    assert outcome.error is not None and "could not be encoded" in outcome.error
    assert outcome.content.startswith("Error: the result could not be encoded")


def test_an_unknown_tool_runs_nothing_and_lists_the_tools() -> None:
    ran: list[str] = []

    def get_time() -> str:
        ran.append("get_time")
        return "noon"

    registry = ToolRegistry()
    registry.add(get_time)
    outcome = run_tool_call(call("get_tme"), registry)
    assert ran == []
    assert outcome.error == "unknown tool 'get_tme'; available tools: get_time"
    assert outcome.content == (
        "Error: unknown tool 'get_tme'; available tools: get_time. Did you mean 'get_time'?"
    )
    empty = run_tool_call(call("eval", {"code": "1"}), ToolRegistry())
    assert empty.content == "Error: unknown tool 'eval'; no tools are available."


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("{city: Paris", "not valid JSON"),
        ('["Paris"]', "sent list arguments, expected an object"),
        ('"Paris"', "sent str arguments, expected an object"),
    ],
)
def test_arguments_that_are_not_a_json_object(registry: ToolRegistry, raw: str, error: str) -> None:
    outcome = run_tool_call(call("get_weather", raw=raw), registry)
    assert outcome.error is not None and error in outcome.error
    assert outcome.content.startswith("Error: tool call 'get_weather' sent")
    assert outcome.content.endswith("Send a JSON object with: city (required), days, unit.")


def test_empty_arguments_mean_no_arguments() -> None:
    registry = ToolRegistry()
    registry.add(returns("done"))
    assert run_tool_call(call("produce", raw=""), registry).content == "done"
    assert run_tool_call(call("produce", raw="  "), registry).content == "done"


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"cty": "Paris"}, "unexpected argument 'cty' (did you mean 'city'?)"),
        ({"city": "Paris", "when": "now", "x": 1}, "unexpected argument 'when', 'x'"),
        ({}, "missing a required argument: 'city'"),
        ({"city": 3}, "argument 'city' must be a string, got 3"),
        ({"city": "Paris", "days": "3"}, "argument 'days' must be an integer, got \"3\""),
        ({"city": "Paris", "days": 2.5}, "argument 'days' must be an integer, got 2.5"),
        ({"city": "Paris", "days": True}, "argument 'days' must be an integer, got true"),
        ({"city": "Paris", "unit": "k"}, 'argument \'unit\' must be one of "c", "f", got "k"'),
    ],
)
def test_bad_arguments_explain_themselves(
    registry: ToolRegistry, arguments: dict[str, Any], error: str
) -> None:
    outcome = run_tool_call(call("get_weather", arguments), registry)
    assert outcome.error == error
    assert outcome.content == (
        f"Error: invalid arguments for get_weather: {error}. "
        "Send a JSON object with: city (required), days, unit."
    )


def test_arguments_become_the_annotated_types() -> None:
    seen: dict[str, Any] = {}

    def plot(
        where: Point,
        unit: Unit,
        level: Level,
        span: tuple[int, int],
        ids: set[int],
        filters: Filters,
        scale: float,
        count: int,
        note: str | None,
        mode: Literal["fast", "slow"] = "fast",
        groups: dict[str, list[Unit]] | None = None,
    ) -> str:
        seen.update(locals())
        return "ok"

    registry = ToolRegistry()
    registry.add(plot)
    arguments = {
        "where": {"lat": 1, "tags": ["x"]},
        "unit": "f",
        "level": 2,
        "span": [1, 5],
        "ids": [3, 3, 4],
        "filters": {"country": "NO"},
        "scale": 2,
        "count": 4.0,
        "groups": {"a": ["c"]},
    }
    outcome = run_tool_call(call("plot", arguments), registry)
    assert outcome.error is None
    assert seen["where"] == Point(1.0, 0.0, ["x"])
    assert seen["unit"] is Unit.FAHRENHEIT
    assert seen["level"] is Level.HIGH
    assert seen["span"] == (1, 5)
    assert seen["ids"] == {3, 4}
    assert seen["filters"] == {"country": "NO"}
    assert (seen["scale"], type(seen["scale"])) == (2.0, float)
    assert (seen["count"], type(seen["count"])) == (4, int)
    assert seen["note"] is None
    assert seen["mode"] == "fast"
    assert seen["groups"] == {"a": [Unit.CELSIUS]}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"where": {"lon": 1}}, "argument 'where' (Point): missing key 'lat'"),
        ({"where": {"lat": 1, "alt": 2}}, "argument 'where' (Point): unexpected key 'alt'"),
        ({"where": [1, 2]}, "argument 'where' must be an object (Point), got [1, 2]"),
        ({"where": {"lat": "n"}}, "argument 'where'['lat'] must be a number, got \"n\""),
        ({"where": {"lat": 1}, "span": [1]}, "argument 'span' must be 2 items, got [1]"),
        ({"where": {"lat": 1}, "span": [1, "b"]}, "argument 'span'[1] must be an integer"),
        ({"where": {"lat": 1}, "size": {"size": -1}}, "Plain refused it (ValueError: size must"),
        ({"where": {"lat": 1}, "size": 3}, "argument 'size' must be an object (Plain) or null"),
        ({"where": {"lat": 1}, "filters": {}}, "argument 'filters' (Filters): missing key"),
    ],
)
def test_nested_arguments_are_checked(arguments: dict[str, Any], error: str) -> None:
    def place(
        where: Point,
        span: tuple[int, int] = (0, 0),
        size: Plain | None = None,
        filters: Filters | None = None,
    ) -> str:
        return "ok"

    registry = ToolRegistry()
    registry.add(place)
    outcome = run_tool_call(call("place", arguments), registry)
    assert outcome.error is not None and error in outcome.error, outcome.error


def test_a_raising_function_becomes_an_error_the_model_can_read(registry: ToolRegistry) -> None:
    outcome = run_tool_call(call("get_weather", {"city": "Atlantis"}), registry)
    assert outcome.error == "ValueError: unknown city"
    assert outcome.content == "Error: ValueError: unknown city"
    assert not outcome.ok

    def fails_quietly() -> None:
        raise RuntimeError

    registry.add(fails_quietly)
    assert run_tool_call(call("fails_quietly"), registry).content == "Error: RuntimeError"


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit])
def test_interrupts_and_exits_propagate(exception: type[BaseException]) -> None:
    def stop() -> None:
        raise exception

    registry = ToolRegistry()
    registry.add(stop)
    with pytest.raises(exception):
        run_tool_call(call("stop"), registry)


def test_huge_results_are_cut_with_a_note() -> None:
    registry = ToolRegistry()
    registry.add(returns("x" * 50_000))
    outcome = run_tool_call(call("produce"), registry, max_chars=1_000)
    assert outcome.content.startswith("x" * 1_000 + "\n… [cut: the result was 50,000 characters")
    assert outcome.content.endswith("these are the first 1,000]")
    assert "x" * 1_001 not in outcome.content
    assert len(run_tool_call(call("produce"), registry).content) < 20_100
    exact = run_tool_call(call("produce"), registry, max_chars=50_000)
    assert exact.content == "x" * 50_000
    with pytest.raises(ValueError, match="max_chars must be at least 1"):
        run_tool_call(call("produce"), registry, max_chars=0)


def test_several_calls_run_in_order(registry: ToolRegistry) -> None:
    calls = [
        call("get_weather", {"city": "Oslo"}),
        call("nope"),
        call("get_weather", {"city": "Atlantis"}),
    ]
    outcomes = run_tool_calls(calls, registry, max_chars=30)
    assert [outcome.call for outcome in outcomes] == calls
    assert [outcome.ok for outcome in outcomes] == [True, False, False]
    assert outcomes[0].content.startswith('{"city": "Oslo"')
    assert [tool_message(o)["tool_call_id"] for o in outcomes] == [c.id for c in calls]


# -- Summaries -------------------------------------------------------------------------------


def outcome_of(arguments: str, content: str, error: str | None = None) -> ToolOutcome:
    return ToolOutcome(ToolCall("c1", "get_weather", arguments), content, error, 0.1)


def test_summaries_read_like_python_calls() -> None:
    assert (
        outcome_of('{"city": "Paris", "days": 2}', '{"temp": 21}').summary()
        == "get_weather(city='Paris', days=2) → {\"temp\": 21}"
    )
    failed = outcome_of('{"city": "Paris"}', "Error: ValueError: x", "ValueError: unknown city")
    assert failed.summary() == "get_weather(city='Paris') ✗ ValueError: unknown city"
    assert outcome_of("{oops", "Error", "bad JSON").summary() == "get_weather({oops) ✗ bad JSON"
    assert outcome_of("", "null").summary() == "get_weather() → null"


def test_summaries_are_one_line_cut_to_width() -> None:
    long = outcome_of(json.dumps({"city": "P" * 200}), "line one\nline two " + "y" * 300)
    line = long.summary(width=80)
    assert len(line) == 80 and line.endswith("…") and "\n" not in line
    assert line.startswith("get_weather(city='PPP")
    assert "→ line one line two y" in line
    assert len(long.summary()) == 100


def test_module_exports() -> None:
    for name in glm_magics.tools.__all__:
        assert getattr(glm_magics.tools, name) is not None
    assert sorted(glm_magics.tools.__all__) == glm_magics.tools.__all__
