"""The display layer: safe markdown, bounded and linear live updates, the terminal view."""

from __future__ import annotations

import io
import itertools
import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from glm_magics.display.highlight import highlight_code_blocks
from glm_magics.display.markdown import (
    CODE_STYLE,
    PRE_STYLE,
    IncrementalMarkdown,
    render_markdown,
)
from glm_magics.display.notebook_view import NotebookView
from glm_magics.display.plain_view import PlainView
from tests.conftest import RecordingPublisher

MODEL = "glm-4-7-flash"

XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body { display: none }</style>",
    '<a href="javascript:alert(1)">x</a>',
    '<div onmouseover="alert(1)">hover</div>',
]
UNSAFE_LINKS = [
    "[x](javascript:alert(1))",
    "[x](JavaScript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
]


# --------------------------------------------------------------------------- helpers


@dataclass
class Message:
    kind: str  # "display" or "update"
    display_id: str
    data: dict[str, str]
    time: float


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class RecordingSink:
    """A DisplaySink that keeps every bundle, stamped with the fake time."""

    clock: FakeClock = field(default_factory=FakeClock)
    messages: list[Message] = field(default_factory=list)

    def display(
        self, data: dict[str, str], display_id: str, metadata: dict[str, Any] | None = None
    ) -> None:
        assert all(m.display_id != display_id for m in self.messages), "display id reused"
        self.messages.append(Message("display", display_id, dict(data), self.clock.now))

    def update(self, data: dict[str, str], display_id: str) -> None:
        assert any(m.display_id == display_id for m in self.messages), "update before display"
        self.messages.append(Message("update", display_id, dict(data), self.clock.now))

    @property
    def bytes(self) -> int:
        return sum(len(v.encode()) for m in self.messages for v in m.data.values())

    def final(self) -> dict[str, str]:
        """The last HTML of every display, in the order the displays were created."""
        shown: dict[str, str] = {}
        for m in self.messages:
            shown[m.display_id] = m.data["text/html"]
        return shown

    def all_html(self) -> str:
        return "\n".join(m.data["text/html"] for m in self.messages)

    def ids_with(self, css_class: str) -> list[str]:
        return list(dict.fromkeys(m.display_id for m in self.messages if css_class in _html(m)))


def _html(message: Message) -> str:
    return message.data["text/html"]


def make_view(**kwargs: Any) -> tuple[NotebookView, RecordingSink]:
    sink = RecordingSink()
    view = NotebookView(MODEL, clock=sink.clock, sink=sink, **kwargs)
    return view, sink


def tokens(text: str) -> list[str]:
    """Split text into small, token-like deltas (at most four visible characters)."""
    return re.findall(r"\s*\S{1,4}|\s+", text)


def stream(view: NotebookView, sink: RecordingSink, *, reasoning: str = "", text: str = "") -> None:
    """Feed one token per 5 ms of fake time, ticking after each, as the magics do."""
    for delta in tokens(reasoning):
        view.reasoning(delta)
        view.tick()
        sink.clock.now += 0.005
    for delta in tokens(text):
        view.text(delta)
        view.tick()
        sink.clock.now += 0.005


def generate_answer(min_tokens: int, seed: int = 7) -> str:
    """A deterministic markdown answer mixing headings, prose, lists, tables and code."""
    rnd = random.Random(seed)
    words = "alpha beta gamma delta model stream token render block table list code notebook"
    vocabulary = words.split()

    def sentence(count: int) -> str:
        return " ".join(rnd.choice(vocabulary) for _ in range(count)).capitalize() + "."

    parts: list[str] = []
    section = 0
    while len(tokens("".join(parts))) < min_tokens:
        section += 1
        kind = section % 6
        parts.append(f"{'#' * (1 + section % 3)} Section {section}\n\n")
        if kind in (0, 1):
            prose = " ".join(sentence(rnd.randint(5, 15)) for _ in range(rnd.randint(2, 5)))
            parts.append(f"{prose} Some `code`, **bold** and a [link](https://example.com).\n\n")
        if kind in (1, 2):
            items = "".join(f"- {sentence(rnd.randint(3, 8))}\n" for _ in range(rnd.randint(2, 6)))
            parts.append(items + "\n")
        if kind in (2, 3):
            rows = "".join(
                f"| {rnd.choice(vocabulary)} | {rnd.randint(1, 999)} | {sentence(3)} |\n"
                for _ in range(rnd.randint(2, 6))
            )
            parts.append(f"| name | value | note |\n|---|---:|---|\n{rows}\n")
        if kind in (3, 4):
            body = "".join(
                f"def f_{section}_{n}(x):\n    return x * {n} < {section}\n"
                for n in range(rnd.randint(2, 6))
            )
            parts.append(f"```python\n{body}```\n\n")
        if kind in (4, 5):
            parts.append(f"1. {sentence(6)}\n2. {sentence(5)}\n   Setext\n\n> {sentence(8)}\n\n")
    return "".join(parts)


