"""%%glm in JupyterLab, in Chromium: what only a real frontend shows.

The kernel runs the package's local GLM server, so the answers are scripted and
paced; the assertions are on the page (the DOM the user sees) and on the saved
file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.jupyter_server import JupyterServer
from tests.browser.notebook_page import (
    END_MARKER,
    NotebookPage,
    OpenNotebook,
    OutputState,
    notebook_session,
    save_screenshot,
)
from tests.browser.scenarios import (
    CODE_BLOCKS,
    CODE_REPLY,
    STREAMING_REASONING,
    STREAMING_TEXT,
    UNTRUSTED_TEXT,
    glm_extension_enabled,
    setup_cell,
    strip_generated_header,
)

pytestmark = pytest.mark.browser

ASK = 1  # every scenario notebook: setup cell, then the %%glm cell


def distinct(texts: list[str]) -> list[str]:
    """The non-empty texts, first occurrences only, in order."""
    return list(dict.fromkeys(text for text in texts if text))


@dataclass(frozen=True)
class Recording:
    """A %%glm cell watched while it streamed: the page and every distinct state."""

    nb: NotebookPage
    states: list[OutputState]

    @property
    def summary(self) -> str:
        return "\n".join(map(repr, self.states))


@pytest.fixture(scope="module")
def streamed(browser_context: BrowserContext, lab_server: JupyterServer) -> Iterator[Recording]:
    """One paced answer (1 s to the first token, 40 tokens/s), sampled every 150 ms.

    Module-scoped so that the streaming tests share one run of about ten seconds.
    """
    setup = setup_cell(
        reasoning=STREAMING_REASONING, text=STREAMING_TEXT, ttft=1.0, tokens_per_second=40
    )
    tab = browser_context.new_page()
    with notebook_session(tab, lab_server, screenshot=None) as open_notebook:
        try:
            nb = open_notebook("streaming.ipynb", [setup, "%%glm\nHow should I clean my sales"])
            nb.run(0)
            nb.start(ASK)
            states = nb.watch_output(ASK, interval=0.15)
            nb.wait_finished(ASK)
        except BaseException:
            save_screenshot(tab, "test_lab-streaming-setup-failed")
            raise
        yield Recording(nb, states)


@pytest.fixture
def recording(streamed: Recording, request: pytest.FixtureRequest) -> Iterator[Recording]:
    """The shared recording; the page is screenshot under the test's name at the end."""
    yield streamed
    save_screenshot(streamed.nb.page, request.node.name)


def test_answer_streams_in_progressively(recording: Recording) -> None:
    states, summary = recording.states, recording.summary
    final = states[-1]
    assert not any(s.error for s in states), summary

    waited = [n for n, s in enumerate(states) if s.waiting.startswith("Waiting for")]
    reasoned = [n for n, s in enumerate(states) if s.reasoning]
    assert waited, f"the waiting line never showed:\n{summary}"
    assert reasoned, f"the live reasoning never showed:\n{summary}"
    assert waited[0] < reasoned[0], summary
    assert not any(s.waiting for s in states[reasoned[0] :]), "the waiting line outlived tokens"
    live = distinct([s.reasoning for s in states if not s.answer])
    assert all(STREAMING_REASONING.startswith(text) for text in live), live
    assert [len(t) for t in live] == sorted(len(t) for t in live), live

    answering = [s for s in states if s.answer]
    assert all(s.details == "closed" and not s.reasoning for s in answering), (
        f"the reasoning did not collapse into a closed <details> once the answer began:\n{summary}"
    )
    answers = distinct([s.answer for s in answering])
    assert answers[-1] == final.answer
    assert len(answers) - 1 >= 3, f"the answer grew through only {answers[:-1]}"
    assert [len(t) for t in answers] == sorted(len(t) for t in answers), answers
    assert "you trust the table for analysis." in final.answer

    assert "finish: stop" in final.status, summary
    assert all(s.answer == final.answer for s in states if s.status), "status before the answer"

    details = recording.nb.cell(ASK).locator("details.glm-reasoning")
    expect(details.locator("summary")).to_contain_text("Reasoning")
    details.locator("summary").click()
    expect(details).to_contain_text("covering every corner case.")


def test_reasoning_grows_while_it_streams(recording: Recording) -> None:
    live = distinct([s.reasoning for s in recording.states if not s.answer])
    assert len(live) >= 3, f"the reasoning showed only {live}:\n{recording.summary}"


def test_untrusted_markup_stays_text(open_in_lab: OpenNotebook) -> None:
    nb = open_in_lab("untrusted.ipynb", [setup_cell(text=UNTRUSTED_TEXT), "%%glm\nShow markup"])
    nb.run(0)
    nb.run(ASK)
    final = nb.final_output(ASK)
    assert final.status and not final.error, final

    output = nb.cell(ASK).locator(".jp-OutputArea")
    assert output.locator("img, script, iframe").count() == 0
    links = output.locator(".glm-answer a", has_text="click")
    for number in range(links.count()):
        links.nth(number).click(no_wait_after=True)
    nb.page.wait_for_timeout(300)  # time for a handler that slipped through to run

    assert nb.page.evaluate("typeof window.__glm_pwned") == "undefined"
    script = output.locator(".glm-answer").get_by_text("<script>window.__glm_pwned=2</script>")
    expect(script).to_be_visible()
    assert '<img src=x onerror="window.__glm_pwned=1">' in final.answer
    assert "[click](javascript:window.__glm_pwned=3)" in final.answer


SHOW_AS_MARKDOWN = """\
from glm_magics.display.text_forms import safe_markdown
display({"text/markdown": safe_markdown(shown.text)}, raw=True)"""


