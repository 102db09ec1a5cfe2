"""``{name}`` references: replaced when they resolve, everything else left exactly as written."""

from __future__ import annotations

import random
import re
from collections import ChainMap
from typing import Any

import pytest

from glm_magics.context.references import Expansion, expand, namespace_resolver


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y
        self.tags = ["a", "b"]

    def __str__(self) -> str:
        return f"Point({self.x}, {self.y})"


class Exploding:
    """Every way a lookup can fail, with exceptions a plain ``except KeyError`` misses."""

    reads = 0

    @property
    def boom(self) -> int:
        raise RuntimeError("property failed")

    @property
    def counted(self) -> int:
        Exploding.reads += 1
        return Exploding.reads

    def __getitem__(self, key: object) -> int:
        raise ZeroDivisionError("no items here")


class BadStr:
    def __str__(self) -> str:
        raise ValueError("cannot print me")


class Calls:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return "called"


@pytest.fixture
def ns() -> dict[str, Any]:
    return {
        "name": "Ada",
        "n": 3,
        "p": Point(1, 2),
        "seq": [10, 20, 30],
        "d": {"key": "value", "with space": "ok", 7: "seven"},
        "nested": {"rows": [{"id": 5}]},
        "In": ["", "x = 1", "print(x)"],
        "Out": {2: 42},
        "ex": Exploding(),
        "bad": BadStr(),
        "f": Calls(),
        "_": "last output",
    }


def run(template: str, ns: dict[str, Any], **kwargs: Any) -> Expansion:
    return expand(template, namespace_resolver(ns), **kwargs)


def text(template: str, ns: dict[str, Any]) -> str:
    return run(template, ns).text


# --- references that resolve ------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{name}", "Ada"),
        ("Hi {name}, n={n}.", "Hi Ada, n=3."),
        ("{p}", "Point(1, 2)"),
        ("{p.x},{p.y}", "1,2"),
        ("{p.tags[1]}", "b"),
        ("{p.tags.__len__}", "{p.tags.__len__}"),
        ("{seq[0]} {seq[-1]}", "10 30"),
        ("{d['key']} {d[\"key\"]}", "value value"),
        ("{d['with space']}", "ok"),
        ("{d[7]}", "seven"),
        ("{nested['rows'][0]['id']}", "5"),
        ("{In[2]}", "print(x)"),
        ("{Out[2]}", "42"),
        ("{_}", "last output"),
        ("{name}{name}", "AdaAda"),
    ],
)
def test_references_are_replaced(template: str, expected: str, ns: dict[str, Any]) -> None:
    assert text(template, ns) == expected


def test_references_are_listed_once_in_order_of_first_use(ns: dict[str, Any]) -> None:
    done = run("{n} {name} {unknown} {n} {p.x}", ns)
    assert done.text == "3 Ada {unknown} 3 1"
    assert done.references == ["n", "name", "p.x"]
    assert done.notes == []


def test_err_and_other_provided_names_come_from_a_chain_map(ns: dict[str, Any]) -> None:
    resolve = namespace_resolver(ChainMap({"Err": ["first", "last"]}, ns))
    assert expand("{Err[-1]} and {name}", resolve).text == "last and Ada"


# --- code, data and markup pass through -------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        'd = {"a": 1, "b": {"c": [1, 2]}}',
        '{"a": {"b": {"c": 1}}}',
        "[{}, {{}}, {1, 2}]",
        "s = {k: v for k, v in items}",
        'f"{total:.2f} {value!r} {x=} {obj.attr()}"',
        r"\frac{a}{b} + \sqrt{\frac{1}{2}} + x^{2}",
        r"\begin{align} a &= b \\ \end{align}",
        "{{ jinja_var }} {% for x in xs %}{{ x | upper }}{% endfor %}",
        'fn main() { println!("{}", x); }',
        "{0} {1:>10} {} { name } {name!r} {name:>10} {n!s:^5}",
        "{ { name } }",
        "{",
        "}",
        "{{",
        "}}",
        "}{",
        "{{{",
        "}}}",
        "{a{b}}",
        "{{a}",
        "{a}}",
        "{seq[ 0 ]} {seq[0x1]} {seq[1.5]} {seq[+1]} {d['a\\'b']} {d[key]}",
        "{f()} {p.x()} {name.upper()} {p..x} {p.} {.x} {9x} {seq[]}",
        "{__builtins__} {p.__class__} {p.__dict__} {p.x.__class__.__name__}",
    ],
)
def test_code_data_and_markup_are_left_untouched(template: str, ns: dict[str, Any]) -> None:
    done = run(template, ns)
    assert done == Expansion(template, [], [])


def test_a_reference_inside_code_is_replaced_when_the_name_is_defined(
    ns: dict[str, Any],
) -> None:
    # Documented: the prompt cannot tell code from prose, so {name} is a reference.
    assert text('print(f"{name} has {n:>3} items")', ns) == 'print(f"Ada has {n:>3} items")'
    assert text("{a{name}}", ns) == "{aAda}"
    assert text(r"\frac{n}{b}", ns) == r"\frac3{b}"


def test_dunder_attributes_and_names_are_refused_and_never_looked_up() -> None:
    looked_up: list[str] = []

    def resolve(expression: str) -> object:
        looked_up.append(expression)
        return "LEAK"

    template = "{x.__class__} {__import__} {x.y.__dict__} {x[0].__globals__}"
    assert expand(template, resolve).text == template
    assert looked_up == []


def test_calls_are_refused_and_nothing_is_called(ns: dict[str, Any]) -> None:
    assert text("{f()} {f.__call__} {f}", ns).startswith("{f()} {f.__call__} <")
    assert ns["f"].calls == 0