def unwrap_answer(page: str) -> str:
    prefix, suffix = '<div class="glm-answer">', "</div>"
    page = page[page.index(prefix) :]  # after the reasoning's <details>, if any
    assert page.endswith(suffix)
    return page[len(prefix) : -len(suffix)]


def whole_render(answer: str) -> str:
    """The HTML of a finished answer: one render of it all, its code coloured."""
    return highlight_code_blocks(render_markdown(answer))


def final_output(sink: RecordingSink) -> dict[str, str]:
    """The one output that holds the finished answer (live displays are emptied)."""
    final = sink.final()
    (answer_id,) = [i for i in sink.ids_with('class="glm-answer"') if final[i]]
    return [m.data for m in sink.messages if m.display_id == answer_id][-1]


def final_answer(sink: RecordingSink) -> str:
    """The finished answer's HTML, inside its wrapper."""
    return unwrap_answer(final_output(sink)["text/html"])


def live_answer(sink: RecordingSink) -> str:
    """What the live displays showed last before they gave way, joined in order."""
    last: dict[str, str] = {}
    for message in sink.messages:
        if 'class="glm-answer"' in _html(message):
            last[message.display_id] = _html(message)
    final_id = next(i for i in sink.ids_with('class="glm-answer"') if sink.final()[i])
    return "".join(unwrap_answer(page) for i, page in last.items() if i != final_id)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def text_content(page: str) -> str:
    return "".join(parse(page).text)


def assert_no_live_html(page: str) -> None:
    """No element or attribute that could run script or restyle the page."""
    for tag, attrs in parse(page).tags:
        assert tag not in {"script", "img", "iframe", "style", "object", "embed", "svg"}, page
        for name, value in attrs:
            assert not name.startswith("on"), page
            assert not (value or "").strip().lower().startswith(("javascript:", "data:")), page


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_render_markdown_shows_raw_html_as_text(vector: str) -> None:
    for source in (vector, f"Inline {vector} here", f"- item\n\n  {vector}", f"> {vector}"):
        page = render_markdown(source)
        assert_no_live_html(page)
        assert "&lt;" in page
        assert vector.split(">")[0] + ">" in text_content(page)


@pytest.mark.parametrize("source", UNSAFE_LINKS)
def test_render_markdown_refuses_unsafe_links(source: str) -> None:
    page = render_markdown(source)
    assert "<a " not in page and "<img" not in page, page
    assert_no_live_html(page)


def test_render_markdown_keeps_ordinary_links_and_features() -> None:
    page = render_markdown("[x](https://example.com) ~~old~~\n\n| a |\n|---|\n| 1 |\n")
    assert '<a href="https://example.com">x</a>' in page
    assert "<s>old</s>" in page and "<table>" in page


def test_images_become_links_so_nothing_is_fetched() -> None:
    page = render_markdown('![a *chart* <b>](https://evil.example/?q=secret "t")')
    assert page == (
        '<p><a href="https://evil.example/?q=secret">[image: a chart &lt;b&gt;]</a></p>\n'
    )


