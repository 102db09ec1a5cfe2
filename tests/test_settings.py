"""Every setting is declared once; checks, parsing, traits and widgets derive from that."""

from __future__ import annotations

from typing import Any

import pytest

from glm_magics.core.settings import SETTINGS, Change, Settings, check_setting
from glm_magics.errors import ConfigurationError, ParameterError
from glm_magics.wire.params import RANGES


def test_every_assignment_is_checked_against_the_declaration() -> None:
    settings = Settings(temperature=0.2)
    assert settings.temperature == 0.2
    with pytest.raises(ParameterError, match=r"top_p must be between 0\.01 and 1"):
        settings.top_p = 2
    with pytest.raises(ParameterError, match=r"timeout must be between 0\.1 and 3600 seconds"):
        settings.timeout = 0
    with pytest.raises(ParameterError, match="api must be one of chat, responses, messages"):
        settings.api = "completions"
    with pytest.raises(ParameterError, match="json must be True or False"):
        settings.json = "yes"  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match="not an http"):
        settings.base_url = "api.example.com"
    with pytest.raises(ParameterError, match="cannot be unset"):
        settings.rows = None  # type: ignore[assignment]
    assert settings.top_p is None and settings.timeout == 300.0  # refused: unchanged


def test_values_are_tidied_as_they_are_set() -> None:
    settings = Settings()
    settings.max_tokens = 512.0  # type: ignore[assignment]
    assert settings.max_tokens == 512 and isinstance(settings.max_tokens, int)
    settings.base_url = "http://127.0.0.1:8000/v1/"
    assert settings.base_url == "http://127.0.0.1:8000/v1"
    settings.preset = "Z.ai"
    assert settings.preset == "zai"


def test_a_preset_brings_its_url_and_model() -> None:
    settings = Settings()
    changes: list[Change] = []
    settings.observe(changes.append)
    settings.preset = "vllm"
    assert (settings.base_url, settings.model) == (
        "http://localhost:8000/v1",
        "zai-org/GLM-4.7-Flash",
    )
    assert [change.name for change in changes] == ["base_url", "model", "preset"]
    settings.preset = None
    assert settings.base_url is None and settings.model is None
    assert Settings(preset="ollama", model="mine").model == "mine"  # given values win


def test_observers_hear_real_changes_only() -> None:
    settings = Settings()
    heard: list[tuple[str, Any, Any]] = []

    def listen(change: Change) -> None:
        heard.append((change.name, change.old, change.new))

    settings.observe(listen)
    settings.temperature = 0.5
    settings.temperature = 0.5
    settings.unobserve(listen)
    settings.temperature = 0.7
    assert heard == [("temperature", None, 0.5)]


def test_parsing_what_percent_glm_config_reads() -> None:
    settings = Settings()
    assert settings.parse("max_tokens", "512") == 512
    assert settings.parse("temperature", "0.2") == 0.2
    assert settings.parse("thinking", "off") is False
    assert settings.parse("json", "True") is True
    assert settings.parse("temperature", "none") is None
    assert settings.parse("system", "Be brief") == "Be brief"
    with pytest.raises(ParameterError, match="max_tokens"):
        settings.parse("max_tokens", "lots")
    with pytest.raises(ConfigurationError, match="did you mean 'temperature'"):
        settings.parse("temprature", "0.2")


def test_the_declarations_give_kinds_defaults_and_ranges() -> None:
    assert SETTINGS["temperature"].kind is float and SETTINGS["temperature"].optional
    assert SETTINGS["temperature"].spec.range is RANGES["temperature"]
    assert SETTINGS["rows"].kind is int and not SETTINGS["rows"].optional
    assert SETTINGS["api"].spec.choices == ("chat", "responses", "messages")
    for info in SETTINGS.values():
        assert info.spec.help, info.name
        assert check_setting(info.name, info.default) == info.default
    assert Settings().request_params() == dict.fromkeys(
        ("temperature", "top_p", "max_tokens", "stop", "do_sample", "thinking")
    )
    assert repr(Settings(temperature=0.2)) == "Settings(temperature=0.2)"


def test_the_traits_and_the_panel_widgets_come_from_the_declarations(shell: Any) -> None:
    from glm_magics.notebook.magics import GLMMagics
    from glm_magics.notebook.panel_settings import PANEL_SETTINGS, SettingsBinding

    traits = GLMMagics.class_traits(config=True)
    assert set(traits) == set(SETTINGS)
    assert traits["temperature"].help == SETTINGS["temperature"].spec.help
    binding = SettingsBinding(Settings(), current_model=lambda: "glm-4-7-flash", on_error=print)
    try:
        assert list(binding.widgets) == list(PANEL_SETTINGS)
        slider = binding.widgets["temperature"]
        declared = RANGES["temperature"]
        assert (slider.min, slider.max, slider.value) == (declared.low, declared.high, 1.0)
        assert binding.widgets["max_tokens"].max == RANGES["max_tokens"].high
        assert binding.widgets["rows"].max == SETTINGS["rows"].spec.range.high  # type: ignore[union-attr]
        assert [value for _, value in binding.widgets["api"].options] == [
            "chat",
            "responses",
            "messages",
        ]
    finally:
        binding.unbind()
