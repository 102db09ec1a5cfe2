"""Where the model runs: presets, inline ``<think>`` reasoning, published parameter ranges."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError

from glm_magics.testing import Reply
from tests.conftest import Session


@pytest.fixture
def preset_session(session: Session) -> Iterator[Session]:
    try:
        yield session
    finally:
        session.magics.session.settings.preset = None


def test_a_preset_sets_url_model_and_key_variable(
    preset_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    magics = preset_session.magics.session.settings
    preset_session.line("config preset=vllm")
    assert magics.base_url == "http://localhost:8000/v1"
    assert magics.model == "zai-org/GLM-4.7-Flash"
    preset_session.line("config preset=Z.ai")
    assert magics.preset == "zai" and magics.base_url == "https://api.z.ai/api/paas/v4"
    assert preset_session.magics.session.client.key_env == "ZAI_API_KEY"
    capsys.readouterr()
    preset_session.line("config")
    shown = capsys.readouterr().out
    assert "https://api.z.ai/api/paas/v4" in shown and "'zai'" in shown
    preset_session.line("config preset=none")
    assert magics.base_url is None and magics.model is None
    assert preset_session.magics.session.client.key_env == "EMPIRIOLABS_API_KEY"


def test_an_unknown_preset_is_a_usage_error(preset_session: Session) -> None:
    with pytest.raises(UsageError, match="ollama"):
        preset_session.line("config preset=olama")
    assert preset_session.magics.session.settings.preset is None


def test_inline_think_tags_go_to_the_reasoning(session: Session) -> None:
    session.server.queue(
        Reply(text="<think>Two plus two.</think>\nIt is **4**.", chunk_size=1),
    )
    session.cell("-o r", "2 + 2?")
    result = session.shell.user_ns["r"]
    assert (result.reasoning, result.text) == ("Two plus two.", "It is **4**.")
    html = session.publisher.final_html()
    assert "<details" in html and "Two plus two." in html
    assert "&lt;think&gt;" not in html and "<strong>4</strong>" in html


def test_a_later_think_tag_is_plain_text(session: Session) -> None:
    session.server.queue(Reply(text="Use <think> tags like this.", chunk_size=2))
    session.cell("-o r", "tags?")
    result = session.shell.user_ns["r"]
    assert result.text == "Use <think> tags like this." and result.reasoning == ""


def local_preset(session: Session, name: str) -> None:
    """The preset's wire details, but sent to the local test server."""
    session.line(f"config preset={name}")
    session.magics.session.settings.base_url = session.server.base_url
    session.magics.session.settings.model = "glm-4.7-flash"