def test_notebook_view_never_sends_live_html() -> None:
    view, sink = make_view()
    nasty = " ".join(XSS_VECTORS + UNSAFE_LINKS)
    view.notice("retrying <script>alert(1)</script>")
    view.waiting(1.0)
    view.reasoning(f"Thinking {nasty}\n\n")
    view.tick()
    view.text(f"# Answer {nasty}\n\n{nasty}\n")
    view.tick()
    view.notice("<img src=x onerror=alert(1)>")
    view.finish("<iframe src=x></iframe> done", warning="<style>*{}</style>")
    view.error("server said <script>alert(2)</script>")
    for message in sink.messages:
        assert_no_live_html(message.data["text/html"])
    everything = sink.all_html()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in everything
    assert "&lt;iframe src=x&gt;&lt;/iframe&gt; done" in everything


class _PermissiveMarkdown:
    """A markdown renderer at its most trusting: raw HTML on, every link scheme allowed.

    Stands for whatever reads ``text/markdown`` (a notebook viewer, nbconvert, a
    frontend rendering an untrusted notebook): what it makes of the safe markdown
    must still be inert.
    """

    def __init__(self) -> None:
        from markdown_it import MarkdownIt

        class Trusting(MarkdownIt):
            def validateLink(self, url: str) -> bool:
                return True

        self._md = Trusting("commonmark", {"html": True})

    def render(self, text: str) -> str:
        return str(self._md.render(text))


def assert_inert_markdown(markdown: str) -> None:
    page = _PermissiveMarkdown().render(markdown)
    assert_no_live_html(page)
    for tag, attrs in parse(page).tags:
        assert tag != "img", page  # nothing is fetched
        for _name, value in attrs:
            cleaned = re.sub(r"[\x00-\x20]", "", value or "").lower()
            assert not cleaned.startswith(("javascript:", "vbscript:", "file:", "data:")), page


@pytest.mark.parametrize("vector", XSS_VECTORS + UNSAFE_LINKS + ["\\<script>alert(1)</script>"])
def test_every_representation_of_a_finished_answer_is_inert(vector: str) -> None:
    view, sink = make_view()
    view.reasoning(f"Thinking {vector}\n\n")
    view.tick()
    view.text(f"# Answer {vector}\n\nInline {vector} and `{vector}`\n\n- {vector}\n\n> {vector}\n")
    view.tick()
    view.finish(f"{vector} done", warning=vector)
    view.error(f"late {vector}")
    for message in sink.messages:
        assert_no_live_html(message.data["text/html"])
        if "text/markdown" in message.data:
            assert_inert_markdown(message.data["text/markdown"])
    output = final_output(sink)
    if "\n" not in vector:  # inline code is kept as written
        assert "`" + vector + "`" in output["text/markdown"]
    assert f"Inline {vector}" in output["text/plain"]  # the text, as the model wrote it


def test_a_finished_answer_reads_the_same_as_text_and_as_markdown() -> None:
    view, sink = make_view()
    stream(view, sink, reasoning="First, the sum.\n\n", text="## Total\n\nIt is **42**.\n")
    view.finish("glm-4-7-flash · 12 tokens · finish: stop")
    output = final_output(sink)
    assert output["text/plain"] == "(Reasoning · 3 words)\n\n## Total\n\nIt is **42**."
    assert output["text/markdown"].startswith("*Reasoning · 3 words*\n\n## Total\n\nIt is **42**.")
    assert output["text/html"].startswith('<details class="glm-reasoning"')
    status = sink.messages[-1].data
    assert status["text/plain"] == "glm-4-7-flash · 12 tokens · finish: stop"
    assert status["text/markdown"] == "glm\\-4\\-7\\-flash · 12 tokens · finish: stop"


def test_the_terminal_gets_no_control_characters_from_the_answer() -> None:
    view, sink = make_view()
    view.text("red \x1b[31mtext\x1b[0m and a bell\x07\r\n")
    view.tick()
    view.finish("done")
    plain = final_output(sink)["text/plain"]
    assert "\x1b" not in plain and "\x07" not in plain and "\r" not in plain
    assert plain.startswith("red \ufffd[31mtext")


def test_model_name_is_escaped() -> None:
    sink = RecordingSink()
    view = NotebookView("<b>m</b>", sink=sink, clock=sink.clock)
    view.waiting(0.0)
    assert "Waiting for &lt;b&gt;m&lt;/b&gt;… 0 s" in sink.all_html()