# --- escapes ----------------------------------------------------------------------


def test_a_doubled_pair_around_a_reference_keeps_it_literal(ns: dict[str, Any]) -> None:
    assert text("use {{name}} for {name}", ns) == "use {name} for Ada"
    assert text("{{p.tags[0]}} {{d['key']}}", ns) == "{p.tags[0]} {d['key']}"
    assert text("{{unknown}} {{x.__class__}}", ns) == "{unknown} {x.__class__}"
    assert run("{{name}}", ns).references == []


def test_other_doubled_braces_are_left_as_written(ns: dict[str, Any]) -> None:
    # Unlike str.format: collapsing every }} would break nested dicts, JSON and LaTeX.
    for template in (
        '{"a": {"b": {"c": [1]}}}',
        r"\sqrt{\frac{1}{2}}",
        "{{ name }}",
        "{{1}} {{}} {{name!r}} {{n:>3}}",
        "{{{",
        "}}}",
    ):
        assert text(template, ns) == template


# --- replaced once ----------------------------------------------------------------


def test_values_are_inserted_verbatim_and_never_expanded_again() -> None:
    ns: dict[str, Any] = {
        "template": "{secret}",
        "escaped": "{{secret}} and }} {{",
        "secret": "hunter2",
    }
    assert text("{template} / {escaped}", ns) == "{secret} / {{secret}} and }} {{"
    assert run("{template}", ns).references == ["template"]


def test_each_reference_is_resolved_and_printed_once(ns: dict[str, Any]) -> None:
    Exploding.reads = 0
    assert text("{ex.counted} {ex.counted} {{ex.counted}}", ns) == "1 1 {ex.counted}"
    assert Exploding.reads == 1


# --- failures leave the reference as written ----------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{unknown}",
        "{p.missing}",
        "{seq[99]}",
        "{seq[-99]}",
        "{d['nope']}",
        "{n[0]}",
        "{n.real.imag.x}",
        "{ex.boom}",
        "{ex[0]}",
        "{ex['key']}",
        "{bad}",
        "{name['k']}",
    ],
)
def test_a_failing_lookup_leaves_the_reference_untouched(template: str, ns: dict[str, Any]) -> None:
    assert run(f"before {template} after {{n}}", ns) == Expansion(
        f"before {template} after 3", ["n"], []
    )


def test_any_exception_from_a_custom_resolver_leaves_the_reference_untouched() -> None:
    class Weird(Exception):
        pass

    def resolve(expression: str) -> object:
        if expression == "ok":
            return "fine"
        raise Weird(expression)

    assert expand("{ok} {other} {x.y}", resolve).text == "fine {other} {x.y}"


# --- long values ------------------------------------------------------------------


def test_long_values_are_cut_with_a_marker_and_a_note() -> None:
    ns: dict[str, Any] = {"big": "x" * 120_345, "small": "y" * 10}
    done = run("{small}\n{big}\n{big}", ns, max_chars=4000)
    first, second, third = done.text.split("\n")
    assert first == "y" * 10
    assert second == "x" * 4000 + "…[cut: 4,000 of 120,345 characters]"
    assert third == second
    assert done.notes == ["{big} cut to 4,000 of 120,345 characters"]
    assert done.references == ["small", "big"]


def test_max_chars_bounds() -> None:
    assert expand("{v}", {"v": "abc"}.__getitem__, max_chars=3).text == "abc"
    assert expand("{v}", {"v": "abc"}.__getitem__, max_chars=0).text == "…[cut: 0 of 3 characters]"
    with pytest.raises(ValueError, match="max_chars"):
        expand("{v}", {"v": "abc"}.__getitem__, max_chars=-1)


# --- the resolver -----------------------------------------------------------------


def test_namespace_resolver_follows_the_grammar(ns: dict[str, Any]) -> None:
    resolve = namespace_resolver(ns)
    assert resolve("p.tags[-1]") == "b"
    assert resolve("nested['rows'][0]") == {"id": 5}
    with pytest.raises(LookupError, match="unknown name 'missing'"):
        resolve("missing.x")
    with pytest.raises(AttributeError):
        resolve("p.missing")
    with pytest.raises(IndexError):
        resolve("seq[5]")
    for expression in ("f()", "p.__class__", "__builtins__", "seq[1:2]", "n + 1", " n", ""):
        with pytest.raises(ValueError, match="not a reference"):
            resolve(expression)


# --- never raises -----------------------------------------------------------------


def test_random_brace_soup_never_raises_and_only_escapes_change_without_known_names() -> None:
    # An independent statement of the grammar: with no names defined, the only change
    # is each leftmost {{reference}} losing one pair of braces.
    escape = re.compile(r"\{\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[(?:-?\d+|'[^'\\]*')\])*)\}\}")
    alphabet = ["{", "}", "{{", "}}", "x", "y.z", "[0]", "['k']", "!r", ":>3", " ", "\\", '"', "'"]
    rng = random.Random(20240611)
    resolve = namespace_resolver({})
    for _ in range(3000):
        template = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert expand(template, resolve).text == escape.sub(r"{\1}", template), template


def test_random_brace_soup_with_brace_values_never_raises() -> None:
    alphabet = ["{", "}", "{{", "}}", "x", "y", "[0]", "['k']", ".a", " ", "{x}", "{{x}}"]
    rng = random.Random(7)
    resolve = namespace_resolver({"x": "{x}", "y": {"k": "{{"}})
    for _ in range(3000):
        template = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        done = expand(template, resolve)
        for reference in done.references:
            resolve(reference)  # only references that resolve were replaced
