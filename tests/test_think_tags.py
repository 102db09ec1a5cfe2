"""The <think> splitter: every way a stream can cut the tags, and the edge cases."""

from __future__ import annotations

import copy
import itertools
import random
import time

import pytest

from glm_magics.wire.think_tags import (
    CLOSE_TAG,
    OPEN_TAG,
    Part,
    ThinkTagSplitter,
    split_think_tags,
)


def reference(text: str, expect_open_tag_in_prompt: bool = False) -> tuple[str, str]:
    """The rules, written plainly for whole strings: what every chunking must give."""
    body = text.lstrip()
    if body.startswith(OPEN_TAG):
        lead, rest = text[: len(text) - len(body)], body[len(OPEN_TAG) :]
    elif expect_open_tag_in_prompt:
        lead, rest = "", text
    else:
        return "", text
    end = rest.find(CLOSE_TAG)
    if end < 0:
        return lead + rest, ""
    return lead + rest[:end], rest[end + len(CLOSE_TAG) :].removeprefix("\n")


def run(chunks: list[str], expect_open_tag_in_prompt: bool = False) -> list[Part]:
    splitter = ThinkTagSplitter(expect_open_tag_in_prompt=expect_open_tag_in_prompt)
    parts: list[Part] = []
    for chunk in chunks:
        parts.extend(splitter.feed(chunk))
    parts.extend(splitter.flush())
    return parts


def joined(parts: list[Part]) -> tuple[str, str]:
    reasoning = "".join(text for kind, text in parts if kind == "reasoning")
    answer = "".join(text for kind, text in parts if kind == "text")
    return reasoning, answer


def check(chunks: list[str], expect: bool) -> None:
    parts = run(chunks, expect)
    assert joined(parts) == reference("".join(chunks), expect), chunks
    assert all(text for _, text in parts), parts  # no empty parts
    kinds = [kind for kind, _ in parts]
    # Reasoning only ever comes first: the leading block is the only one.
    assert kinds == sorted(kinds), parts


INPUTS = [
    "<think>Let me think.</think>\nHello!",
    "<think>a</think>b",
    "<think></think>answer",
    "<think>\nreasoning\n</think>\n\nanswer",
    "  \n<think>r</think>t",
    "<think>unterminated reasoning </thi",
    "<think>a</think>b</think>c",
    "<think>a</think>b<think>c</think>d",
    "<think>one < two </ three </thin k</think>ok",
    "<thinking>not a tag</think>",
    "<thin",
    "<b>bold</b> text",
    "Plain answer with <think> in the middle</think>.",
    "reasoning without an opening tag</think>\nthe answer",
    "</think>answer",
    "</think>\n",
    "<think></think>",
    "   ",
    "",
    "<think>思考 😀</think>\n答案 😀",
    "<<think>>",
    "<think><think></think></think>",
    "x</think>\r\ny",
]


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "open-in-prompt"])
@pytest.mark.parametrize("text", INPUTS)
def test_every_single_split_point(text: str, expect: bool) -> None:
    for cut in range(len(text) + 1):
        check([text[:cut], text[cut:]], expect)


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "open-in-prompt"])
@pytest.mark.parametrize("text", INPUTS)
def test_every_pair_of_split_points(text: str, expect: bool) -> None:
    for first, second in itertools.combinations_with_replacement(range(len(text) + 1), 2):
        check([text[:first], text[first:second], text[second:]], expect)


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "open-in-prompt"])
@pytest.mark.parametrize("text", INPUTS)
def test_one_character_at_a_time(text: str, expect: bool) -> None:
    check(list(text), expect)


@pytest.mark.parametrize("seed", range(40))
def test_random_chunking_keeps_every_character(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["<think>", "</think>", "<", "</", "<th", "</thi", "\n", " ", "a", "b", "é", "k>"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
    if rng.random() < 0.5:
        text = rng.choice(["", " ", "\n "]) + "<think>" + text
    expect = rng.random() < 0.5
    for _ in range(20):
        cuts = sorted(rng.randint(0, len(text)) for _ in range(rng.randint(0, 8)))
        chunks = [text[a:b] for a, b in itertools.pairwise([0, *cuts, len(text)])]
        check(chunks, expect)
    assert split_think_tags(text, expect_open_tag_in_prompt=expect) == reference(text, expect)


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "open-in-prompt"])
@pytest.mark.parametrize("text", INPUTS)
def test_whole_answers(text: str, expect: bool) -> None:
    assert split_think_tags(text, expect_open_tag_in_prompt=expect) == reference(text, expect)


def test_the_common_cases() -> None:
    assert split_think_tags("<think>Hmm.</think>\nHi") == ("Hmm.", "Hi")
    assert split_think_tags("Hmm.</think>\nHi", expect_open_tag_in_prompt=True) == ("Hmm.", "Hi")
    assert split_think_tags("Hmm.</think>\nHi") == ("", "Hmm.</think>\nHi")
    assert split_think_tags("Hi", expect_open_tag_in_prompt=True) == ("Hi", "")


def test_only_one_newline_after_the_closing_tag_is_dropped() -> None:
    assert split_think_tags("<think>r</think>\n\nHi") == ("r", "\nHi")
    assert split_think_tags("<think>r</think>Hi") == ("r", "Hi")
    assert split_think_tags("<think>r</think> \nHi") == ("r", " \nHi")
    assert run(["<think>r</think>", "", "\n", "Hi"]) == [("reasoning", "r"), ("text", "Hi")]