# --------------------------------------------------------------------------- live updates


def test_waiting_line_redraws_only_when_the_second_changes_then_clears() -> None:
    view, sink = make_view()
    for elapsed in (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 2.1):
        view.waiting(elapsed)
    top = sink.messages[0].display_id
    shown = [_html(m) for m in sink.messages if m.display_id == top]
    assert [text_content(s) for s in shown] == [
        "",
        f"Waiting for {MODEL}… 0 s",
        f"Waiting for {MODEL}… 1 s",
        f"Waiting for {MODEL}… 2 s",
    ]
    view.notice("rate limited (1302), retrying in 2.0 s, attempt 2 of 4")
    assert "attempt 2 of 4" in sink.final()[top] and "Waiting" in sink.final()[top]
    view.notice("retrying in 4.0 s, attempt 3 of 4")
    assert "attempt 2" not in sink.final()[top]
    view.text("Hi")
    view.tick()
    assert sink.final()[top] == ""
    view.notice("stream resumed")  # a notice after the first token stays until finish
    for _ in range(3):
        sink.clock.now += 1.0
        view.text(" there")
        view.tick()
    assert text_content(sink.final()[top]) == "stream resumed"
    view.finish("done")
    assert sink.final()[top] == ""


def test_first_token_is_displayed_on_the_first_tick() -> None:
    view, sink = make_view(min_interval=10.0)
    view.waiting(0.3)
    view.text("Hel")
    assert not sink.ids_with("glm-answer"), "text() only buffers"
    view.tick()
    page = sink.final()[sink.ids_with("glm-answer")[0]]
    assert page == '<div class="glm-answer"><p>Hel</p>\n</div>'


def test_redraws_are_bounded_by_the_clock_not_by_the_deltas() -> None:
    view, sink = make_view()
    for n in range(10_000):
        view.text("word " if n % 50 else "\n\nword ")
        view.tick()
        sink.clock.now += 0.0001  # 10,000 deltas in one fake second
    content = [m for m in sink.messages if "glm-answer" in _html(m)]
    redraw_times = {m.time for m in content}
    assert len(redraw_times) <= 21, len(redraw_times)
    print(f"10,000 deltas in 1 s: {len(redraw_times)} redraws, {len(content)} messages")
    view.finish("done")
    assert text_content(final_answer(sink)).split() == ["word"] * 10_000


def test_zero_min_interval_redraws_every_tick() -> None:
    view, sink = make_view(min_interval=0)
    stream(view, sink, text="# Title\n\nOne paragraph.\n\n- a list\n")
    view.finish("done")
    assert final_answer(sink) == whole_render("# Title\n\nOne paragraph.\n\n- a list\n")


def test_updates_respect_min_interval() -> None:
    view, sink = make_view(min_interval=0.5)
    view.text("a")
    view.tick()
    sent = len(sink.messages)
    for _ in range(20):
        sink.clock.now += 0.02
        view.text(" b")
        view.tick()
    assert len(sink.messages) == sent  # 0.4 s: too early for a redraw
    sink.clock.now += 0.2
    view.tick()
    assert len(sink.messages) == sent + 1


def test_long_mixed_answer_is_linear_and_renders_like_the_whole_document() -> None:
    answer = generate_answer(20_000)
    view, sink = make_view()
    stream(view, sink, text=answer)
    view.finish("done")
    # Live: at most 2.5 bytes per character; then the whole answer once more, in
    # three forms (HTML with its code coloured, markdown, text), for every reader.
    ratio = sink.bytes / len(answer.encode())
    assert ratio <= 7.5, ratio
    whole = sum(len(value.encode()) for value in final_output(sink).values())
    live = (sink.bytes - whole) / len(answer.encode())
    assert live <= 3.0, live
    per_second = len(sink.messages) / sink.clock.now
    assert per_second <= 20, per_second
    assert final_answer(sink) == whole_render(answer)
    streamed = text_content(live_answer(sink)).replace("\n", "")
    assert text_content(render_markdown(answer)).replace("\n", "").startswith(streamed)
    answer_ids = sink.ids_with('class="glm-answer"')
    assert len(answer_ids) > 50  # the answer is spread over many displays...
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for n, message in enumerate(sink.messages):
        first.setdefault(message.display_id, n)
        if _html(message):  # each is emptied once at the end, when the whole answer shows
            last[message.display_id] = n
    live_ids = answer_ids[:-1]  # the last one holds the whole answer at the end
    for earlier, later in itertools.pairwise(live_ids):
        assert last[earlier] < first[later]  # ...and a closed display is never sent again
    assert all(sink.final()[i] == "" for i in live_ids)
    print(
        f"mixed answer: {ratio:.2f}x bytes ({live:.2f}x live), {len(sink.messages)} messages, "
        f"{per_second:.1f}/s"
    )