def test_the_markdown_form_of_an_answer_stays_text_in_a_trusting_renderer(
    open_in_lab: OpenNotebook,
) -> None:
    """The answer's text/markdown, rendered by JupyterLab as trusted output (raw HTML
    allowed): every vector still shows as text and nothing runs or loads."""
    nb = open_in_lab(
        "markdown_form.ipynb",
        [setup_cell(text=UNTRUSTED_TEXT), "%%glm -o shown\nShow markup", SHOW_AS_MARKDOWN],
    )
    nb.run(0)
    nb.run(ASK)
    nb.final_output(ASK)
    nb.run(ASK + 1)
    rendered = nb.cell(ASK + 1).locator(".jp-RenderedMarkdown")
    expect(rendered).to_contain_text('<img src=x onerror="window.__glm_pwned=1">')
    expect(rendered).to_contain_text("<script>window.__glm_pwned=2</script>")
    assert rendered.locator("img, script, iframe").count() == 0
    for number in range(rendered.locator("a").count()):
        href = rendered.locator("a").nth(number).get_attribute("href") or ""
        assert not href.strip().lower().startswith("javascript:"), href
    nb.page.wait_for_timeout(300)
    assert nb.page.evaluate("typeof window.__glm_pwned") == "undefined"


def check_inserted(nb: Any, expected: list[str], ask: int = ASK) -> None:
    """The cells below the asking cell ``ask`` are ``expected`` (headers aside), unrun and
    saved, and the end marker follows them."""
    inserted = range(ask + 1, ask + 1 + len(expected))
    expect(nb.cells).to_have_count(ask + 2 + len(expected))  # + the end marker
    expect(nb.cell(inserted[-1] + 1)).to_contain_text(END_MARKER.strip("*"))
    shown = [nb.source(index) for index in inserted]
    assert all(source.startswith("# generated by ") for source in shown), shown
    assert [strip_generated_header(source) for source in shown] == expected
    for index in inserted:
        assert nb.prompt(index) == "[ ]:", "an inserted cell was executed"
        assert nb.cell(index).locator(".jp-OutputArea-output").count() == 0

    nb.save()
    cells = nb.saved().cells
    on_disk = cells[ask + 1 : ask + 1 + len(expected)]
    assert [strip_generated_header(cell.source) for cell in on_disk] == expected
    assert all(cell.source.startswith("# generated by ") for cell in on_disk)
    assert all(cell.cell_type == "code" and cell.execution_count is None for cell in on_disk)
    assert cells[ask + 1 + len(expected)].source == END_MARKER


def test_code_blocks_go_into_new_unexecuted_cells(
    open_in_lab: OpenNotebook, lab_server: JupyterServer
) -> None:
    assert glm_extension_enabled(lab_server.env), "the built extension is not installed"
    nb = open_in_lab("code.ipynb", [setup_cell(text=CODE_REPLY), "%%glm --code\nSum the sales"])
    nb.run(0)
    nb.run(ASK)
    final = nb.final_output(ASK)
    assert final.status and not final.error, final
    check_inserted(nb, [block.rstrip("\n") for block in CODE_BLOCKS])  # one cell per block
    saved = nb.saved().cells[ASK + 1]
    assert saved.metadata["glm_magics"]["generated_by"] == "glm-4-7-flash"


def test_without_the_extension_the_fallback_inserts_one_joined_cell(
    open_in_plain_lab: OpenNotebook, plain_lab_server: JupyterServer
) -> None:
    assert not glm_extension_enabled(plain_lab_server.env)
    nb = open_in_plain_lab(
        "fallback.ipynb", [setup_cell(text=CODE_REPLY), "%%glm --code\nSum the sales"]
    )
    nb.run(0)
    nb.run(ASK)
    final = nb.final_output(ASK)
    assert final.status and not final.error, final
    check_inserted(nb, ["\n\n".join(block.rstrip("\n") for block in CODE_BLOCKS)])


TOOLS_SETUP = """\
%load_ext glm_magics
from glm_magics.testing import LocalGLMServer, Reply, ToolCallSpec
server = LocalGLMServer().start()
server.queue(
    Reply(reasoning="Doubling first.", tool_calls=[ToolCallSpec("double", '{"x": 21}')]),
    Reply(text="It is **42** [1].", web_search=[
        {"title": "<img src=x onerror='window.__glm_pwned=4'>Bad",
         "link": "javascript:window.__glm_pwned=5"},
        {"title": "Doubling, explained", "link": "https://example.org/doubling",
         "media": "example.org"},
    ]),
)
%glm config base_url={server.base_url}

def double(x: int) -> int:
    \"\"\"Double a whole number.\"\"\"
    return 2 * x"""


def test_tool_calls_and_sources_show_safely(open_in_lab: OpenNotebook) -> None:
    nb = open_in_lab("tools.ipynb", [TOOLS_SETUP, "%%glm --tools double --search\nDouble 21"])
    nb.run(0)
    nb.run(ASK)
    final = nb.final_output(ASK)
    assert "finish: stop" in final.status and not final.error, final
    cell = nb.cell(ASK)
    expect(cell.locator(".glm-tool")).to_contain_text("double(x=21) → 42")
    expect(cell.locator(".glm-info").first).to_contain_text("$0.033")
    sources = cell.locator(".glm-sources li")
    expect(sources).to_have_count(2)
    links = cell.locator(".glm-sources a")
    expect(links).to_have_count(1)  # the javascript: source is text, not a link
    assert links.first.get_attribute("href") == "https://example.org/doubling"
    assert "noopener" in (links.first.get_attribute("rel") or "")
    assert cell.locator(".glm-sources img").count() == 0
    sources.first.click()
    nb.page.wait_for_timeout(300)
    assert nb.page.evaluate("typeof window.__glm_pwned") == "undefined"
    assert "finish: tool_calls" in cell.inner_text()  # the tool round has its own status
