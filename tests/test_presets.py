"""Presets: lookup, matching a base URL, and rewriting parameters for each server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from glm_magics.errors import ConfigurationError, ParameterError
from glm_magics.wire.keys import API_KEY_ENV
from glm_magics.wire.params import build_params
from glm_magics.wire.presets import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    DEFAULT_PRESET,
    PRESETS,
    ZAI_ONLY_FIELDS,
    Preset,
    adapt_params,
    check_base_url,
    get_preset,
    preset_for_url,
    thinking_fields,
)

WEB_SEARCH = {"type": "web_search", "web_search": {"enable": True, "search_result": True}}
FUNCTION = {"type": "function", "function": {"name": "lookup", "parameters": {}}}


def test_the_presets_and_their_servers() -> None:
    assert list(PRESETS) == ["empiriolabs", "zai", "vllm", "sglang", "ollama", "llamacpp"]
    assert next(iter(PRESETS)) == DEFAULT_PRESET
    table = {
        name: (p.base_url, p.model, p.needs_key, p.api_key_env, p.thinking_style)
        for name, p in PRESETS.items()
    }
    assert table == {
        "empiriolabs": (
            "https://api.empiriolabs.ai/v1",
            "glm-4-7-flash",
            True,
            "EMPIRIOLABS_API_KEY",
            "thinking_type",
        ),
        "zai": (
            "https://api.z.ai/api/paas/v4",
            "glm-4.7-flash",
            True,
            "ZAI_API_KEY",
            "thinking_type",
        ),
        "vllm": (
            "http://localhost:8000/v1",
            "zai-org/GLM-4.7-Flash",
            False,
            None,
            "chat_template_kwargs",
        ),
        "sglang": (
            "http://localhost:30000/v1",
            "zai-org/GLM-4.7-Flash",
            False,
            None,
            "chat_template_kwargs",
        ),
        "ollama": ("http://localhost:11434/v1", "glm-4.7-flash", False, None, "reasoning_effort"),
        "llamacpp": (
            "http://localhost:8080/v1",
            "glm-4.7-flash",
            False,
            None,
            "chat_template_kwargs",
        ),
    }


def test_default_preset_agrees_with_the_default_settings() -> None:
    preset = PRESETS[DEFAULT_PRESET]
    assert (preset.base_url, preset.model, preset.api_key_env) == (
        DEFAULT_BASE_URL,
        DEFAULT_MODEL,
        API_KEY_ENV,
    )


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_every_preset_is_consistent(preset: Preset) -> None:
    assert PRESETS[preset.name] is preset
    assert check_base_url(preset.base_url) == preset.base_url
    assert preset.description
    assert (preset.api_key_env is not None) == preset.needs_key
    hosted = preset.name in ("empiriolabs", "zai")
    assert preset.supports_web_search is hosted
    assert preset.supports_tool_stream is hosted
    assert preset.supports_zai_fields is hosted
    assert preset_for_url(preset.base_url) is preset


def test_presets_are_frozen() -> None:
    with pytest.raises(AttributeError):
        PRESETS["vllm"].model = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("vllm", "vllm"),
        ("VLLM", "vllm"),
        (" ollama ", "ollama"),
        ("llama.cpp", "llamacpp"),
        ("llama-cpp", "llamacpp"),
        ("Z.ai", "zai"),
        ("empirio-labs", "empiriolabs"),
    ],
)
def test_get_preset_forgives_case_dots_and_dashes(name: str, expected: str) -> None:
    assert get_preset(name) is PRESETS[expected]


def test_unknown_preset_lists_names_and_suggests_the_closest() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_preset("vlm")
    message = str(info.value)
    assert "unknown preset 'vlm'" in message
    assert "Did you mean 'vllm'?" in message
    for name in PRESETS:
        assert name in message


def test_unknown_preset_without_a_close_match_only_lists_names() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_preset("openai")
    assert "Did you mean" not in str(info.value)
    assert "Known presets: empiriolabs, zai, vllm" in str(info.value)


def test_a_non_string_preset_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        get_preset(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.empiriolabs.ai/v1", "empiriolabs"),
        ("https://API.EmpirioLabs.ai/v1/", "empiriolabs"),
        ("https://api.empiriolabs.ai:443/v1", "empiriolabs"),
        ("https://api.z.ai/api/paas/v4", "zai"),
        ("https://api.z.ai/api/paas/v4/", "zai"),
        ("http://localhost:8000/v1", "vllm"),
        ("http://127.0.0.1:8000/v1", "vllm"),
        ("http://[::1]:8000/v1", "vllm"),
        ("http://0.0.0.0:8000/v1/", "vllm"),
        ("http://127.0.0.1:30000/v1", "sglang"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://127.0.0.1:8080/v1", "llamacpp"),
        (" http://localhost:8080/v1/chat/completions ", "llamacpp"),
    ],
)
def test_preset_for_url_matches(url: str, expected: str) -> None:
    assert preset_for_url(url) is PRESETS[expected]


@pytest.mark.parametrize(
    "url",
    [
        "http://api.empiriolabs.ai/v1",  # another scheme (and port)
        "https://api.empiriolabs.ai/v2",
        "https://api.empiriolabs.ai",
        "https://api.z.ai/api/coding/paas/v4",
        "http://localhost:8001/v1",
        "http://localhost:8000/v10",  # a prefix by characters, not by path segments
        "http://localhost:8000",
        "http://192.168.1.5:8000/v1",
        "ftp://localhost:8000/v1",
        "not a url",
        "http://localhost:notaport/v1",
        "",
    ],
)
def test_preset_for_url_does_not_match(url: str) -> None:
    assert preset_for_url(url) is None


def test_preset_for_url_prefers_the_longest_path(monkeypatch: pytest.MonkeyPatch) -> None:
    shallow = Preset(
        "shallow", "https://api.z.ai/api", "m", "d", True, "K", "thinking_type", True, True, True
    )
    patched = {"shallow": shallow, **PRESETS}
    monkeypatch.setattr("glm_magics.wire.presets.PRESETS", patched)
    assert preset_for_url("https://api.z.ai/api/paas/v4") is PRESETS["zai"]
    assert preset_for_url("https://api.z.ai/api/other") is shallow


@pytest.mark.parametrize(
    ("name", "on", "off"),
    [
        (
            "empiriolabs",
            {"thinking": {"type": "enabled"}},
            {"thinking": {"type": "disabled"}},
        ),
        ("zai", {"thinking": {"type": "enabled"}}, {"thinking": {"type": "disabled"}}),
        (
            "vllm",
            {"chat_template_kwargs": {"enable_thinking": True}},
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
        (
            "sglang",
            {"chat_template_kwargs": {"enable_thinking": True}},
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
        (
            "llamacpp",
            {"chat_template_kwargs": {"enable_thinking": True}},
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
        # Ollama's /v1 endpoint thinks by default and turns it off with "none".
        ("ollama", {}, {"reasoning_effort": "none"}),
    ],
)
def test_thinking_fields(name: str, on: dict[str, Any], off: dict[str, Any]) -> None:
    preset = PRESETS[name]
    assert thinking_fields(preset, True) == on
    assert thinking_fields(preset, False) == off
    assert thinking_fields(preset, None) == {}


def full_params() -> dict[str, Any]:
    return build_params(
        {
            "temperature": 0.3,
            "max_tokens": 100,
            "thinking": False,
            "tool_stream": True,
            "do_sample": False,
            "user_id": "u-1",
            "tools": [FUNCTION, WEB_SEARCH],
            "tool_choice": "auto",
        }
    )


@pytest.mark.parametrize("name", ["empiriolabs", "zai"])
def test_hosted_services_get_the_parameters_unchanged(name: str) -> None:
    params = full_params()
    adapted, dropped = adapt_params(PRESETS[name], params)
    assert adapted == params
    assert adapted is not params
    assert dropped == []


def test_vllm_gets_template_thinking_and_loses_glm_extensions() -> None:
    params = full_params()
    before = copy.deepcopy(params)
    adapted, dropped = adapt_params(PRESETS["vllm"], params)
    assert adapted == {
        "temperature": 0.3,
        "max_tokens": 100,
        "chat_template_kwargs": {"enable_thinking": False},
        "tools": [FUNCTION],
        "tool_choice": "auto",
    }
    assert dropped == ["tool_stream", "do_sample", "user_id", "web_search"]
    assert params == before  # the caller's dict is not changed


def test_ollama_turns_thinking_off_with_reasoning_effort() -> None:
    adapted, dropped = adapt_params(PRESETS["ollama"], build_params({"thinking": False}))
    assert (adapted, dropped) == ({"reasoning_effort": "none"}, [])
    adapted, dropped = adapt_params(PRESETS["ollama"], build_params({"thinking": True}))
    assert (adapted, dropped) == ({}, [])


def test_without_thinking_nothing_is_added() -> None:
    for preset in PRESETS.values():
        assert adapt_params(preset, {"temperature": 0.5}) == ({"temperature": 0.5}, [])


def test_other_template_arguments_from_extra_body_are_kept() -> None:
    params = build_params(
        {"thinking": True, "extra_body": {"chat_template_kwargs": {"clear_thinking": False}}}
    )
    adapted, _ = adapt_params(PRESETS["sglang"], params)
    assert adapted == {
        "chat_template_kwargs": {"clear_thinking": False, "enable_thinking": True},
    }


def test_only_web_search_tools_drop_tools_and_tool_choice() -> None:
    params = build_params({"tools": [WEB_SEARCH], "tool_choice": "auto", "top_p": 0.9})
    adapted, dropped = adapt_params(PRESETS["llamacpp"], params)
    assert adapted == {"top_p": 0.9}
    assert dropped == ["web_search", "tool_choice"]


def test_function_tools_alone_are_kept_everywhere() -> None:
    params = build_params({"tools": [FUNCTION], "tool_choice": "auto"})
    for preset in PRESETS.values():
        assert adapt_params(preset, params) == (params, [])


def test_request_id_is_dropped_for_local_servers() -> None:
    adapted, dropped = adapt_params(PRESETS["ollama"], {"request_id": "r-1"})
    assert (adapted, dropped) == ({}, ["request_id"])
    assert set(ZAI_ONLY_FIELDS) == {"do_sample", "user_id", "request_id"}


def test_thinking_given_as_a_boolean_is_understood() -> None:
    assert adapt_params(PRESETS["vllm"], {"thinking": True})[0] == {
        "chat_template_kwargs": {"enable_thinking": True}
    }


def test_a_thinking_value_that_means_nothing_is_refused() -> None:
    with pytest.raises(ParameterError, match="thinking must be"):
        adapt_params(PRESETS["vllm"], {"thinking": {"type": "maybe"}})