def test_single_long_code_fence_is_linear_and_keeps_the_code() -> None:
    code = "".join(f"    value_{n} = compute({n}) + other[{n}] < {n}\n" for n in range(2000))
    answer = f"```python\n{code}```\n\nDone.\n"
    view, sink = make_view()
    stream(view, sink, text=answer)
    view.finish("done")
    ratio = sink.bytes / len(answer.encode())
    assert ratio <= 7.5, ratio
    html = live_answer(sink)
    whole = text_content(render_markdown(answer)).replace("\n", "")
    assert whole.startswith(text_content(html).replace("\n", ""))
    assert len(text_content(html)) > 0.9 * len(whole)
    assert html.count("<pre") > 10  # the fence was streamed in pieces
    assert final_answer(sink) == whole_render(answer)  # and is one block at the end, coloured
    times = sorted({m.time for m in sink.messages})
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 1.0, max(gaps)  # and it kept moving while it streamed
    print(f"code fence: {ratio:.2f}x bytes, {len(sink.messages)} messages")


def test_reasoning_streams_then_collapses_into_details() -> None:
    reasoning = "".join(f"Step {n}: consider the {n}th option carefully.\n\n" for n in range(60))
    view, sink = make_view()
    stream(view, sink, reasoning=reasoning)
    reasoning_ids = sink.ids_with("glm-reasoning")
    assert len(reasoning_ids) > 1
    assert 'style="color:#6b7280;border-left:3px solid' in sink.final()[reasoning_ids[0]]
    assert not sink.ids_with("<details")
    view.text("The answer.")
    view.tick()
    final = sink.final()
    details = final[reasoning_ids[0]]
    assert details.startswith('<details class="glm-reasoning"')
    assert "<summary>Reasoning · 420 words</summary>" in details
    assert text_content(details).count("carefully") == 60
    assert all(final[i] == "" for i in reasoning_ids[1:])
    order = list(final)
    assert order.index(reasoning_ids[0]) < order.index(sink.ids_with("glm-answer")[0])
    view.finish("done")


def test_hidden_reasoning_is_not_shown() -> None:
    view, sink = make_view(show_reasoning=False)
    stream(view, sink, reasoning="secret plan " * 100, text="Visible answer.")
    view.finish("done")
    assert "secret" not in sink.all_html()
    assert "glm-reasoning" not in sink.all_html()
    assert f"{MODEL} is reasoning… " in sink.all_html()
    assert "Visible answer." in final_answer(sink)
    assert sink.final()[sink.messages[0].display_id] == ""


def test_finish_shows_status_and_warning_once() -> None:
    view, sink = make_view()
    stream(view, sink, reasoning="Hmm.", text="Partial answer")
    view.finish("glm-4-7-flash · 12 tokens", warning="stopped: max_tokens reached")
    count = len(sink.messages)
    view.finish("again")
    view.tick()
    assert len(sink.messages) == count
    status = sink.messages[-1]
    assert 'class="glm-status"' in _html(status) and 'class="glm-warning"' in _html(status)
    assert status.data["text/plain"] == (
        "glm-4-7-flash · 12 tokens\nWarning: stopped: max_tokens reached"
    )
    assert "<p>Partial answer</p>" in final_answer(sink)