@pytest.mark.parametrize(
    ("preset", "on", "off"),
    [
        (
            "vllm",
            {"chat_template_kwargs": {"enable_thinking": True}},
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
        (
            "llamacpp",
            {"chat_template_kwargs": {"enable_thinking": True}},
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
        ("ollama", {}, {"reasoning_effort": "none"}),
        ("zai", {"thinking": {"type": "enabled"}}, {"thinking": {"type": "disabled"}}),
    ],
)
def test_thinking_is_sent_in_each_servers_form(
    preset_session: Session, preset: str, on: dict[str, object], off: dict[str, object]
) -> None:
    local_preset(preset_session, preset)
    for flag, expected in (("--think", on), ("--no-think", off)):
        preset_session.cell(flag, "hello")
        body = preset_session.server.requests[-1].body
        fields = {
            k: body[k]
            for k in ("thinking", "chat_template_kwargs", "reasoning_effort")
            if k in body
        }
        assert fields == expected, (preset, flag, body)


def test_fields_a_local_server_ignores_are_left_out_and_said(preset_session: Session) -> None:
    local_preset(preset_session, "vllm")

    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    preset_session.shell.user_ns["add"] = add
    preset_session.magics.session._search_cost_shown = False
    searches = preset_session.magics.session.usage.searches
    try:
        preset_session.cell("--tools add --no-sample --search", "1+2")
    finally:
        preset_session.shell.user_ns.pop("add")
    first = [r.body for r in preset_session.server.requests if r.method == "POST"][-2]
    assert "tool_stream" not in first and "do_sample" not in first
    assert [t["type"] for t in first["tools"]] == ["function"]
    shown = preset_session.publisher.all_text()
    assert "Not sent to this vllm server" in shown and "web_search" in shown
    assert "$0.033" not in shown  # no search was sent, so none is billed or counted
    assert preset_session.magics.session.usage.searches == searches


def test_the_models_published_ranges_are_checked_before_sending(session: Session) -> None:
    from glm_magics.testing import LocalGLMServer

    narrow = {"temperature": {"min": 0.0, "max": 0.7, "default": 0.6}}
    with LocalGLMServer(model_parameters=narrow) as server:
        session.magics.session.settings.base_url = server.base_url
        with pytest.raises(UsageError, match="published schema"):
            session.cell("-t 0.9", "hot")
        assert [r.method for r in server.requests] == ["GET"]  # the schema, nothing sent
        session.cell("-t 0.5", "warm")
        session.cell("-t 0.6", "warm again")
        assert [r.method for r in server.requests] == ["GET", "POST", "POST"]  # cached
    session.magics.session.close()  # forgets the narrow server's published ranges


def test_a_preset_reads_its_own_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from glm_magics import GLMClient
    from glm_magics.errors import ConfigurationError

    monkeypatch.setenv("EMPIRIOLABS_API_KEY", "sk-empiriolabs-only")
    monkeypatch.delenv("ZAI_API_KEY", raising=False)
    with GLMClient(preset="zai") as client:  # never send one provider's key to another
        with pytest.raises(ConfigurationError, match="ZAI_API_KEY"):
            client.chat([{"role": "user", "content": "hi"}])
        monkeypatch.setenv("ZAI_API_KEY", "sk-zai")
        assert client._connection.key() is not None
        assert client._connection.key().reveal() == "sk-zai"  # type: ignore[union-attr]


def test_the_client_takes_a_preset() -> None:
    from glm_magics import GLMClient

    with GLMClient(preset="vllm") as client:
        assert (client.base_url, client.model) == (
            "http://localhost:8000/v1",
            "zai-org/GLM-4.7-Flash",
        )
    with GLMClient(preset="ollama", base_url="http://gpu-box:11434/v1") as client:
        assert client.base_url == "http://gpu-box:11434/v1" and client.preset is not None
        assert client.preset.name == "ollama"


def test_a_think_block_in_its_own_delta_drops_the_newline_after_it(session: Session) -> None:
    session.server.queue(Reply(text_pieces=["<think>reason</think>", "\nHello", " there"]))
    session.cell("-o r", "hi")
    result = session.shell.user_ns["r"]
    assert (result.reasoning, result.text) == ("reason", "Hello there")


def test_model_list_errors_never_show_the_key() -> None:
    import httpx

    from glm_magics import GLMClient
    from glm_magics.errors import AuthenticationError

    def echo(request: httpx.Request) -> httpx.Response:
        message = f"bad header: {request.headers['authorization']}"
        return httpx.Response(401, json={"error": {"code": "1002", "message": message}})

    client = GLMClient(api_key="sk-echo-SECRET-123", transport=httpx.MockTransport(echo))
    with client, pytest.raises(AuthenticationError) as failure:
        client.models()
    assert "sk-echo-SECRET-123" not in str(failure.value)


def test_a_malformed_source_link_is_shown_as_text() -> None:
    from glm_magics.display.sources import sources_html
    from glm_magics.results import WebSource

    shown = sources_html([WebSource(title="broken", link="http://[bad")])
    assert "broken" in shown and "<a " not in shown


def test_tool_errors_keep_their_colour_in_a_terminal() -> None:
    import io

    from glm_magics.display.plain_view import PlainView

    stream = io.StringIO()
    PlainView("glm", stream=stream, color=True).info("f() ✗ ValueError", kind="tool-error")
    assert "\x1b[33mtool call: f() ✗ ValueError\x1b[0m" in stream.getvalue()
