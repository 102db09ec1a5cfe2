"""JSON mode, the built-in web search and ``%glm usage``, through the magics and the client."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import httpx
import pytest
from IPython.core.error import UsageError

from glm_magics import ChatResult, GLMClient
from glm_magics.display.json_block import json_html
from glm_magics.display.plain_view import PlainView
from glm_magics.display.sources import sources_html
from glm_magics.errors import JSONAnswerError
from glm_magics.results import WebSource
from glm_magics.testing import LocalGLMServer, Reply
from glm_magics.wire.web_search import SearchOptions
from tests.conftest import Session

SOURCES = [
    {
        "title": "GLM-4.7 release notes",
        "link": "https://example.org/glm-4-7",
        "content": "GLM-4.7 was released…",
        "media": "example.org",
        "publish_date": "2025-12-22",
        "refer": "ref_1",
        "icon": "",
    },
    {"title": "<b>Second</b> source", "link": "javascript:alert(1)", "refer": "ref_2"},
]


def test_json_mode_sends_response_format_and_parses(session: Session) -> None:
    session.server.queue(Reply(text='{"city": "Lisbon", "population": 545000}'))
    session.cell("--json -o r", "Lisbon as JSON")
    assert session.server.requests[-1].body["response_format"] == {"type": "json_object"}
    result = session.shell.user_ns["r"]
    assert result.json == {"city": "Lisbon", "population": 545000}
    html = session.publisher.final_html()
    assert "Valid JSON (dict with 2 entries)" in html and "glm-error" not in html
    assert '<pre class="glm-json"' in html  # shown as JSON, not as prose
    assert '<span class="glm-p">' in html and '<span class="glm-m">545000</span>' in html
    assert html.count('class="glm-answer"') == 1


def test_a_json_answer_is_escaped_and_coloured_by_token() -> None:
    page = json_html('{\n  "<b>x</b>": "<script>alert(1)</script>",\n  "n": [1.5, true, null]\n}')
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('<span class="glm-k">') == 2  # true and null
    assert page.count('<span class="glm-m">') == 1
    text = re.sub(r"<[^>]+>", "", page)
    assert html.unescape(text).startswith('{\n  "<b>x</b>": "<script>')  # the text is intact


def test_invalid_json_is_a_clear_error_and_keeps_the_text(session: Session) -> None:
    session.server.queue(Reply(text='{"city": "Lisbon", population: }'))
    session.cell("--json -o r", "Lisbon as JSON")
    html = session.publisher.final_html()
    assert "glm-error" in html and "not valid JSON" in html and "line 1, column 20" in html
    result = session.shell.user_ns["r"]
    assert result.text == '{"city": "Lisbon", population: }'
    with pytest.raises(JSONAnswerError) as failure:
        _ = result.json
    assert failure.value.text == result.text


def test_json_in_a_fence_and_the_json_setting(session: Session) -> None:
    session.magics.session.settings.json = True
    session.server.queue(Reply(text="```json\n[1, 2, 3]\n```"))
    session.line("three numbers as JSON")
    assert session.server.requests[-1].body["response_format"] == {"type": "json_object"}
    assert "Valid JSON (list with 3 entries)" in session.publisher.final_html()
    with pytest.raises(JSONAnswerError, match="empty"):
        _ = ChatResult(text=" \n").json


def test_search_options_reach_the_request(session: Session) -> None:
    session.server.queue(Reply(text="Found it [1].", web_search=SOURCES))
    session.cell(
        "--search --search-count 7 --search-domain example.org --search-recency oneWeek "
        "--search-prompt 'Cite as [n]' -o r",
        "What is new in GLM-4.7?",
    )
    body = session.server.requests[-1].body
    assert "tools" not in body  # the hosted service's form: top-level fields
    assert {key: body[key] for key in body if key.startswith(("tool_", "search_", "count"))} == {
        "tool_web_search": True,
        "search_result": True,
        "count": 7,
        "search_domain_filter": "example.org",
        "search_recency_filter": "oneWeek",
        "search_prompt": "Cite as [n]",
    }
    result = session.shell.user_ns["r"]
    assert [s.title for s in result.sources] == ["GLM-4.7 release notes", "<b>Second</b> source"]
    html = session.publisher.final_html()
    assert 'class="glm-sources"' in html
    assert '<a href="https://example.org/glm-4-7"' in html and "2025-12-22" in html
    assert "javascript:" not in html and "&lt;b&gt;Second&lt;/b&gt; source" in html
    assert html.index("Found it") < html.index("glm-sources") < html.index("glm-status")


def test_no_search_results_and_bad_options(session: Session) -> None:
    session.cell("--search --no-search-results", "Anything new?")
    body = session.server.requests[-1].body
    assert body["tool_web_search"] is True and body["search_result"] is False
    with pytest.raises(UsageError, match="between 1 and 50"):
        session.cell("--search-count 0", "x")
    with pytest.raises(UsageError, match="one domain"):
        session.cell("--search --search-domain 'a b'", "x")


def test_search_cost_is_said_once_and_counted(session: Session) -> None:
    session.magics.session._search_cost_shown = False
    session.magics.session.usage.reset()
    session.cell("--search", "first search")
    assert "$0.033" in session.publisher.final_html()
    session.publisher.messages.clear()
    session.cell("--search", "second search")
    assert "$0.033" not in session.publisher.final_html()
    session.cell("", "no search this time")
    assert session.magics.session.usage.searches == 2
    assert session.magics.session.usage.search_cost == pytest.approx(0.066)


def test_the_local_server_answers_a_search_with_stand_in_sources(session: Session) -> None:
    session.cell("--search --search-count 2 -o r", "news about GLM")
    result = session.shell.user_ns["r"]
    assert len(result.sources) == 2
    assert all(s.link.startswith("https://example.org/") for s in result.sources)


def test_sources_come_with_a_non_streamed_answer_too(session: Session) -> None:
    session.server.queue(Reply(text="Found [1].", web_search=SOURCES[:1]))
    with GLMClient(base_url=session.server.base_url) as client:
        result = client.chat(
            [{"role": "user", "content": "x"}], stream=False, tools=[SearchOptions().tool()]
        )
    assert result.sources == [WebSource.from_payload(SOURCES[0])]


def test_usage_reports_the_session(session: Session, capsys: pytest.CaptureFixture[str]) -> None:
    session.magics.session.usage.reset()
    session.server.queue(
        Reply(
            text="one",
            usage={
                "prompt_tokens": 100,
                "completion_tokens": 40,
                "total_tokens": 140,
                "prompt_tokens_details": {"cached_tokens": 30},
                "completion_tokens_details": {"reasoning_tokens": 25},
            },
        ),
        Reply(text="two", web_search=SOURCES[:1]),
        Reply.error(400, "1214", "bad request"),
    )
    session.cell("", "one")
    session.cell("--search", "two")
    session.cell("", "three")
    capsys.readouterr()
    session.line("usage")
    report = capsys.readouterr().out
    assert "requests         3 (1 failed)" in report
    assert "(30 cached)" in report and "(25 reasoning)" in report
    assert "web searches     1 x $0.033 = $0.033" in report


def test_plain_view_lists_sources_and_tool_lines() -> None:
    stream = io.StringIO()
    view = PlainView("glm", stream=stream, color=False)
    view.text("Answer [1].")
    view.sources([WebSource.from_payload(SOURCES[0])])
    view.info("f(x=1) → 2", kind="tool")
    view.finish("done")
    shown = stream.getvalue()
    assert "Sources:\n  [1] GLM-4.7 release notes <https://example.org/glm-4-7>" in shown
    assert "tool call: f(x=1) → 2" in shown
    assert sources_html([]) == ""


def test_zai_gets_its_own_tools_form_and_the_local_server_takes_both(
    server: LocalGLMServer,
) -> None:
    options = SearchOptions(count=2, recency="oneDay")
    question = [{"role": "user", "content": "News?"}]
    with (
        GLMClient("k", base_url=server.base_url, preset="zai") as zai,
        GLMClient(base_url=server.base_url) as hosted,
    ):
        forms = {
            "zai": zai.prepare(question, stream=False, tools=[options.tool()]),
            "hosted": hosted.prepare(question, stream=False, tools=[options.tool()]),
        }
    assert forms["zai"].body["tools"] == [options.tool()]
    assert "tool_web_search" not in forms["zai"].body
    assert "tools" not in forms["hosted"].body
    assert forms["hosted"].body["tool_web_search"] is True
    assert forms["hosted"].body["count"] == 2
    with httpx.Client() as http:
        for form, prepared in forms.items():
            answer = http.post(server.base_url + prepared.path, json=prepared.body).json()
            assert len(answer["web_search"]) == 2, form  # both forms search, with their count
        out_of_range: list[dict[str, Any]] = [
            {"tool_web_search": True, "count": 99},
            {"tool_web_search": "yes"},
            {"tools": [{"type": "web_search", "web_search": {"search_recency_filter": "now"}}]},
        ]
        for bad in out_of_range:
            body = {"model": "glm-4-7-flash", "messages": question, **bad}
            refused = http.post(server.base_url + "/chat/completions", json=body)
            assert refused.status_code == 400 and "Invalid parameter" in refused.text, bad