def test_error_after_a_partial_answer_is_one_line_below_it() -> None:
    view, sink = make_view()
    stream(view, sink, text="Half an answer with `code")
    view.error("connection reset (<peer>)")
    final = sink.final()
    order = list(final)
    error_id = sink.ids_with("glm-error")[0]
    assert order.index(sink.ids_with("glm-answer")[0]) < order.index(error_id)
    assert text_content(final[error_id]) == "Error: connection reset (<peer>)"
    assert "Traceback" not in sink.all_html()
    view.error("second")
    assert sink.ids_with("glm-error") == [error_id]
    view.finish("interrupted")
    assert "glm-status" in sink.all_html()


@pytest.mark.parametrize("when", ["nothing", "waiting", "reasoning", "blank text"])
def test_finish_or_error_at_any_point(when: str) -> None:
    view, sink = make_view()
    if when != "nothing":
        view.waiting(2.0)
    if when == "reasoning":
        view.reasoning("Let me think")
        view.tick()
    if when == "blank text":
        view.text("\n\n")
        view.tick()
    view.finish("stopped", warning="interrupted")
    view.finish("stopped")
    view.error("late failure")
    final = sink.final()
    assert final[sink.messages[0].display_id] == ""  # waiting line cleared
    assert not any("glm-answer" in page and "<p>" in page for page in final.values())
    if when == "reasoning":  # no answer: the reasoning stays open
        (page,) = [page for page in final.values() if "Let me think" in page]
        assert page.startswith('<div class="glm-reasoning"') and "<details" not in page
    assert "late failure" in sink.all_html()


def test_late_reference_definition_is_resolved_at_the_end() -> None:
    answer = "See [the docs][d].\n\n" + "Filler paragraph.\n\n" * 5 + "[d]: https://example.com\n"
    view, sink = make_view()
    stream(view, sink, text=answer)
    view.finish("done")
    assert final_answer(sink) == whole_render(answer)
    assert '<a href="https://example.com">the docs</a>' in final_answer(sink)


def test_through_a_real_shell_display_publisher() -> None:
    shell = InteractiveShell.instance()
    publisher = RecordingPublisher(shell=shell)
    saved = shell.display_pub
    shell.display_pub = publisher
    try:
        clock = FakeClock()
        view = NotebookView(MODEL, clock=clock)
        view.waiting(1.0)
        for delta in tokens("Thinking it over.\n\n"):
            view.reasoning(delta)
            view.tick()
            clock.now += 0.01
        for delta in tokens("# Title\n\nSome **bold** text.\n"):
            view.text(delta)
            view.tick()
            clock.now += 0.01
        view.finish("done")
    finally:
        shell.display_pub = saved
    calls = publisher.messages
    assert all(call.display_id for call in calls)
    assert len({call.display_id for call in calls}) >= 4
    created = [call.display_id for call in calls if not call.update]
    assert len(created) == len(set(created))
    assert all(set(call.data) <= {"text/html", "text/plain", "text/markdown"} for call in calls)
    page = publisher.final_html()
    assert "<h1>Title</h1>" in page and "<strong>bold</strong>" in page and "<details" in page


# --------------------------------------------------------------------------- block freezing

TRICKY_DOCUMENTS = [
    "Para one\nstill one\n\nPara two\n",
    "```python\nx = 1\n\n    ```\n~~~\n```\n\nafter\n",
    "````\n```\ninner\n```\n````\ntext\n",
    "```\nnever closed\n\nstill code\n",
    "- a\n- b\n\n  continued b\n\n- c\n\nafter list\n",
    "1. one\n2. two\n\n3. three\n\n   1. nested\n\nend\n",
    "Title\n=====\n\nSub\n---\ntext\n---\n\n***\n",
    "Line\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\nno pipe row\n\nafter\n",
    "para\n| a |\n|---|\n| 1 |\n",
    "> quote\nlazy line\n\n> second quote\n\n    code\n\n    more code\n\ntext\n",
    "- item\n\n  ```\n  code in list\n\n  ```\n\nafter\n",
    "# h1\n## h2\nplain\n### h3 ###\n",
    "a\r\nb\r\n\r\nc\rd\n",
    "text\n\n[ref]: https://example.com\n'title'\n\n[x][ref]\n",
    "  ```js\n  let a = 1;\n    indented\n  ```\n\n<b>raw</b>\n",
]