def test_a_second_closing_tag_is_text() -> None:
    assert split_think_tags("<think>a</think>b</think>c") == ("a", "b</think>c")


def test_only_the_leading_think_block_is_reasoning() -> None:
    assert split_think_tags("<think>a</think>b<think>c</think>d") == ("a", "b<think>c</think>d")
    assert split_think_tags("Say <think>x</think> here") == ("", "Say <think>x</think> here")


def test_whitespace_before_the_opening_tag_goes_to_the_reasoning() -> None:
    assert split_think_tags("\n  <think>r</think>t") == ("\n  r", "t")
    assert split_think_tags("\n  plain") == ("", "\n  plain")


def test_a_tag_prefix_that_is_not_a_tag_is_released_as_text() -> None:
    splitter = ThinkTagSplitter()
    phases = [splitter.phase]
    assert splitter.feed("<thin") == []
    phases.append(splitter.phase)
    assert splitter.feed("g>") == [("text", "<thing>")]
    phases.append(splitter.phase)
    assert phases == ["undecided", "undecided", "text"]

    splitter = ThinkTagSplitter()
    assert splitter.feed("<thin") == []
    assert splitter.flush() == [("text", "<thin")]


def test_an_unterminated_block_is_all_reasoning() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("<think>abc") == [("reasoning", "abc")]
    assert splitter.feed("</thi") == []
    assert splitter.phase == "reasoning"
    assert splitter.flush() == [("reasoning", "</thi")]
    assert split_think_tags("<think>abc") == ("abc", "")


def test_with_the_tag_opened_in_the_prompt_a_leading_tag_is_still_dropped() -> None:
    assert split_think_tags("<think>r</think>t", expect_open_tag_in_prompt=True) == ("r", "t")
    assert split_think_tags("</think>t", expect_open_tag_in_prompt=True) == ("", "t")
    splitter = ThinkTagSplitter(expect_open_tag_in_prompt=True)
    assert splitter.feed("<th") == []
    assert splitter.flush() == [("reasoning", "<th")]


def test_empty_deltas_change_nothing_in_any_phase() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("") == []
    assert splitter.feed(" <thi") == []
    assert splitter.feed("") == []
    assert splitter.feed("nk>r</th") == [("reasoning", " r")]
    assert splitter.feed("") == []
    assert splitter.feed("ink>") == []
    assert splitter.feed("") == []
    assert splitter.feed("\nt") == [("text", "t")]
    assert splitter.feed("") == []
    assert splitter.flush() == []
    assert splitter.flush() == []


@pytest.mark.parametrize(
    ("expect", "deltas", "phases"),
    [
        (
            False,
            ["", " ", "<think>", "r", "</think>", "t"],
            ["undecided", "undecided", "reasoning", "reasoning", "text", "text"],
        ),
        (False, ["Hello"], ["text"]),
        (True, ["", "Hmm", "</think>"], ["undecided", "reasoning", "text"]),
    ],
)
def test_phases(expect: bool, deltas: list[str], phases: list[str]) -> None:
    splitter = ThinkTagSplitter(expect_open_tag_in_prompt=expect)
    seen = []
    for delta in deltas:
        splitter.feed(delta)
        seen.append(splitter.phase)
    assert seen == phases


@pytest.mark.parametrize("text", [t for t in INPUTS if t and not t[0].isspace()])
@pytest.mark.parametrize("expect", [False, True], ids=["plain", "open-in-prompt"])
def test_ordinary_text_is_held_back_at_most_seven_characters(text: str, expect: bool) -> None:
    splitter = ThinkTagSplitter(expect_open_tag_in_prompt=expect)
    for char in text:
        splitter.feed(char)
        # What the stream ending now would release is exactly what is held back.
        held = sum(len(part) for _, part in copy.deepcopy(splitter).flush())
        assert held <= len(CLOSE_TAG) - 1, (text, char, held)


def test_text_after_the_reasoning_is_never_held() -> None:
    splitter = ThinkTagSplitter()
    splitter.feed("<think>r</think>\n")
    for char in "<think></think><":
        assert splitter.feed(char) == [("text", char)]


def test_reasoning_holds_only_what_could_start_a_closing_tag() -> None:
    splitter = ThinkTagSplitter()
    splitter.feed("<think>")
    assert splitter.feed("a<") == [("reasoning", "a")]
    assert splitter.feed("b") == [("reasoning", "<b")]
    assert splitter.feed("</think") == []
    assert splitter.feed("!") == [("reasoning", "</think!")]
    assert splitter.feed("<<") == [("reasoning", "<")]


def test_large_streams_take_linear_time() -> None:
    # Near-miss tags everywhere, a long whitespace run first, and tiny deltas.
    lead = " " * 50_000
    reasoning = "a </thin < </ " * 20_000
    text = lead + "<think>" + reasoning + "</think>\n" + "answer <think> " * 20_000
    splitter = ThinkTagSplitter()
    started = time.perf_counter()
    parts: list[Part] = []
    for start in range(0, len(text), 3):
        parts.extend(splitter.feed(text[start : start + 3]))
    parts.extend(splitter.flush())
    elapsed = time.perf_counter() - started
    assert joined(parts) == reference(text)
    assert elapsed < 5.0, elapsed