@pytest.mark.parametrize("document", TRICKY_DOCUMENTS)
def test_the_whole_answer_shown_at_the_end_is_the_whole_render(document: str) -> None:
    """Built from the HTML rendered while streaming, it must equal one render of it all."""
    view, sink = make_view(min_interval=0)
    for char in document:
        view.text(char)
        view.tick()
    view.finish("done")
    assert final_answer(sink) == whole_render(document)


@pytest.mark.parametrize("document", TRICKY_DOCUMENTS)
def test_incremental_splits_never_change_the_result(document: str) -> None:
    doc = IncrementalMarkdown()
    pieces: list[str] = []
    for char in document:
        doc.append(char)
        pieces.append(doc.split())  # as eagerly as possible: every character
        assert doc.render_tail() is not None
    doc.flush()
    pieces.append(doc.render_tail())
    if doc.saw_references:
        assert "[ref]" in document
    else:
        assert "".join(pieces) == render_markdown(document)


@pytest.mark.parametrize("document", TRICKY_DOCUMENTS)
def test_incremental_with_fence_pieces_keeps_the_text(document: str) -> None:
    doc = IncrementalMarkdown()
    pieces: list[str] = []
    for char in document:
        doc.append(char)
        if doc.worth_splitting():
            pieces.append(doc.split())
        pieces.append(doc.split_fence(1))
    doc.flush()
    pieces.append(doc.render_tail())
    expected = render_markdown(document)
    if not doc.saw_references:
        squash = re.compile(r"\s+")
        assert squash.sub("", text_content("".join(pieces))) == squash.sub(
            "", text_content(expected)
        )


def test_open_fence_is_not_reparsed_for_every_line() -> None:
    doc = IncrementalMarkdown()
    doc.append("```\n")
    doc.split()
    checks = 0
    for n in range(500):
        doc.append(f"line {n}\n")
        checks += doc.worth_splitting()
    assert checks == 0 and doc.in_fence
    doc.append("```\n")
    assert doc.worth_splitting()
    assert doc.split().startswith(f'<pre style="{PRE_STYLE}"><code style="{CODE_STYLE}">line 0\n')
    assert doc.tail == ""


# --------------------------------------------------------------------------- terminal


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_plain(view: PlainView) -> None:
    view.waiting(0.2)
    view.waiting(1.4)
    view.reasoning("Let me")
    view.reasoning(" think.\nSecond")
    view.reasoning(" line.")
    view.text("The **answer**.")
    view.text("\n")
    view.tick()
    view.finish("done · 3 tokens", warning="stopped early")
    view.finish("again")


def test_plain_view_without_colour_prefixes_reasoning_lines() -> None:
    out = io.StringIO()
    run_plain(PlainView(MODEL, stream=out))
    assert out.getvalue() == (
        "│ Let me think.\n│ Second line.\n\n"
        "The **answer**.\n\ndone · 3 tokens\nWarning: stopped early\n"
    )


def test_plain_view_with_colour_on_a_tty() -> None:
    out = TTY()
    run_plain(PlainView(MODEL, stream=out))
    waiting_0 = f"\rWaiting for {MODEL}… 0 s"
    assert out.getvalue() == (
        f"{waiting_0}\rWaiting for {MODEL}… 1 s"
        + "\r" + " " * (len(waiting_0) - 1) + "\r"
        + "\x1b[2mLet me think.\nSecond line.\x1b[0m\n\n"
        + "The **answer**.\n\n\x1b[2mdone · 3 tokens\x1b[0m\n"
        + "\x1b[33mWarning: stopped early\x1b[0m\n"
    )  # fmt: skip


def test_plain_view_errors_hidden_reasoning_and_control_characters() -> None:
    out = io.StringIO()
    view = PlainView(MODEL, show_reasoning=False, stream=out, color=False)
    view.waiting(3.0)  # not a tty: no waiting line
    view.notice("rate limited, retrying in 2.0 s")
    view.reasoning("hidden")
    view.text("Half \x1b]0;pwned\x07answer\r\n")
    view.error("stream broke")
    assert out.getvalue() == (
        "rate limited, retrying in 2.0 s\nHalf \ufffd]0;pwned\ufffdanswer\n\nError: stream broke\n"
    )


def test_a_long_reasoning_paragraph_keeps_moving_with_bounded_redraws() -> None:
    view, sink = make_view()
    paragraph = " ".join(f"thought{i}" for i in range(400))  # ~3,600 characters, one block
    for delta in tokens(paragraph):
        view.reasoning(delta)
        view.tick()
        sink.clock.now += 0.025  # 40 tokens per second
    duration = sink.clock.now
    reasoning = [m for m in sink.messages if "glm-reasoning" in _html(m)]
    distinct = {_html(m) for m in reasoning}
    assert len(distinct) >= duration / 0.5  # a visible change at least every half second
    assert max(len(_html(m)) for m in reasoning) < 2_000  # each redraw is bounded
    assert "thought39" in _html(reasoning[-1])  # within the last redraw interval
    view.text("Answer.")
    view.tick()
    view.finish("done")
    details = next(html for html in sink.final().values() if "<details" in html)
    assert "thought0 " in details and "thought399" in details  # the whole text, once


@pytest.mark.parametrize(
    ("text", "reasoning", "warning"),
    [
        ("Half an", "Thinking.", "Stopped: the answer above is partial."),
        ("", "Thinking it", "Stopped while the model was reasoning: no answer yet."),
        ("", "", "Stopped before the model answered: no answer."),
    ],
)
def test_a_stop_says_what_it_stopped(text: str, reasoning: str, warning: str) -> None:
    from glm_magics.display.status import format_status
    from glm_magics.results import ChatResult

    result = ChatResult(model=MODEL, text=text, reasoning=reasoning, interrupted=True)
    assert format_status(result)[1] == warning


def test_backticked_parts_of_a_message_show_as_code() -> None:
    view, sink = make_view()
    view.info("(`%glm usage` counts them)")
    view.finish("done", warning="raise it with `%glm config max_tokens=...`")
    view.error("run `%glm key` or `<script>alert(1)</script>`")
    page = sink.all_html()
    assert "(<code>%glm usage</code> counts them)" in page
    assert "<code>%glm config max_tokens=...</code>" in page
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in page
    assert "`" not in text_content(page)
    for message in sink.messages:
        assert_no_live_html(message.data["text/html"])


def test_a_finished_answers_code_is_coloured_and_stays_text() -> None:
    from pathlib import Path

    from glm_magics.display.highlight import CLASSES

    answer = (
        "```python\n@cache\ndef f(x):\n    return len(x) + 1  # '</code></pre><script>'\n```\n\n"
        "```\n<b>no language</b>\n```\n\n```klingon\nqapla'\n```\n"
    )
    view, sink = make_view()
    view.text(answer)
    view.tick()
    view.finish("done")
    page = final_answer(sink)
    assert '<span class="glm-k">def</span> <span class="glm-d">f</span>' in page
    assert '<span class="glm-b">len</span>' in page and '<span class="glm-a">@cache</span>' in page
    assert (
        '<span class="glm-c"># &#x27;&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;&#x27;</span>' in page
    )
    assert "&lt;b&gt;no language&lt;/b&gt;" in page and ">qapla'\n</code>" in page  # plain
    assert_no_live_html(page)
    assert text_content(page) == text_content(render_markdown(answer))  # same text, coloured
    coloured = {m.display_id for m in sink.messages if "glm-k" in m.data["text/html"]}
    assert len(coloured) == 1  # coloured once, in the output that shows it whole
    assert sink.final()[coloured.pop()] == sink.final()[sink.ids_with("glm-k")[0]]
    css = (Path(__file__).parents[1] / "glm_magics/frontend/style/index.css").read_text()
    for name in CLASSES:  # the extension's stylesheet colours every class the kernel sends
        assert f".{name} {{" in css, name
    assert "background: none" in css and "--jp-cell-editor-background" in css
